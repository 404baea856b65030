"""The `grafana-dashboards` connector: catalogues the dashboards of Grafana servers (their HTTP API) and of
directories of dashboard JSON files (as Grafana provisions them), named by the endpoint and catalog targets.

Each refresh lists every target's dashboards (`sources.py`) and fetches each one. An unchanged dashboard
(a 304, or a body with the digest the repository holds on its Report, which covers the models of the
library panels it uses, `libraries.py`) only has its elements marked as seen,
and its SQL queries linked again to tables a database connector catalogued since. A changed one is read
(`reading.py`) and catalogued (`catalogue.py`). A dashboard that cannot be fetched or read fails alone (a
WARNING audit record): nothing of it is written or archived. A target that cannot be listed fails alone
too; only when every target failed does the refresh fail. After a target's refresh in which every dashboard
was read, what it no longer has is archived: dashboards that went, panels and queries a dashboard lost.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from metaferry_runtime.connectors.grafana_dashboards.catalogue import (
    DIGEST_PROPERTY,
    REPORT_TYPES,
    UNDER_REPORT_TYPES,
    Catalogued,
    QueryTables,
    catalogue_dashboard,
    link_tables,
    report_qualified_name,
)
from metaferry_runtime.connectors.grafana_dashboards.databases import Databases
from metaferry_runtime.connectors.grafana_dashboards.fetching import new_fetcher, parsed
from metaferry_runtime.connectors.grafana_dashboards.libraries import LibraryPanels, combined_digest
from metaferry_runtime.connectors.grafana_dashboards.messages import GrafanaDashboardsMessages as Messages
from metaferry_runtime.connectors.grafana_dashboards.reading import (
    DashboardUnreadable,
    library_panel_uids,
    read_dashboard,
)
from metaferry_runtime.connectors.grafana_dashboards.settings import GrafanaDashboardsSettings
from metaferry_runtime.connectors.grafana_dashboards.sources import (
    GrafanaAPI,
    Listed,
    Source,
    provisioned_datasources,
    source_for,
)
from metaferry_runtime.sdk import (
    ConnectorConfigurationError,
    ConnectorError,
    Diagnosis,
    IntegrationConnector,
)
from metaferry_runtime.sdk.contexts.display import DisplayIntegratorContext
from metaferry_runtime.sdk.http import ConditionalFetcher, SourceUnavailable, Validators, is_http, origin

#: How many unparsable SQL queries of a dashboard an audit record names.
REPORTED_QUERIES = 3


class Remembered(BaseModel):
    """What the last refresh read of a dashboard: its validators, the names it catalogued, its SQL's tables."""

    model_config = ConfigDict(frozen=True)

    validators: Validators
    #: The digest held on the Report: the dashboard's JSON, with its library panels' models if it uses any.
    digest: str
    libraries: tuple[str, ...] = ()
    key: str  # the dashboard's uid (or, in a file without one, its path)
    report: str
    names: tuple[str, ...]
    sql: tuple[QueryTables, ...] = ()


class TargetOutcome(BaseModel):
    """One target's refresh, for its audit record."""

    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    panels: int = 0
    queries: int = 0
    tables: int = 0


class GrafanaDashboardsConnector(IntegrationConnector[DisplayIntegratorContext]):
    """Catalogues Grafana dashboards as Reports with their panels (DataContainers) and queries (Queries)."""

    integration_service = "display"
    configuration_model = GrafanaDashboardsSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = GrafanaDashboardsSettings()
        self._fetcher: ConditionalFetcher | None = None
        self._sources: dict[str, Source] = {}
        self._databases: dict[str, Databases] = {}
        self._memory: dict[tuple[str, str], Remembered] = {}  # (target root, listed key) -> what was read
        self._warned_datasources: set[str] = set()

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._configure()
        self.audit_log.log_message(
            "start", Messages.STARTED, connector_name=self.connector_name, targets=", ".join(self.targets)
        )

    def refresh(self) -> None:
        self._ready()
        failed: list[str] = []
        for target in self.targets:
            source = self._sources[target]
            try:
                listed = source.dashboards()
            except SourceUnavailable as error:
                failed.append(f"{target}: {error}")
                self.audit_log.log_message(
                    "refresh",
                    Messages.TARGET_FAILED,
                    connector_name=self.connector_name,
                    target=target,
                    reason=str(error),
                )
                continue
            self._learn_datasources(target, source)
            outcome = self._refresh_target(target, source, listed)
            self.audit_log.log_message(
                "refresh",
                Messages.CATALOGUED,
                connector_name=self.connector_name,
                target=target,
                count=outcome.changed,
                unchanged=outcome.unchanged,
                panels=outcome.panels,
                queries=outcome.queries,
                tables=outcome.tables,
            )
        if len(failed) == len(self.targets):
            raise ConnectorError(f"no target could be listed, nothing was archived: {'; '.join(failed)}")

    def disconnect(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
        self._fetcher = None
        self._sources = {}

    def diagnose(self) -> list[Diagnosis]:
        """One step per target: how many dashboards it lists; for a Grafana, also whether its data sources read."""
        self._ready()
        steps = []
        for target in self.targets:
            source = self._sources[target]
            try:
                listed = source.dashboards()
            except SourceUnavailable as error:
                steps.append(Diagnosis(f"target {target}", False, str(error)))
                continue
            titles = ", ".join(item.title for item in listed[:3]) + (" ..." if len(listed) > 3 else "")
            steps.append(Diagnosis(f"target {target}", True, f"{len(listed)} dashboards: {titles}"))
            if isinstance(source, GrafanaAPI) and self._settings.read_datasources:
                try:
                    count = len(source.datasources())
                    steps.append(Diagnosis(f"data sources of {target}", True, f"{count} data sources"))
                except SourceUnavailable as error:
                    steps.append(Diagnosis(f"data sources of {target}", False, str(error)))
        return steps

    # --- one target -------------------------------------------------------------------------------------------
    def _refresh_target(self, target: str, source: Source, listed: list[Listed]) -> TargetOutcome:
        outcome = TargetOutcome()
        changed: list[str] = []
        keys: dict[str, str] = {}  # dashboard key (uid) -> the listed entry that had it, to refuse a repeat
        libraries = LibraryPanels(source)
        for item in listed:
            try:
                catalogued = self._dashboard(source, item, keys=keys, outcome=outcome, libraries=libraries)
            except (SourceUnavailable, DashboardUnreadable) as error:
                outcome.failed += 1
                self._memory.pop((source.root, item.key), None)
                self.audit_log.log_message(
                    "refresh", Messages.DASHBOARD_FAILED, dashboard=item.location, target=target, reason=str(error)
                )
                continue
            if catalogued is not None:
                changed.append(catalogued.report)
        if outcome.failed:  # what a failed dashboard holds stays; the changed ones lose what they no longer have
            for report in changed:
                self.context.detect_deletions(type_names=UNDER_REPORT_TYPES, scope_prefix=f"{report}::")
            return outcome
        present = {(source.root, item.key) for item in listed}
        self._memory = {key: value for key, value in self._memory.items() if key[0] != source.root or key in present}
        self.context.detect_deletions(type_names=(*REPORT_TYPES, *UNDER_REPORT_TYPES), scope_prefix=source.root + "/")
        return outcome

    def _dashboard(
        self,
        source: Source,
        item: Listed,
        *,
        keys: dict[str, str],
        outcome: TargetOutcome,
        libraries: LibraryPanels,
    ) -> Catalogued | None:
        """Catalogue one dashboard, or only mark it seen when unchanged (then None)."""
        memory_key = (source.root, item.key)
        remembered = self._memory.get(memory_key)
        fetched = source.read(item, remembered.validators if remembered else None)
        same_body = remembered is not None and (fetched.body is None or fetched.digest == remembered.validators.digest)
        if remembered is not None and same_body:
            uids, document = remembered.libraries, None
        else:
            if fetched.body is None:  # a 304 for a body the connector no longer remembers
                fetched = source.read(item, None)
            document = parsed(fetched)
            uids = library_panel_uids(document)
        models = libraries.models(uids)
        if fetched.body is None:  # a 304: what was sent is the body remembered
            assert remembered is not None
            body_digest = remembered.validators.digest
        else:
            body_digest = fetched.digest
        digest = combined_digest(body_digest, models)
        if remembered is not None and remembered.key not in keys and self._still_held(remembered, digest):
            missing = self.context.mark_observed_by_names(remembered.names)
            if not missing:
                for tables in remembered.sql:
                    outcome.tables += link_tables(self.context, tables)
                if fetched.body is not None:  # the same body, maybe with new validators
                    self._memory[memory_key] = remembered.model_copy(update={"validators": fetched.validators()})
                keys[remembered.key] = item.location
                outcome.unchanged += 1
                return None
        if document is None:
            if fetched.body is None:  # what was remembered is not what the repository holds: read it in full
                fetched = source.read(item, None)
            document = parsed(fetched)
            uids = library_panel_uids(document)
            models = libraries.models(uids)
            digest = combined_digest(fetched.digest, models)
        definition = read_dashboard(document, folder=item.folder, url=item.url, libraries=models)
        key = item.key if isinstance(source, GrafanaAPI) else (definition.uid or item.key)
        if key in keys:
            raise DashboardUnreadable(f"its uid {key} is also that of {keys[key]}, which was catalogued")
        keys[key] = item.location
        catalogued = catalogue_dashboard(
            self.context,
            definition,
            report_name=report_qualified_name(source.root, key),
            digest=digest,
            databases=self._databases[self._target_of(source)],
        )
        if catalogued.unparsed:
            self.audit_log.log_message(
                "refresh",
                Messages.UNPARSED_SQL,
                count=len(catalogued.unparsed),
                dashboard=catalogued.report,
                queries="; ".join(catalogued.unparsed[:REPORTED_QUERIES]),
            )
        self._memory[memory_key] = Remembered(
            validators=fetched.validators(),
            digest=digest,
            libraries=uids,
            key=key,
            report=catalogued.report,
            names=tuple(catalogued.names),
            sql=tuple(catalogued.sql),
        )
        outcome.changed += 1
        outcome.panels += catalogued.panels
        outcome.queries += catalogued.queries
        outcome.tables += catalogued.tables
        return catalogued

    def _still_held(self, remembered: Remembered, digest: str) -> bool:
        """True when the dashboard (and its library panels) are unchanged and the repository holds that very
        version (the digest on its Report): a refresh that rolled back leaves memory the repository lacks."""
        if digest != remembered.digest:
            return False
        report = self.context.get_report_by_qualified_name(remembered.report)
        held = (report.properties.get("additionalProperties") or {}).get(DIGEST_PROPERTY) if report else None
        return held == digest

    def _learn_datasources(self, target: str, source: Source) -> None:
        """Which database each data source reads: from the `datasourceFiles` (Grafana's provisioning files)
        and from Grafana itself (when allowed). A file or a Grafana that cannot say is warned of once."""
        from_grafana = isinstance(source, GrafanaAPI) and self._settings.read_datasources
        if not from_grafana and not self._settings.datasource_files:
            return
        try:
            entries = provisioned_datasources(self._settings.datasource_files)
            self._databases[target].learn([*entries, *(source.datasources() if from_grafana else [])])
        except SourceUnavailable as error:
            if target not in self._warned_datasources:
                self._warned_datasources.add(target)
                self.audit_log.log_message(
                    "refresh",
                    Messages.DATASOURCES_UNREADABLE,
                    connector_name=self.connector_name,
                    target=target,
                    reason=str(error),
                )

    # --- helpers ----------------------------------------------------------------------------------------------
    @property
    def targets(self) -> tuple[str, ...]:
        """The endpoint, then the catalog targets, without repeats."""
        endpoint = [self.connection.endpoint] if self.connection.endpoint else []
        return tuple(dict.fromkeys([*endpoint, *(target.name for target in self.context.get_catalog_targets())]))

    def _target_of(self, source: Source) -> str:
        return next(target for target, known in self._sources.items() if known is source)

    def _configure(self) -> None:
        self._settings = self.configuration
        if not self.targets:
            raise ConnectorConfigurationError(
                "grafana-dashboards needs connection.endpoint or catalogTargets: Grafana URLs or dashboard directories"
            )
        for target in self.targets:
            parts = urlsplit(target)
            if is_http(target) and (parts.username or parts.password):
                raise ConnectorConfigurationError(
                    f"the target {origin(target)}... holds credentials: put them in the Secret named by secretRef"
                    " (token, or username and password)"
                )
        if self._fetcher is None:
            origins = {origin(target) for target in self.targets if is_http(target)}
            self._fetcher = new_fetcher(settings=self._settings, connection=self.connection, origins=origins)
            self._sources = {
                target: source_for(target, fetcher=self._fetcher, page_size=self._settings.page_size)
                for target in self.targets
            }
            self._databases = {target: Databases(self._settings.datasources) for target in self.targets}

    def _ready(self) -> None:
        if self._fetcher is None:
            self._configure()
