"""Connectors written for the runtime's tests: each one exercises one behaviour of the lifecycle.

They are loaded the way users load theirs, as `tests.runtime.sample_connectors:ClassName`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import Field, StrictBool

from metaferry_runtime.audit import AuditMessage, Severity
from metaferry_runtime.sdk import (
    ApiError,
    ApiRequest,
    ApiResponse,
    ApiRoute,
    CatalogTarget,
    Connection,
    ConnectorConfiguration,
    ConnectorConfigurationError,
    IntegrationConnector,
)


class RecordingConnector(IntegrationConnector[Any]):
    """Records every lifecycle call (class-level, so a test can read it after the runtime built the instance)."""

    calls: ClassVar[list[str]] = []
    instances: ClassVar[list[RecordingConnector]] = []
    refresh_started: ClassVar[threading.Event] = threading.Event()

    def __init__(self) -> None:
        super().__init__()
        type(self).instances.append(self)

    def initialize(self, connection: Connection, connector_instance_id: str) -> None:
        super().initialize(connection, connector_instance_id)
        self.calls.append("initialize")

    def set_audit_log(self, audit_log: Any) -> None:
        super().set_audit_log(audit_log)
        self.calls.append("set_audit_log")

    def set_connector_name(self, connector_name: str) -> None:
        super().set_connector_name(connector_name)
        self.calls.append("set_connector_name")

    def set_context(self, context: Any) -> None:
        super().set_context(context)
        self.calls.append("set_context")

    def start(self) -> None:
        self.calls.append("start")

    def refresh(self) -> None:
        self.calls.append("refresh")
        type(self).refresh_started.set()

    def disconnect(self) -> None:
        self.calls.append("disconnect")

    @classmethod
    def reset(cls) -> None:
        cls.calls = []
        cls.instances = []
        cls.refresh_started = threading.Event()


class GatedConnector(IntegrationConnector[Any]):
    """refresh() blocks until the test opens the gate, so a test can act while a refresh is in progress."""

    gate: ClassVar[threading.Event] = threading.Event()
    entered: ClassVar[threading.Semaphore] = threading.Semaphore(0)
    refreshes: ClassVar[int] = 0
    running: ClassVar[int] = 0
    max_running: ClassVar[int] = 0
    lock = threading.Lock()

    def refresh(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.running += 1
            cls.max_running = max(cls.max_running, cls.running)
        cls.entered.release()
        try:
            cls.gate.wait(30)
        finally:
            with cls.lock:
                cls.running -= 1
                cls.refreshes += 1

    @classmethod
    def reset(cls) -> None:
        cls.gate = threading.Event()
        cls.entered = threading.Semaphore(0)
        cls.refreshes = cls.running = cls.max_running = 0


class WritingConnector(IntegrationConnector[Any]):
    """Writes elements through the context; fails after writing when configured to, to prove rollback."""

    def refresh(self) -> None:
        properties = self.connection.configuration_properties
        count = int(properties.get("elements", 3))
        with self.context._transaction() as transaction:
            for index in range(count):
                transaction.upsert_element(
                    "DataFile", f"test://{self.connector_name}/{index}", {"name": f"file-{index}"}
                )
        if properties.get("failAfterWriting"):
            raise RuntimeError(f"failing on purpose with secret {self.connection.secret('password')}")


class FailOnDemandConnector(IntegrationConnector[Any]):
    """Refreshes succeed until the test sets `fail`; then they fail, naming the secured password."""

    fail: ClassVar[bool] = False

    def refresh(self) -> None:
        if type(self).fail:
            raise RuntimeError(f"failing on purpose with secret {self.connection.secret('password')}")


class FailingStartConnector(IntegrationConnector[Any]):
    """start() fails the first `failures` times (counted across instances), then succeeds."""

    attempts: ClassVar[int] = 0
    failures: ClassVar[int] = 2

    def start(self) -> None:
        cls = type(self)
        cls.attempts += 1
        if cls.attempts <= cls.failures:
            raise RuntimeError(f"start attempt {cls.attempts} fails")

    def refresh(self) -> None:
        pass

    @classmethod
    def reset(cls, failures: int = 2) -> None:
        cls.attempts = 0
        cls.failures = failures


class BadConfigConnector(IntegrationConnector[Any]):
    def start(self) -> None:
        raise ConnectorConfigurationError("the endpoint is missing")


class HangingConnector(IntegrationConnector[Any]):
    """refresh() and engage() block (beyond any timeout) until released; disconnect() records it was called."""

    release: ClassVar[threading.Event] = threading.Event()
    disconnected: ClassVar[threading.Event] = threading.Event()
    in_call: ClassVar[threading.Event] = threading.Event()

    def refresh(self) -> None:
        type(self).in_call.set()
        type(self).release.wait(60)

    def engage(self) -> None:
        type(self).in_call.set()
        type(self).release.wait(60)

    def disconnect(self) -> None:
        type(self).disconnected.set()

    @classmethod
    def reset(cls) -> None:
        cls.release = threading.Event()
        cls.disconnected = threading.Event()
        cls.in_call = threading.Event()


class EngagingConnector(IntegrationConnector[Any]):
    """engage() returns at once; the thread calls it again after the pause."""

    engagements: ClassVar[int] = 0
    fail_at: ClassVar[int | None] = None

    def engage(self) -> None:
        cls = type(self)
        cls.engagements += 1
        if cls.fail_at is not None and cls.engagements == cls.fail_at:
            raise RuntimeError("engage failed")

    def refresh(self) -> None:
        pass

    @classmethod
    def reset(cls, fail_at: int | None = None) -> None:
        cls.engagements = 0
        cls.fail_at = fail_at


class NotAConnector:
    """Not a subclass of IntegrationConnector: the broker must refuse it."""


class AuditingWritingConnector(WritingConnector):
    """Writes to its audit log in start(), which only works if the audit log was set before start."""

    STARTED = AuditMessage("SAMPLE-0001", Severity.INFO, "{name} started", "none", "none")

    def start(self) -> None:
        super().start()
        self.audit_log.log_message("start", self.STARTED, name=self.connector_name)


class LeakingConnector(IntegrationConnector[Any]):
    """Puts its `password` secured property into every output it can reach: plain logging (with and without a
    traceback), its audit log, and the exception that fails its refresh. The runtime must mask it everywhere."""

    LEAK = AuditMessage("SAMPLE-0002", Severity.INFO, "{name} logs in as {password}", "none", "none")
    log = logging.getLogger("tests.leaking_connector")

    def _password(self) -> str:
        return self.connection.secret("password") or ""

    def start(self) -> None:
        password = self._password()
        self.log.warning("connecting with pw=%s", password)
        self.log.warning("connecting to postgresql://reader:%s@db:5432/meta", quote(password, safe=""))
        self.audit_log.log_message("start", self.LEAK, name=self.connector_name, password=password)

    def refresh(self) -> None:
        password = self._password()
        try:
            raise ConnectionError(f"login refused for pw={password}")
        except ConnectionError:
            self.log.exception("refresh of %s failed", password)
        raise RuntimeError(f"cannot log in with {password}")


class PhaseHangingConnector(IntegrationConnector[Any]):
    """Hangs for good, ignoring every timeout, in the method named by the environment variable HANG_IN_ENV
    (`__init__` or a lifecycle method); first it creates a file of that name in MARKER_DIRECTORY_ENV, so a
    test knows the call began. The environment, not the connection, says so because `__init__` has none.

    Only the end of the process ends the hang: it is for tests that run the runtime as a subprocess.
    """

    HANG_IN_ENV = "SAMPLE_CONNECTOR_HANG_IN"
    MARKER_DIRECTORY_ENV = "SAMPLE_CONNECTOR_MARKER_DIRECTORY"

    def __init__(self) -> None:
        super().__init__()
        self._hang_if("__init__")

    def start(self) -> None:
        self._hang_if("start")

    def initialize(self, connection: Connection, connector_instance_id: str) -> None:
        super().initialize(connection, connector_instance_id)
        self._hang_if("initialize")

    def refresh(self) -> None:
        self._hang_if("refresh")

    def engage(self) -> None:
        self._hang_if("engage")

    def disconnect(self) -> None:
        self._hang_if("disconnect")

    def _hang_if(self, method: str) -> None:
        if os.environ.get(self.HANG_IN_ENV) != method:
            return
        (Path(os.environ[self.MARKER_DIRECTORY_ENV]) / method).touch()
        threading.Event().wait()


class RaisingConstructorConnector(IntegrationConnector[Any]):
    """Its constructor fails, as a connector's would when its client library cannot be set up."""

    def __init__(self) -> None:
        super().__init__()
        raise RuntimeError("the client library could not be set up")


class TransactionHoldingConnector(IntegrationConnector[Any]):
    """The first refresh writes an element into its transaction (flushed: the database holds it, uncommitted),
    then hangs past any timeout until released, then writes again, recording what that late write did.
    Every later refresh writes the same element and returns."""

    QUALIFIED_NAME = "test://holding/element"
    LATE_QUALIFIED_NAME = "test://holding/late"
    release: ClassVar[threading.Event] = threading.Event()
    late_write_done: ClassVar[threading.Event] = threading.Event()
    late_write_error: ClassVar[BaseException | None] = None
    refreshes: ClassVar[int] = 0

    def refresh(self) -> None:
        cls = type(self)
        cls.refreshes += 1
        with self.context._transaction() as transaction:
            transaction.upsert_element("DataFile", cls.QUALIFIED_NAME, {"name": f"refresh {cls.refreshes}"})
            transaction.find_elements(type_name="DataFile")  # flushes: the row is written and locked
            if cls.refreshes > 1:
                return
            cls.release.wait(60)
            try:
                transaction.upsert_element("DataFile", cls.LATE_QUALIFIED_NAME, {"name": "late"})
                transaction.find_elements(type_name="DataFile")
            except Exception as error:
                cls.late_write_error = error
            finally:
                cls.late_write_done.set()

    @classmethod
    def reset(cls) -> None:
        cls.release = threading.Event()
        cls.late_write_done = threading.Event()
        cls.late_write_error = None
        cls.refreshes = 0


class TypedSettings(ConnectorConfiguration):
    """What TypedConfigurationConnector takes."""

    batch_size: int = Field(default=10, ge=1, description="elements per batch, at least 1")
    labels: tuple[str, ...] = Field(default=(), description="a list of label names")
    verbose: StrictBool = False


class TypedConfigurationConnector(IntegrationConnector[Any]):
    """Declares a configuration model; records what initialize saw of it."""

    configuration_model = TypedSettings
    seen: ClassVar[list[TypedSettings]] = []

    def initialize(self, connection: Connection, connector_instance_id: str) -> None:
        super().initialize(connection, connector_instance_id)
        TypedConfigurationConnector.seen.append(self.configuration)

    def refresh(self) -> None:
        pass


class GenerationConnector(IntegrationConnector[Any]):
    """Rewrites `elements` DataFiles one by one, each described with this run's `generation`, after
    creating the file `startedFile` (so a test knows the refresh is under way). A refresh that commits
    leaves every element at the new generation; one that is killed must leave them all at the old one."""

    def refresh(self) -> None:
        properties = self.connection.configuration_properties
        Path(properties["startedFile"]).touch()
        generation = int(properties["generation"])
        with self.context._transaction() as transaction:
            for index in range(int(properties["elements"])):
                transaction.upsert_element(
                    "DataFile",
                    f"test://generations/{index}",
                    {"name": f"file-{index}", "description": f"generation {generation}"},
                )


class TargetSettings(ConnectorConfiguration):
    """What TargetConfigurationConnector takes for each catalog target."""

    depth: int = Field(default=1, ge=1, description="how deep to look under the target, at least 1")
    include: tuple[str, ...] = Field(default=(), description="regular expressions of what to include")


class TargetConfigurationConnector(IntegrationConnector[Any]):
    """Declares a catalog-target model; records the targets its context hands it at start()."""

    catalog_target_model = TargetSettings
    seen: ClassVar[list[list[CatalogTarget]]] = []

    def start(self) -> None:
        TargetConfigurationConnector.seen.append(self.context.get_catalog_targets())

    def refresh(self) -> None:
        pass


class RoutingConnector(IntegrationConnector[Any]):
    """Serves paths on the runtime's API: an echo, one behind the token, one that fails, one that refuses."""

    def refresh(self) -> None:
        pass

    def api_routes(self) -> Sequence[ApiRoute]:
        def echo(request: ApiRequest) -> ApiResponse:
            return ApiResponse({"method": request.method, "query": dict(request.query)})

        def fail(request: ApiRequest) -> ApiResponse:
            raise RuntimeError("the handler broke")

        def refuse(request: ApiRequest) -> ApiResponse:
            raise ApiError(422, f"cannot use {request.query.get('x')}")

        return [
            ApiRoute("GET", "/echo", echo),
            ApiRoute("GET", "/guarded", echo, requires_token=True),
            ApiRoute("GET", "/fail", fail),
            ApiRoute("GET", "/refuse", refuse),
        ]
