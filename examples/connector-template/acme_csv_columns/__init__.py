import csv
import os

from pydantic import Field

from metaferry_runtime.sdk import (
    ConnectorConfiguration,
    ConnectorConfigurationError,
    ElementUpsert,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.files import FilesIntegratorContext, file_qualified_name


class CsvColumnsSettings(ConnectorConfiguration):
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="one character")


class CsvColumnsMessages(MessageCatalogue):
    prefix = "GUIDE-CSV-COLUMNS"
    CATALOGUED = numbered(1, Severity.INFO, "Connector {connector_name} catalogued {count} CSV files",
                          "Each file's header row is its columnNames.", "No action is required.")


class CsvColumnsConnector(IntegrationConnector[FilesIntegratorContext]):
    """Catalogues each CSV file of a directory with the column names of its header row."""

    integration_service = "files"
    configuration_model = CsvColumnsSettings

    def start(self) -> None:
        self.settings: CsvColumnsSettings = self.configuration
        self.root = os.path.abspath(self.connection.endpoint or "")
        if not os.path.isdir(self.root):
            raise ConnectorConfigurationError(f"{self.root} is not a directory")

    def refresh(self) -> None:
        upserts = []
        for name in sorted(os.listdir(self.root)):
            path = os.path.join(self.root, name)
            if name.endswith(".csv") and os.path.isfile(path):
                with open(path, newline="") as file:
                    header = next(csv.reader(file, delimiter=self.settings.delimiter), [])
                properties = {"name": name, "pathName": path, "columnNames": header}
                upserts.append(ElementUpsert(file_qualified_name(path), properties, "CSVFile"))
        folder, _ = self.context.upsert_file_folder(file_qualified_name(self.root), {"name": self.root})
        self.context.upsert_data_files(upserts, parent_guid=folder.guid)
        self.context.detect_deletions(type_names=["DataFile"], scope_prefix=file_qualified_name(self.root) + "/")
        self.audit_log.log_message("refresh", CsvColumnsMessages.CATALOGUED,
                                   connector_name=self.connector_name, count=len(upserts))
