"""The `dbt-project` connector: catalogues a dbt project from its artifacts, `manifest.json` and `catalog.json`.

The artifacts are what dbt writes to `target/` (`dbt build`, `dbt docs generate`); the connector reads them
from a path or an http(s) URL (where a CI job publishes them), never runs dbt and does not need it
installed. A refresh parses both (`artifacts.py`), decides every element and link (`entries.py`) and writes
what changed (`catalogue.py`), in the refresh's one transaction. Artifacts whose bytes are those of the
last refresh are not parsed again: their plan is kept (its digests are still compared with the repository's).
A manifest that cannot be read or parsed fails the refresh, leaving the repository as it was and archiving
nothing.
"""

from __future__ import annotations

import hashlib

from metaferry_runtime.connectors.dbt_project.artifacts import Catalog, parse_catalog, parse_manifest
from metaferry_runtime.connectors.dbt_project.catalogue import Cataloguer, Outcome
from metaferry_runtime.connectors.dbt_project.entries import Plan, plan
from metaferry_runtime.connectors.dbt_project.reading import (
    ArtifactReader,
    ArtifactUnavailable,
    catalog_location,
    manifest_location,
)
from metaferry_runtime.connectors.dbt_project.settings import DbtProjectSettings
from metaferry_runtime.connectors.dbt_project.warehouse import WarehouseNames
from metaferry_runtime.sdk import (
    ConnectorConfigurationError,
    ConnectorError,
    Diagnosis,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.analytics import AnalyticsIntegratorContext


class DbtProjectMessages(MessageCatalogue):
    prefix = "METAFERRY-DBT-PROJECT"

    CATALOGUED = numbered(
        1,
        Severity.INFO,
        "Connector {connector_name} read dbt project {project} (dbt {dbt_version}, manifest v{schema_version}):"
        " {changed} elements changed, {unchanged} unchanged, {archived} archived, {warehouse} linked to the warehouse",
        "Unchanged nodes were only marked as seen; changed ones were catalogued again with their columns and links.",
        "No action is required.",
    )
    NO_CATALOG = numbered(
        2,
        Severity.WARNING,
        "Connector {connector_name} found no catalog.json at {location}: column types come from the manifest",
        "Only the columns documented in the project's YAML files are catalogued, with the data_type they declare.",
        "Run `dbt docs generate` where the project is built, or set catalog to where catalog.json is published.",
    )


class DbtProjectConnector(IntegrationConnector[AnalyticsIntegratorContext]):
    """Catalogues a dbt project's models, sources, seeds, snapshots, tests, exposures, lineage and terms."""

    integration_service = "analytics"
    configuration_model = DbtProjectSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = DbtProjectSettings()
        self._reader: ArtifactReader | None = None
        self._manifest = ""
        self._catalog = ""
        #: The plan of the artifacts last read, by their digest: unchanged bytes are not parsed again.
        self._planned: tuple[str, Plan, str, int] | None = None

    def start(self) -> None:
        self._prepare()

    def _prepare(self) -> None:
        """Settings, artifact locations and the reader: for start(), and for diagnose(), which check calls first."""
        self._settings = self.configuration
        endpoint = self.connection.endpoint
        if not endpoint:
            raise ConnectorConfigurationError(
                "the endpoint must name the dbt project's manifest.json (or its target/ directory), a path or a URL"
            )
        self._manifest = manifest_location(endpoint)
        self._catalog = self._settings.catalog or catalog_location(self._manifest)
        self._reader = ArtifactReader(
            timeout=self._settings.timeout_seconds,
            verify=self._settings.verify_tls,
            token=self.connection.secret("token"),
        )

    def refresh(self) -> None:
        reader = self._opened()
        text = reader.read(self._manifest)
        assert text is not None
        catalog_text = reader.read(self._catalog, missing_ok=not self._settings.require_catalog)
        key = hashlib.sha256(text).hexdigest() + hashlib.sha256(catalog_text or b"").hexdigest()
        if self._planned is None or self._planned[0] != key:
            manifest = parse_manifest(text, self._manifest)
            catalog = self._parse_catalog(catalog_text)
            project = plan(manifest, catalog, project=self._settings.project_name)
            self._planned = (key, project, manifest.metadata.dbt_version, manifest.schema_version)
        elif catalog_text is None:
            self._parse_catalog(None)  # the warning, on every refresh without a catalog
        _, project, dbt_version, schema_version = self._planned
        namespace = self._settings.warehouse_namespace
        names = WarehouseNames(namespace, self._settings.database_names) if namespace else None
        outcome = Cataloguer(self.context, project).write(names)
        self._report(project.prefix, dbt_version, schema_version, outcome)

    def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def diagnose(self) -> list[Diagnosis]:
        if self._reader is None:
            self._prepare()
        reader = self._opened()
        try:
            text = reader.read(self._manifest)
            assert text is not None
            manifest = parse_manifest(text, self._manifest)
        except ConnectorError as error:
            return [Diagnosis("manifest", False, str(error))]
        steps = [
            Diagnosis(
                "manifest",
                True,
                f"{self._manifest}: dbt {manifest.metadata.dbt_version}, schema v{manifest.schema_version},"
                f" {len(manifest.nodes)} nodes, {len(manifest.sources)} sources",
            )
        ]
        try:
            found = reader.read(self._catalog, missing_ok=True) is not None
        except ArtifactUnavailable as error:
            return [*steps, Diagnosis("catalog", False, str(error))]
        return [*steps, Diagnosis("catalog", found or not self._settings.require_catalog, self._catalog_detail(found))]

    # --- helpers ------------------------------------------------------------------------------------------------
    def _opened(self) -> ArtifactReader:
        if self._reader is None:
            raise ConnectorError("the connector is not started")
        return self._reader

    def _catalog_detail(self, found: bool) -> str:
        return f"{self._catalog}" if found else f"{self._catalog} is missing: column types come from the manifest"

    def _parse_catalog(self, text: bytes | None) -> Catalog | None:
        if text is None:
            self.audit_log.log_message(
                "refresh", DbtProjectMessages.NO_CATALOG, connector_name=self.connector_name, location=self._catalog
            )
            return None
        return parse_catalog(text, self._catalog)

    def _report(self, prefix: str, dbt_version: str, schema_version: int, outcome: Outcome) -> None:
        self.audit_log.log_message(
            "refresh",
            DbtProjectMessages.CATALOGUED,
            connector_name=self.connector_name,
            project=prefix.removeprefix("dbt://").rstrip("/"),
            dbt_version=dbt_version or "unknown",
            schema_version=schema_version,
            changed=outcome.changed,
            unchanged=outcome.unchanged,
            archived=outcome.archived,
            warehouse=outcome.warehouse_links,
        )
