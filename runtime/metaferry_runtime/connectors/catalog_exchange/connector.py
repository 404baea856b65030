"""The `catalog-exchange` connector: exchanges open metadata with DataHub through its metadata files.

DataHub's interchange format is a JSON list of metadata change proposals, what `datahub ingest` writes with
its `file` sink and reads with its `file` source (so `datahub ingest` moves it to and from a DataHub server,
or any other sink). Both directions run in every refresh, as `permittedSynchronization` allows:

- import (FROM_THIRD_PARTY or BOTH_DIRECTIONS): every file named by `catalogTargets` and `importPaths` is
  read and parsed first, all of them, so a bad file fails the refresh before anything is written; then the
  entities become elements (`importing.py`), each keeping its URN as an external identifier, and deletion
  detection archives what this connector imported before and the files no longer have.
- export (TO_THIRD_PARTY or BOTH_DIRECTIONS): the repository's databases, schemas, tables, columns, folders,
  files, topics, data sets and processes, whoever catalogued them (`exporting.py`), are written to
  `exportPath` as one file, replaced atomically and only when it changed. What this connector imported is
  left out unless `exportImported`, so DataHub does not get its own metadata back.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from metaferry_runtime.connectors.catalog_exchange import entities as exchange
from metaferry_runtime.connectors.catalog_exchange.exporting import read_entities
from metaferry_runtime.connectors.catalog_exchange.importing import IMPORTED_TYPES, import_entities
from metaferry_runtime.connectors.catalog_exchange.settings import CatalogExchangeSettings
from metaferry_runtime.sdk import (
    ConnectorConfigurationError,
    ConnectorError,
    Diagnosis,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.catalog import CatalogIntegratorContext


class CatalogExchangeMessages(MessageCatalogue):
    prefix = "METAFERRY-CATALOG-EXCHANGE"

    STARTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} imports {imports} and exports to {export} ({synchronization})",
        "Each refresh imports the DataHub files, then exports the repository as DataHub metadata change proposals.",
        "No action is required.",
    )
    IMPORTED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} imported {entities} DataHub entities from {files} files: {created} created,"
        " {updated} updated, {unchanged} unchanged, {linked} linked to other sources' elements, {skipped} skipped,"
        " {removed} marked removed",
        "Each element keeps its DataHub URN as an external identifier; what the files no longer have is archived.",
        "No action is required.",
    )
    EXPORTED = numbered(
        3,
        Severity.INFO,
        "Connector {connector_name} exported {entities} entities ({records} metadata change proposals) to {path}{same}",
        "The file is what `datahub ingest` reads with its file source.",
        "No action is required.",
    )


class CatalogExchangeConnector(IntegrationConnector[CatalogIntegratorContext]):
    """Imports DataHub metadata files into open metadata and exports open metadata as one."""

    integration_service = "catalog"
    configuration_model = CatalogExchangeSettings

    def start(self) -> None:
        self.settings: CatalogExchangeSettings = self.configuration
        self.import_paths = self._import_paths()
        self.export_path = Path(self.settings.export_path).absolute() if self.settings.export_path else None
        if not self.import_paths and self.export_path is None:
            raise ConnectorConfigurationError(
                "nothing to exchange: name DataHub files to import in catalogTargets or importPaths,"
                " or a file to export to in exportPath"
            )
        if self.export_path is not None and not self.export_path.parent.is_dir():
            raise ConnectorConfigurationError(f"exportPath's directory {self.export_path.parent} does not exist")
        self.audit_log.log_message(
            "start",
            CatalogExchangeMessages.STARTED,
            connector_name=self.connector_name,
            imports=", ".join(map(str, self.import_paths)) or "nothing",
            export=self.export_path or "nowhere",
            synchronization=self.context.get_permitted_synchronization().value,
        )

    def refresh(self) -> None:
        synchronization = self.context.get_permitted_synchronization().value
        if self.import_paths and synchronization != "TO_THIRD_PARTY":
            self._import()
        if self.export_path is not None and synchronization != "FROM_THIRD_PARTY":
            self._export(self.export_path)

    def diagnose(self) -> list[Diagnosis]:
        """Each file to import (readable, DataHub metadata, how many entities) and the export's directory."""
        self.settings = self.configuration
        steps = []
        for path in self._import_paths():
            try:
                found = self._read(path)
            except ConnectorError as error:
                steps.append(Diagnosis(f"import {path}", False, str(error)))
            else:
                steps.append(Diagnosis(f"import {path}", True, f"{len(found)} DataHub entities"))
        if self.settings.export_path:
            directory = Path(self.settings.export_path).absolute().parent
            writable = directory.is_dir() and os.access(directory, os.W_OK)
            steps.append(Diagnosis("export", writable, f"{directory} {'is' if writable else 'is not'} writable"))
        return steps

    # --- the two directions ---------------------------------------------------------------------------------
    def _import(self) -> None:
        found: list[exchange.Entity] = []
        for path in self.import_paths:  # every file parsed before anything is written
            found.extend(self._read(path))
        merged = list({entity.urn: entity for entity in found}.values())
        counts = import_entities(self.context, merged)
        self.context.detect_deletions(type_names=IMPORTED_TYPES)
        self.audit_log.log_message(
            "refresh",
            CatalogExchangeMessages.IMPORTED,
            connector_name=self.connector_name,
            entities=len(merged),
            files=len(self.import_paths),
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            linked=counts.linked,
            skipped=counts.skipped,
            removed=counts.removed,
        )

    def _export(self, path: Path) -> None:
        skip = None if self.settings.export_imported else self.context.get_metadata_source_qualified_name()
        entities = read_entities(self.context, env=self.settings.environment, skip_collection=skip)
        records = exchange.to_records(entities)
        text = exchange.dump_records(records)
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        if not same:
            _write_atomically(path, text)
        self.audit_log.log_message(
            "refresh",
            CatalogExchangeMessages.EXPORTED,
            connector_name=self.connector_name,
            entities=len(entities),
            records=len(records),
            path=path,
            same=" (unchanged)" if same else "",
        )

    # --- helpers ------------------------------------------------------------------------------------------
    def _import_paths(self) -> list[Path]:
        named = [target.name for target in self.context.get_catalog_targets()] + list(self.settings.import_paths)
        return [Path(name).absolute() for name in dict.fromkeys(named)]

    @staticmethod
    def _read(path: Path) -> list[exchange.Entity]:
        try:
            text = path.read_bytes()
        except OSError as error:
            raise ConnectorError(f"cannot read the DataHub file {path}: {error.strerror or error}") from None
        return exchange.from_records(exchange.parse_document(text, str(path)), str(path))


def _write_atomically(path: Path, text: str) -> None:
    """Readers (a `datahub ingest` run) see the old file or the new one, never half of one."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
