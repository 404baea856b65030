"""The base class of every integration connector, with Egeria's lifecycle.

The runtime calls, in order: `initialize(connection, connector_instance_id)`, `set_audit_log`,
`set_connector_name`, `set_context`, `start`; then `refresh` at start, on the interval and on request
(never two at once), `engage` in a loop on its own thread when `usesBlockingCalls` is true, and
`disconnect` at shutdown or restart. All calls are made on worker threads, so connector code is ordinary
blocking Python; it should still put a timeout on every external call so shutdown cannot hang.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from metaferry_runtime.sdk.errors import ConnectorError, EngageNotImplemented

if TYPE_CHECKING:
    from metaferry_runtime.audit import AuditLog
    from metaferry_runtime.sdk.configuration import ConnectorConfiguration
    from metaferry_runtime.sdk.connection import Connection
    from metaferry_runtime.sdk.context import IntegrationContext
    from metaferry_runtime.sdk.routes import ApiRoute

ContextT = TypeVar("ContextT", bound="IntegrationContext")


@dataclass(frozen=True)
class Diagnosis:
    """One named step of `metaferry-runtime check` that only the connector knows how to take."""

    name: str
    ok: bool
    detail: str


class IntegrationConnector(Generic[ContextT]):
    """Subclass, set `integration_service`, and implement `refresh()` (and `engage()` for blocking connectors)."""

    #: The integration service whose context this connector expects (e.g. "files"); None accepts any.
    integration_service: str | None = None
    #: The model of `configurationProperties` (a `ConnectorConfiguration` subclass): the runtime validates
    #: them before initialize and the connector reads them, typed, from `self.configuration`.
    configuration_model: ClassVar[type[ConnectorConfiguration] | None] = None
    #: The model of each catalog target's `configurationProperties`: the runtime validates them before
    #: initialize and the connector reads them, typed, from `target.configuration` (see `sdk.targets`).
    catalog_target_model: ClassVar[type[ConnectorConfiguration] | None] = None

    def __init__(self) -> None:
        self._connection: Connection | None = None
        self._instance_id: str | None = None
        self._audit_log: AuditLog | None = None
        self._connector_name: str | None = None
        self._context: ContextT | None = None
        self._configuration: ConnectorConfiguration | None = None

    # --- lifecycle, in the order the runtime calls it ---------------------------------------------------
    def accept_configuration(self, configuration: ConnectorConfiguration) -> None:
        """Called by the runtime before initialize with the validated `configuration_model`; not to override."""
        self._configuration = configuration

    def initialize(self, connection: Connection, connector_instance_id: str) -> None:
        self._connection = connection
        self._instance_id = connector_instance_id

    def set_audit_log(self, audit_log: AuditLog) -> None:
        self._audit_log = audit_log

    def set_connector_name(self, connector_name: str) -> None:
        self._connector_name = connector_name

    def set_context(self, context: ContextT) -> None:
        self._context = context

    def start(self) -> None:
        """Configuration is complete; validate it and register listeners here. Raise to fail."""

    def engage(self) -> None:
        """Blocking connectors: wait for third-party events, process them, and return; called again after 1 s."""
        raise EngageNotImplemented(f"{type(self).__name__} does not implement engage(); set usesBlockingCalls to false")

    def refresh(self) -> None:
        """Bring open metadata in step with the third-party technology. Runs inside one repository transaction."""
        raise NotImplementedError(f"{type(self).__name__} must implement refresh()")

    def disconnect(self) -> None:
        """Free resources. Called once; the context refuses use afterwards."""

    def diagnose(self) -> Sequence[Diagnosis]:
        """`check` calls this once the connector is configured, before start(): the connector's own steps
        (reach the server, its version, privileges on each target), so a user sees which part fails before
        start() reports only the first error. A failed step ends the check. Default: no steps."""
        return ()

    def api_routes(self) -> Sequence[ApiRoute]:
        """Paths this connector serves on the runtime's HTTP API (see `sdk.routes`), asked for on each request
        while the connector runs. Default: none."""
        return ()

    # --- for connector code ---------------------------------------------------------------------------------
    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise ConnectorError("the connector has not been initialized")
        return self._connection

    @property
    def connector_instance_id(self) -> str:
        if self._instance_id is None:
            raise ConnectorError("the connector has not been initialized")
        return self._instance_id

    @property
    def audit_log(self) -> AuditLog:
        if self._audit_log is None:
            raise ConnectorError("the connector has no audit log yet")
        return self._audit_log

    @property
    def connector_name(self) -> str:
        return self._connector_name or type(self).__name__

    @property
    def context(self) -> ContextT:
        if self._context is None:
            raise ConnectorError("the connector has no context yet (set_context has not been called)")
        return self._context

    @property
    def configuration(self) -> Any:
        """The validated configuration properties, an instance of `configuration_model` (typed as Any so a
        connector can annotate it with its own model: `settings: MySettings = self.configuration`)."""
        if self._configuration is None:
            if type(self).configuration_model is None:
                raise ConnectorError(f"{type(self).__name__} declares no configuration_model")
            raise ConnectorError("the connector has no configuration yet (initialize has not been called)")
        return self._configuration
