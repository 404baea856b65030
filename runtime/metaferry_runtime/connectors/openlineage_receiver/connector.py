"""The `openlineage-receiver` connector: receives OpenLineage events over HTTP and catalogues what they say.

A notification connector (Egeria's engage/listener mode, `usesBlockingCalls: true`): start() opens the
journal and serves `POST /api/v1/lineage` on the resource's `listenerPort` (`server.py`); an event is
acknowledged once it is validated and synced to the journal (`journal.py`); engage() waits for new events and
catalogues each burst in one transaction (`catalogue.py`); every refresh (at start, then on the interval or
on request) applies the whole retained journal again, which writes nothing already there, and folds the
DataSets of ours that another source has since catalogued under the same natural name into that element.

Secured property `token` (from the Secret; another key with `tokenKey`): the bearer token clients send.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from pydantic import Field, StrictBool

from metaferry_runtime.connectors.openlineage_receiver.catalogue import LineageCatalogue
from metaferry_runtime.connectors.openlineage_receiver.events import InvalidEvent, parse_event
from metaferry_runtime.connectors.openlineage_receiver.journal import Journal, Position
from metaferry_runtime.connectors.openlineage_receiver.server import LINEAGE_PATH, ReceiverServer
from metaferry_runtime.sdk import (
    ConnectorConfiguration,
    ConnectorConfigurationError,
    ConnectorError,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.lineage import LineageIntegratorContext

#: The listen host, as the runtime's own API takes it (default every interface).
LISTEN_HOST_ENV = "METAFERRY_LISTEN_HOST"
#: How long one engage() waits for new events before returning, in seconds.
ENGAGE_WAIT_SECONDS = 1.0
#: engage() yields the interpreter to the server's thread after cataloguing this many events.
YIELD_EVERY = 10
#: Journal lines read per read call.
READ_CHUNK = 1000


class ReceiverSettings(ConnectorConfiguration):
    """Configuration properties of openlineage-receiver."""

    journal_directory: str | None = Field(
        default=None,
        description="directory of the event journal; default a directory per connector under the temporary directory",
    )
    token_key: str = Field(default="token", min_length=1, description="the Secret's key holding the bearer token")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="largest request body, in bytes")
    run_history: int = Field(default=20, ge=1, le=1000, description="runs kept on each Process, 1 to 1000")
    events_per_transaction: int = Field(
        default=1000, ge=1, description="most events engage() catalogues in one transaction"
    )
    gather_seconds: float = Field(
        default=0.25,
        ge=0,
        le=10,
        description="seconds engage() lets a burst of events gather before cataloguing it, 0 to 10",
    )
    sync_journal: StrictBool = Field(
        default=True,
        description="true: acknowledge an event once synced to disk; false: once written (survives a crash of"
        " the pod, not of its node)",
    )
    segment_bytes: int = Field(default=64 * 1_048_576, ge=4096, description="journal segment size, in bytes")
    retained_segments: int = Field(default=4, ge=1, description="journal segments kept once catalogued")


class ReceiverMessages(MessageCatalogue):
    prefix = "METAFERRY-OPENLINEAGE-RECEIVER"

    LISTENING = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} receives OpenLineage events at http://{host}:{port}{path}",
        "Each event is validated and synced to the journal at {journal} before it is acknowledged.",
        "Point the OpenLineage HTTP transport of your jobs at this address.",
    )
    CATALOGUED = numbered(
        2,
        Severity.EVENT,
        "Connector {connector_name} catalogued {count} OpenLineage events",
        "The events were applied in one transaction.",
        "No action is required.",
    )
    REPLAYED = numbered(
        3,
        Severity.INFO,
        "Connector {connector_name} applied the {count} events of its journal; {folded} data sets were folded"
        " into elements other sources catalogued",
        "Applying an event again changes nothing; only what was missing was written.",
        "No action is required.",
    )
    REFUSED = numbered(
        4,
        Severity.ERROR,
        "Connector {connector_name} refused an OpenLineage event: {problem}",
        "The request was answered 400 and nothing of it was kept.",
        "Fix the producer of the event; the field named is the one that is wrong.",
    )


class OpenLineageReceiverConnector(IntegrationConnector[LineageIntegratorContext]):
    """Receives OpenLineage run, job and dataset events and catalogues processes, data sets and lineage."""

    integration_service = "lineage"
    configuration_model = ReceiverSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = ReceiverSettings()
        self._journal: Journal | None = None
        self._server: ReceiverServer | None = None
        self._position = Position(0, 0)
        self._stop = threading.Event()

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._settings = self.configuration
        port = self.context.get_listener_port()
        if port is None:
            raise ConnectorConfigurationError("openlineage-receiver needs spec.listenerPort, the port it serves")
        token = self.connection.secret(self._settings.token_key)
        if not token:
            raise ConnectorConfigurationError(
                f"openlineage-receiver needs a bearer token: the key {self._settings.token_key!r} of the Secret"
                " named by spec.connection.secretRef"
            )
        self._journal = Journal(
            self._journal_directory(),
            segment_bytes=self._settings.segment_bytes,
            retained_segments=self._settings.retained_segments,
            sync=self._settings.sync_journal,
        )
        self._position = self._journal.end()
        host = os.environ.get(LISTEN_HOST_ENV) or "0.0.0.0"
        self._server = ReceiverServer(
            journal=self._journal,
            host=host,
            port=port,
            token=token,
            max_body_bytes=self._settings.max_body_bytes,
            on_refused=self._refused,
        )
        self._stop.clear()
        try:
            self._server.start()
        except OSError as error:
            self._server = None
            raise ConnectorError(f"cannot serve lineage on {host}:{port}: {error.strerror or error}") from None
        if self._audit_log is not None:
            self.audit_log.log_message(
                "start",
                ReceiverMessages.LISTENING,
                connector_name=self.connector_name,
                host=host,
                port=port,
                path=LINEAGE_PATH,
                journal=str(self._journal.directory),
            )

    def refresh(self) -> None:
        """Apply the whole retained journal (idempotent), then fold our data sets into other sources' ones."""
        journal = self._require_journal()
        catalogue = self._catalogue()
        position: Position | None = None
        count = 0
        while True:
            lines, reached = journal.read(position, limit=READ_CHUNK)
            for line in lines:
                catalogue.apply(parse_event(json.loads(line)))
            catalogue.flush()
            count += len(lines)
            if not lines or reached == position:
                break
            position = reached
        folded = catalogue.adopt_catalogued_datasets()
        if self._audit_log is not None:
            self.audit_log.log_message(
                "refresh", ReceiverMessages.REPLAYED, connector_name=self.connector_name, count=count, folded=folded
            )

    def engage(self) -> None:
        """Wait up to a second for new events; catalogue what arrived, a transaction per burst."""
        journal = self._require_journal()
        if self._stop.is_set() or not journal.appended.wait(ENGAGE_WAIT_SECONDS) or self._stop.is_set():
            return
        journal.appended.clear()
        self._stop.wait(self._settings.gather_seconds)  # let a burst gather: one transaction for more of it
        while not self._stop.is_set():
            lines, reached = journal.read(self._position, limit=self._settings.events_per_transaction)
            if not lines:
                return
            catalogue = self._catalogue()
            with self.context.change_batch():
                for number, line in enumerate(lines, start=1):
                    catalogue.apply(parse_event(json.loads(line)))
                    if number % YIELD_EVERY == 0:
                        time.sleep(0)  # let the server's thread take the GIL: acknowledgements come first
                catalogue.flush()
            self._position = reached
            journal.applied_up_to(reached)
            if self._audit_log is not None:
                self.audit_log.log_message(
                    "engage", ReceiverMessages.CATALOGUED, connector_name=self.connector_name, count=len(lines)
                )

    def disconnect(self) -> None:
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    # --- helpers ----------------------------------------------------------------------------------------------
    @property
    def server(self) -> ReceiverServer | None:
        return self._server

    @property
    def caught_up(self) -> bool:
        """True when engage() has catalogued every event the journal holds (for tests and benchmarks)."""
        return self._journal is not None and self._position >= self._journal.end()

    def _catalogue(self) -> LineageCatalogue:
        return LineageCatalogue(self.context, run_history=self._settings.run_history)

    def _require_journal(self) -> Journal:
        if self._journal is None:
            raise ConnectorError("openlineage-receiver has not started")
        return self._journal

    def _journal_directory(self) -> Path:
        if self._settings.journal_directory:
            return Path(self._settings.journal_directory)
        source = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.context.get_metadata_source_qualified_name())
        return Path(tempfile.gettempdir()) / "metaferry-openlineage-receiver" / source

    def _refused(self, problem: str) -> None:
        if self._audit_log is not None:
            self.audit_log.log_message(
                "receive", ReceiverMessages.REFUSED, connector_name=self.connector_name, problem=problem
            )


__all__ = ["InvalidEvent", "OpenLineageReceiverConnector", "ReceiverMessages", "ReceiverSettings"]
