"""The `opa-publisher` connector: publishes what open metadata says about access to Open Policy Agent.

A TO_THIRD_PARTY connector of the security service: it reads security groups and their members, governance
zones, and assets with their zones and Confidentiality / SecurityTags classifications, and writes them as
one data document to OPA (`document.py` says its shape), where Rego policies decide with them. It never
writes open metadata.

When: every refresh PUTs the whole document (so an OPA that restarted with no data gets it back), and, with
`publishOnEvents`, an out-topic listener wakes a publishing thread of the connector's own on each change
to one of those types. The thread applies a change to an asset or a zone from its event, or reads users
and groups again in one transaction after a change to a group, membership or user, and PATCHes only
the entries that differ from what it last published, so a change to a zone or classification reaches OPA
within the repository's event delay. Why a thread: listeners run on the repository's delivery thread,
which must not wait on OPA; and a burst of changes then costs at most one read and one request. A failed
publish is retried with capped backoff; the next refresh puts everything right in any case.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from metaferry_runtime.connectors.opa_publisher.document import (
    DOCUMENT_TYPES,
    SECTIONS,
    Document,
    patch_between,
    read_document,
    read_people,
    with_element_changes,
)
from metaferry_runtime.connectors.opa_publisher.server import DocumentMissing, OpaServer
from metaferry_runtime.connectors.opa_publisher.settings import OpaPublisherSettings
from metaferry_runtime.sdk import (
    ChangeEvent,
    ConnectorConfigurationError,
    ConnectorError,
    ContextDisconnected,
    Diagnosis,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.security import SecurityIntegratorContext

logger = logging.getLogger(__name__)

#: Seconds before a failed publish is tried again, doubling up to the cap.
RETRY_FIRST, RETRY_CAP = 0.5, 30.0
#: Seconds disconnect() waits for the publishing thread (a request in flight is bounded by its timeout).
STOP_WAIT = 5.0


class OpaPublisherMessages(MessageCatalogue):
    prefix = "METAFERRY-OPA-PUBLISHER"

    STARTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} publishes access rules to OPA at {server} as {reference}{events}",
        "Every refresh replaces the document; changes in between are patched into it as they happen.",
        "No action is required.",
    )
    PUBLISHED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} published {users} users, {groups} groups, {zones} zones and {assets} assets"
        " to OPA at {server}",
        "The whole document was replaced in one request.",
        "No action is required.",
    )
    PUBLISH_FAILED = numbered(
        3,
        Severity.ERROR,
        "Connector {connector_name} could not publish changes to OPA at {server}: {error}",
        "OPA's decisions use the document last published until this succeeds.",
        "Check that OPA is up and accepts the token; the publish is retried in {retry} seconds and on each refresh.",
    )
    REPUBLISHED = numbered(
        4,
        Severity.INFO,
        "Connector {connector_name} found no document at {path} in OPA at {server} and published it whole",
        "OPA keeps its data in memory, so a restarted server has none until it is published again.",
        "No action is required.",
    )


def _publish_error(error: Exception) -> str:
    return str(error) or type(error).__name__


class OpaPublisherConnector(IntegrationConnector[SecurityIntegratorContext]):
    """Publishes groups, members, zones and asset classifications as an OPA data document."""

    integration_service = "security"
    configuration_model = OpaPublisherSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = OpaPublisherSettings()
        self._server: OpaServer | None = None
        self._published: Document | None = None  # what OPA holds, as far as this connector knows
        self._publishing = threading.Lock()  # one request to OPA at a time, refresh or publishing thread
        self._changed = threading.Event()
        # What the listener noted since the publishing thread last looked, under _pending.
        self._pending = threading.Lock()
        self._element_events: list[tuple[str, ChangeEvent]] = []  # (section, event) of assets and zones
        self._read_people = False  # a user, group or membership changed
        self._read_all = False  # what was noted was lost (a failed publish): read everything again
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._settings = self.configuration
        self._server = self._open_server()
        self._server.health()
        if self._settings.publish_on_events:
            self.context.register_listener(self._on_event)
            self._thread = threading.Thread(
                target=self._publish_changes, name=f"opa-publisher-{self.connector_name}", daemon=True
            )
            self._thread.start()
        self.audit_log.log_message(
            "start",
            OpaPublisherMessages.STARTED,
            connector_name=self.connector_name,
            server=self.server.address,
            reference=self._settings.rego_reference,
            events=", and each change as it happens" if self._settings.publish_on_events else ", on refresh only",
        )

    def refresh(self) -> None:
        """Read the document in the refresh's transaction and replace OPA's with it."""
        document = read_document(self.context)
        with self._publishing:
            self._published = None  # unknown until the PUT succeeds
            self.server.put_document(document)
            self._published = document
        self.audit_log.log_message(
            "refresh",
            OpaPublisherMessages.PUBLISHED,
            connector_name=self.connector_name,
            server=self.server.address,
            **{section: len(document[section]) for section in SECTIONS},
        )

    def disconnect(self) -> None:
        self._stopping.set()
        self._changed.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(STOP_WAIT)
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def diagnose(self) -> list[Diagnosis]:
        """The endpoint, OPA's health with the token, what OPA holds now, and what would be published."""
        self._settings = self.configuration
        try:
            server = self._open_server()
        except ConnectorError as error:
            return [Diagnosis("endpoint", False, str(error))]
        steps = [Diagnosis("endpoint", True, server.address)]
        try:
            try:
                server.health()
            except ConnectorError as error:
                return [*steps, Diagnosis("connect", False, str(error))]
            steps.append(Diagnosis("connect", True, self._answered()))
            where = self._settings.rego_reference
            try:
                held = server.read_document()
            except ConnectorError as error:
                return [*steps, Diagnosis("document", False, f"reading {where}: {error}")]
            if isinstance(held, dict) and all(isinstance(held.get(s), dict) for s in SECTIONS):
                steps.append(Diagnosis("document", True, f"{where} holds {len(held['assets'])} assets"))
            else:
                steps.append(Diagnosis("document", True, f"{where} is not published yet (the first refresh does)"))
            document = read_document(self.context)
            counts = ", ".join(f"{len(document[section])} {section}" for section in SECTIONS)
            steps.append(Diagnosis("open metadata", True, f"would publish {counts}"))
        finally:
            server.close()
        return steps

    # --- publishing changes -------------------------------------------------------------------------------------
    def _on_event(self, event: ChangeEvent) -> None:
        """On the repository's delivery thread: note what changed, nothing more."""
        relationship = event.relationship or event.previous_relationship  # a deletion carries only the previous
        element = event.element or event.previous_element
        section: str | None = None
        if relationship is not None:
            if relationship.type_name not in DOCUMENT_TYPES:
                return
        elif element is None:
            return
        elif element.type_name == "GovernanceZone":
            section = "zones"
        elif self.context.is_type_of(element.type_name, "Asset"):
            section = "assets"
        elif element.type_name not in DOCUMENT_TYPES:
            return
        with self._pending:
            if section is None:
                self._read_people = True
            else:
                self._element_events.append((section, event))
        self._changed.set()

    def _publish_changes(self) -> None:
        """The publishing thread: after each change, patch OPA with what differs; back off while it fails."""
        retry = RETRY_FIRST
        while not self._stopping.is_set():
            self._changed.wait()
            self._changed.clear()
            if self._stopping.is_set():
                return
            try:
                self._publish_difference()
            except ContextDisconnected:
                return
            except Exception as error:  # any failure is retried: OPA down, a timeout, a repository error
                self.audit_log.log_message(
                    "publish changes",
                    OpaPublisherMessages.PUBLISH_FAILED,
                    connector_name=self.connector_name,
                    server=self.server.address if self._server else "(disconnected)",
                    error=_publish_error(error),
                    retry=retry,
                )
                if self._stopping.wait(retry):
                    return
                retry = min(retry * 2, RETRY_CAP)
                self._changed.set()
            else:
                retry = RETRY_FIRST

    def _publish_difference(self) -> None:
        with self._pending:
            read_people_again, self._read_people = self._read_people, False
            read_all, self._read_all = self._read_all, False
            element_events, self._element_events = self._element_events, []
        try:
            read: Document | None = None
            if read_all or self._published is None:
                with self.context.change_batch():  # one consistent read; the connector writes nothing in it
                    read = read_document(self.context)
            elif read_people_again:
                with self.context.change_batch():
                    read = read_people(self.context)
            with self._publishing:
                published = self._published
                if read is not None and (read_all or published is None):
                    document = read
                elif published is None:  # a refresh's PUT failed meanwhile: read again on the retry
                    raise ConnectorError("the document OPA holds is unknown")
                else:
                    document = with_element_changes(published, element_events)
                    if read is not None:
                        document = {**document, "users": read["users"], "groups": read["groups"]}
                self._send(published, document)
        except BaseException:
            with self._pending:
                self._read_all = True  # what was noted is gone: the retry reads everything
            raise

    def _send(self, published: Document | None, document: Document) -> None:
        """Patch OPA from `published` to `document`; put it whole when OPA has none or its state is unknown."""
        if published is None:
            self._put_whole(document)
            return
        operations = patch_between(published, document)
        if not operations:
            return
        try:
            self.server.patch_document(operations)
        except DocumentMissing:
            self._put_whole(document)
            self.audit_log.log_message(
                "publish changes",
                OpaPublisherMessages.REPUBLISHED,
                connector_name=self.connector_name,
                path=self._settings.document_path,
                server=self.server.address,
            )
            return
        self._published = document
        logger.debug("patched %d entries of %s", len(operations), self._settings.rego_reference)

    def _put_whole(self, document: Document) -> None:
        self._published = None
        self.server.put_document(document)
        self._published = document

    # --- helpers ----------------------------------------------------------------------------------------------
    @property
    def server(self) -> OpaServer:
        if self._server is None:
            raise ConnectorError("opa-publisher is not connected: start() has not run, or it was disconnected")
        return self._server

    def _answered(self) -> str:
        if self.connection.secret(self._settings.token_key):
            return "OPA answers and accepts the bearer token"
        return f"OPA answers anonymous requests (the Secret has no key {self._settings.token_key})"

    def _open_server(self) -> OpaServer:
        endpoint = self.connection.endpoint
        if not endpoint:
            raise ConnectorConfigurationError("spec.connection.endpoint must be the OPA server's http(s)://host:port")
        settings = self._settings
        verify: bool | str = settings.ca_file if settings.ca_file else settings.verify_tls
        arguments: dict[str, Any] = {
            "base_url": endpoint,
            "document_path": settings.document_path,
            "token": self.connection.secret(settings.token_key),
            "connect_timeout": settings.connect_timeout_seconds,
            "request_timeout": settings.request_timeout_seconds,
            "verify": verify,
        }
        return OpaServer(**arguments)
