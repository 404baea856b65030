"""The `openapi-monitor` connector: catalogues the OpenAPI 3.0/3.1 and Swagger 2.0 documents of the
endpoint and the catalog targets (URLs of documents, base URLs, document indexes, or files).

Each refresh fetches every document with a conditional request (`sources.py`, `fetching.py`). An
unchanged one (a 304, or a body with the digest of the last one read) only has its elements marked as seen.
A changed one is validated (`validating.py`; problems are WARNING audit records), read with its `$ref`s
resolved (`reading.py`) and catalogued (`catalogue.py`). A target that cannot be fetched fails alone: its
elements are neither written nor archived, and the others are refreshed; only when every target failed does
the refresh fail. Deletion detection archives what a document no longer has, and, after a refresh where
every target answered, the documents no target serves any more.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from jsonschema_path.typing import ResolverHandlers
from pydantic import BaseModel, ConfigDict

from metaferry_runtime.connectors.openapi_monitor.catalogue import (
    API_TYPES,
    DIGEST_PROPERTY,
    UNDER_API_TYPES,
    catalogue_api,
)
from metaferry_runtime.connectors.openapi_monitor.fetching import Fetcher
from metaferry_runtime.connectors.openapi_monitor.messages import OpenAPIMonitorMessages
from metaferry_runtime.connectors.openapi_monitor.reading import read_document
from metaferry_runtime.connectors.openapi_monitor.settings import OpenAPIMonitorSettings
from metaferry_runtime.connectors.openapi_monitor.sources import FetchedDocument, Sources
from metaferry_runtime.connectors.openapi_monitor.validating import problems_of
from metaferry_runtime.sdk import (
    ConnectorConfigurationError,
    ConnectorError,
    Diagnosis,
    IntegrationConnector,
)
from metaferry_runtime.sdk.contexts.api import APIIntegratorContext
from metaferry_runtime.sdk.http import SourceUnavailable, Validators, is_http, origin


class Remembered(BaseModel):
    """What the last refresh read of a document: its validators, and the names it catalogued."""

    model_config = ConfigDict(frozen=True)

    validators: Validators
    api: str
    names: tuple[str, ...]


class OpenAPIMonitorConnector(IntegrationConnector[APIIntegratorContext]):
    """Catalogues OpenAPI documents as Egeria does: DeployedAPI, Endpoints, APIOperations, parameters, tags."""

    integration_service = "api"
    configuration_model = OpenAPIMonitorSettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = OpenAPIMonitorSettings()
        self._fetcher: Fetcher | None = None
        self._sources: Sources | None = None
        self._memory: dict[str, Remembered] = {}

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._configure()
        self.audit_log.log_message(
            "start",
            OpenAPIMonitorMessages.STARTED,
            connector_name=self.connector_name,
            targets=", ".join(self.targets),
        )

    def refresh(self) -> None:
        sources = self._ready()
        failed: list[str] = []
        changed: list[str] = []  # the APIs of the documents read in full this refresh
        unchanged: list[Remembered] = []
        not_modified = 0
        seen: set[str] = set()
        for target in self.targets:
            try:
                for document in sources.documents(target, self._validators_for):
                    seen.add(document.url)
                    remembered = self._unchanged(document)
                    if remembered is not None:
                        unchanged.append(remembered)
                        not_modified += document.not_modified
                    else:
                        if document.not_modified:  # what was remembered is not what the repository holds
                            document = sources.fetch_again(document.url, document.group)
                        changed.append(self._catalogue(document))
            except SourceUnavailable as error:
                failed.append(str(error))
                self.audit_log.log_message(
                    "refresh",
                    OpenAPIMonitorMessages.TARGET_FAILED,
                    connector_name=self.connector_name,
                    target=target,
                    reason=str(error),
                )
        if len(failed) == len(self.targets):
            raise ConnectorError(f"no target could be catalogued, nothing was archived: {'; '.join(failed)}")
        if unchanged:
            self.audit_log.log_message(
                "refresh",
                OpenAPIMonitorMessages.UNCHANGED,
                connector_name=self.connector_name,
                count=len(unchanged),
                not_modified=not_modified,
            )
        if not failed:  # a per-group URL of an index changes with its content (?hash=): forget the old ones
            self._memory = {url: remembered for url, remembered in self._memory.items() if url in seen}
        self._detect_deletions(changed=changed, unchanged=unchanged, complete=not failed)

    def _detect_deletions(self, *, changed: list[str], unchanged: list[Remembered], complete: bool) -> None:
        """What each changed document no longer has is archived; an unchanged one lost nothing. When every
        target answered and the APIs served differ from those held (a document went, or changed title or
        version), everything not seen this refresh is archived. Why not always the latter: it needs every
        element marked as seen, which costs more than the 304s of an unchanged refresh."""
        served = {*changed, *(remembered.api for remembered in unchanged)}
        held = {api.qualified_name for api in self.context.get_my_apis()}
        if complete and served != held:
            for remembered in unchanged:
                self.context.mark_observed_by_names(remembered.names)
            self.context.detect_deletions(type_names=(*API_TYPES, *UNDER_API_TYPES))
            return
        for api in dict.fromkeys(changed):
            self.context.detect_deletions(type_names=UNDER_API_TYPES, scope_prefix=f"{api}::")

    def disconnect(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
        self._fetcher = self._sources = None

    def diagnose(self) -> list[Diagnosis]:
        """One step per target: where its documents are and how many."""
        sources = self._ready()
        steps = []
        for target in self.targets:
            try:
                documents = sources.documents(target, lambda url: None)
            except SourceUnavailable as error:
                steps.append(Diagnosis(f"target {target}", False, str(error)))
                continue
            found = ", ".join(document.url for document in documents[:3]) + (" ..." if len(documents) > 3 else "")
            steps.append(Diagnosis(f"target {target}", True, f"{len(documents)} documents: {found}"))
        return steps

    # --- one document -----------------------------------------------------------------------------------------
    def _unchanged(self, document: FetchedDocument) -> Remembered | None:
        """What was remembered of the document when it is unchanged (a 304, or the same body) and the
        repository holds that very version (the digest on its DeployedAPI): a refresh that rolled back
        leaves memory the repository does not have, and then the document is read again."""
        remembered = self._memory.get(document.url)
        if remembered is None:
            return None
        if document.not_modified or document.fetched.digest == remembered.validators.digest:
            api = self.context.get_api_by_qualified_name(remembered.api)
            held = (api.properties.get("additionalProperties") or {}).get(DIGEST_PROPERTY) if api else None
            if held == remembered.validators.digest:
                if not document.not_modified:  # the same body, maybe with new validators
                    self._memory[document.url] = remembered.model_copy(
                        update={"validators": document.fetched.validators()}
                    )
                return remembered
        del self._memory[document.url]
        return None

    def _catalogue(self, document: FetchedDocument) -> str:
        """Validate, read and catalogue the document; returns its API's qualified name."""
        value = document.value()
        handlers = self._handlers(document.url)
        count, problems = problems_of(
            value,
            url=document.url,
            handlers=handlers,
            level=self._settings.validation,
            limit=self._settings.max_reported_problems,
        )
        reading = read_document(value, url=document.url, handlers=handlers, group=document.group)
        definition = reading.definition
        if count:
            self.audit_log.log_message(
                "refresh",
                OpenAPIMonitorMessages.INVALID_DOCUMENT,
                url=document.url,
                count=count,
                version=definition.specification,
                problems="; ".join(problems),
            )
        if reading.problems:
            self.audit_log.log_message(
                "refresh",
                OpenAPIMonitorMessages.UNREADABLE_PARTS,
                url=document.url,
                count=len(reading.problems),
                problems="; ".join(reading.problems[: self._settings.max_reported_problems]),
            )
        outcome = catalogue_api(self.context, definition, digest=document.fetched.digest)
        self.audit_log.log_message(
            "refresh",
            OpenAPIMonitorMessages.CATALOGUED,
            connector_name=self.connector_name,
            api=outcome.api,
            url=document.url,
            operations=outcome.operations,
            parameters=outcome.parameters,
        )
        self._memory[document.url] = Remembered(
            validators=document.fetched.validators(), api=outcome.api, names=tuple(outcome.names)
        )
        return outcome.api

    # --- helpers ----------------------------------------------------------------------------------------------
    @property
    def targets(self) -> tuple[str, ...]:
        """The endpoint, then the catalog targets, without repeats."""
        endpoint = [self.connection.endpoint] if self.connection.endpoint else []
        return tuple(dict.fromkeys([*endpoint, *_catalog_target_names(self.context)]))

    def _configure(self) -> None:
        self._settings = self.configuration
        if not self.targets:
            raise ConnectorConfigurationError(
                "openapi-monitor needs connection.endpoint or catalogTargets: document URLs, base URLs or files"
            )
        for target in self.targets:
            if is_http(target) and (urlsplit(target).username or urlsplit(target).password):
                raise ConnectorConfigurationError(
                    f"the target {origin(target)}... holds credentials: put them in the Secret named by secretRef"
                    " (token, or username and password)"
                )
        if self._settings.ca_file is not None and not _readable(self._settings.ca_file):
            raise ConnectorConfigurationError(f"caFile {self._settings.ca_file} cannot be read")
        if self._fetcher is None:
            origins = {origin(target) for target in self.targets if is_http(target)}
            self._fetcher = Fetcher(settings=self._settings, connection=self.connection, origins=origins)
            self._sources = Sources(fetcher=self._fetcher, well_known_paths=self._settings.well_known_paths)

    def _ready(self) -> Sources:
        if self._sources is None:
            self._configure()
        assert self._sources is not None
        return self._sources

    def _validators_for(self, url: str) -> Validators | None:
        remembered = self._memory.get(url)
        return remembered.validators if remembered is not None else None

    def _handlers(self, document_url: str) -> ResolverHandlers:
        """How jsonschema-path fetches an external `$ref`: through the connector's own fetcher (timeouts, size
        limit, credentials only to the named servers). A document served over HTTP may not make the
        connector read the files of the machine it runs on."""
        assert self._fetcher is not None
        fetch = self._fetcher.get_json
        return {"http": fetch, "https": fetch, "file": _refuse_files if is_http(document_url) else fetch}


def _catalog_target_names(context: APIIntegratorContext) -> list[str]:
    """The resource's catalogTargets' names: document URLs, base URLs or files (the one place that reads them)."""
    return [target.name for target in context.get_catalog_targets()]


def _refuse_files(uri: str) -> Any:
    raise ValueError(f"{uri}: a document fetched over HTTP cannot refer to local files")


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False
