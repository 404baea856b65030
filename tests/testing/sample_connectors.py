"""A small connector for the test kit's own tests, and one variant of it per conformance property it breaks.

They are loaded the way users load theirs, as `tests.testing.sample_connectors:ClassName` (the conformance
suite runs them under the engine too).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

from metaferry_runtime.sdk import Connection, ConnectorConfigurationError, IntegrationConnector
from metaferry_runtime.sdk.contexts import FilesIntegratorContext


class FolderConnector(IntegrationConnector[FilesIntegratorContext]):
    """Catalogues the files directly in the endpoint's folder, nested in it, and archives the ones gone."""

    integration_service = "files"

    def start(self) -> None:
        folder = self.connection.endpoint
        if not folder or not os.path.isdir(folder):
            raise ConnectorConfigurationError(f"the folder {folder} does not exist")
        self.folder = os.path.abspath(folder)

    def refresh(self) -> None:
        folder, _ = self.context.add_data_folder_to_catalog(self.folder)
        for name in sorted(os.listdir(self.folder)):
            path = os.path.join(self.folder, name)
            if os.path.isfile(path):
                self.catalog_file(path, folder.guid)
        self.context.detect_deleted_files(self.folder)

    def engage(self) -> None:
        """Blocking mode: catalogue the files that appeared since the last look, in one change batch."""
        with self.context.change_batch():
            folder, _ = self.context.add_data_folder_to_catalog(self.folder)
            for name in sorted(os.listdir(self.folder)):
                path = os.path.join(self.folder, name)
                if os.path.isfile(path) and self.context.get_file_by_path_name(path) is None:
                    self.catalog_file(path, folder.guid)

    def catalog_file(self, path: str, folder_guid: str) -> None:
        self.context.add_data_file_to_catalog(path, self.file_properties(path), folder_guid=folder_guid)

    def file_properties(self, path: str) -> dict[str, Any]:
        return {"size": os.path.getsize(path)}


class RecordingConnector(FolderConnector):
    """Records its lifecycle calls (class-level, so a test can read them after the engine built the instance)."""

    calls: ClassVar[list[str]] = []

    def initialize(self, connection: Connection, connector_instance_id: str) -> None:
        self.calls.append("initialize")
        super().initialize(connection, connector_instance_id)

    def set_audit_log(self, audit_log: Any) -> None:
        self.calls.append("set_audit_log")
        super().set_audit_log(audit_log)

    def set_connector_name(self, connector_name: str) -> None:
        self.calls.append("set_connector_name")
        super().set_connector_name(connector_name)

    def set_context(self, context: FilesIntegratorContext) -> None:
        self.calls.append("set_context")
        super().set_context(context)

    def start(self) -> None:
        self.calls.append("start")
        super().start()

    def refresh(self) -> None:
        self.calls.append("refresh")
        super().refresh()

    def disconnect(self) -> None:
        self.calls.append("disconnect")


class ForgetsSuperConnector(FolderConnector):
    """Breaks the lifecycle: its set_connector_name keeps the name to itself."""

    def set_connector_name(self, connector_name: str) -> None:
        self.my_name = connector_name


class WritesBeforeStartConnector(FolderConnector):
    """Breaks the lifecycle: it catalogues its folder as soon as it has a context, before start()."""

    def set_context(self, context: FilesIntegratorContext) -> None:
        super().set_context(context)
        context.add_data_folder_to_catalog(os.path.abspath(self.connection.endpoint or "."))


class TimestampingConnector(FolderConnector):
    """Breaks idempotence: every refresh stamps every file with the time it ran."""

    def file_properties(self, path: str) -> dict[str, Any]:
        return {**super().file_properties(path), "storeUpdateTime": datetime.now(UTC).isoformat()}


class InstanceStampingConnector(FolderConnector):
    """Writes on an unchanged source: each instance stamps the files with its own instance id, so a second
    refresh writes nothing, but the first refresh after a restart rewrites everything."""

    def file_properties(self, path: str) -> dict[str, Any]:
        return {**super().file_properties(path), "description": f"catalogued by {self.connector_instance_id}"}


class LeakyConnector(FolderConnector):
    """Leaves a thread, an open file and a socket behind at disconnect (`release_all` cleans up after a test)."""

    leaked: ClassVar[list[tuple[threading.Event, Any, socket.socket]]] = []

    def start(self) -> None:
        super().start()
        stop = threading.Event()
        threading.Thread(target=stop.wait, name="sample-leaky-poller", daemon=True).start()
        self.leaked.append((stop, open(os.devnull), socket.socket()))  # noqa: SIM115  # leaking them is the point

    @classmethod
    def release_all(cls) -> None:
        for stop, file, sock in cls.leaked:
            stop.set()
            file.close()
            sock.close()
        cls.leaked.clear()


class LogsSecretsConnector(FolderConnector):
    """Leaks its secured properties into a debug log line (the masking log handler would hide it in a pod)."""

    def start(self) -> None:
        super().start()
        secrets = {key: value.get_secret_value() for key, value in self.connection.secured_properties.items()}
        logging.getLogger(__name__).debug("connecting with %s", secrets)


class PublishesSecretsConnector(FolderConnector):
    """Leaks a secured property into open metadata: it records the folder's access token as a description."""

    def file_properties(self, path: str) -> dict[str, Any]:
        tokens = [value.get_secret_value() for value in self.connection.secured_properties.values()]
        return {**super().file_properties(path), "description": f"read with {tokens[0]}"}


class SwallowsErrorsConnector(FolderConnector):
    """Breaks the one transaction: what it cannot write is logged and skipped, so a refresh whose writes
    failed half-way commits the half that went through, and reports success."""

    def refresh(self) -> None:
        try:
            super().refresh()
        except Exception as error:
            logging.getLogger(__name__).warning("refresh incomplete: %s", error)

    def catalog_file(self, path: str, folder_guid: str) -> None:
        try:
            super().catalog_file(path, folder_guid)
        except Exception as error:
            logging.getLogger(__name__).warning("skipped %s: %s", path, error)


class CataloguesNothingConnector(FolderConnector):
    """Refreshes without writing anything: idempotent, trivially, which proves nothing."""

    def refresh(self) -> None:
        pass
