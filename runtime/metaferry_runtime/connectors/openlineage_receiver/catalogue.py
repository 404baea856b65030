"""What OpenLineage events become in open metadata, through the lineage context's public operations.

- a job is a Process (`openlineage:job:<namespace>/<name>`) with its facets: documentation as description,
  sql as formula, sourceCode's language as implementationLanguage, sourceCode, sourceCodeLocation and jobType
  in additionalProperties; a RunEvent also gives it its latest run and a bounded run history (`runs.py`);
- a dataset is the element its natural name names (`dataset_qualified_name`: a table the postgres-schema
  connector catalogued, a file the directory monitor catalogued), or else a DataSet of ours named
  `openlineage:<natural name>`, with its schema facet's fields as TabularColumns;
- DataFlow links each input to the Process and the Process to each output; a parent run facet nests the
  Process under its parent's (ProcessHierarchy); a columnLineage facet links columns by LineageMapping.

Events are gathered per batch (`apply`) and written once (`flush`), so a job seen in many events of a burst
costs one upsert. Every rule is a union or a join, so the same event twice changes nothing and the order of
events does not matter: links only accumulate, run records merge (`runs.py`), and job facets are taken from
the latest event that carried them. A DataSet of ours whose natural name another source has catalogued since
is folded into that element (links moved, ours archived) by `adopt_catalogued_datasets`, which each refresh
runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openlineage.client.event_v2 import DatasetEvent, InputDataset, Job, OutputDataset, RunEvent
from openlineage.client.generated import (
    column_lineage_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    parent_run,
    schema_dataset,
    source_code_job,
    source_code_location_job,
    sql_job,
)

from metaferry_runtime.connectors.openlineage_receiver.events import LineageEvent
from metaferry_runtime.connectors.openlineage_receiver.runs import (
    RunRecord,
    bounded,
    history_from,
    history_text,
    merged,
    utc_time,
)
from metaferry_runtime.sdk import Element, ElementUpsert
from metaferry_runtime.sdk.contexts.lineage import (
    DATASET_PROXY_PREFIX,
    LineageIntegratorContext,
    column_qualified_name,
    dataset_qualified_name,
    job_qualified_name,
)

#: additionalProperties key of the event time the Process's job facets come from.
FACETS_TIME = "openLineageFacetsTime"
RUNS = "openLineageRuns"


@dataclass(frozen=True)
class _Dataset:
    guid: str
    qualified_name: str  # ours (`openlineage:...`) or the other source's natural name
    ours: bool


@dataclass
class _Job:
    """A Process as the events of one batch leave it, written once by `flush()`."""

    existing: Element | None
    properties: dict[str, Any]
    extra: dict[str, Any]
    foreign_source: bool = False  # another source's process: linked, never changed
    parents: set[tuple[str, str]] = field(default_factory=set)
    runs: dict[str, RunRecord] | None = None  # the run history, read once per batch when a RunEvent comes


_DatasetKey = tuple[str, str]  # (namespace, name)
_Ref = tuple[str, str | _DatasetKey]  # ("job", qualified name) or ("dataset", key)


class LineageCatalogue:
    """Gathers what a batch of events says (`apply`), then writes it (`flush`), inside the caller's one
    transaction (a refresh or a change batch): a job seen in a hundred events of a batch costs one upsert."""

    def __init__(self, context: LineageIntegratorContext, *, run_history: int) -> None:
        self.context = context
        self.run_history = run_history
        self.source = context.get_metadata_source_qualified_name()
        self._jobs: dict[str, _Job] = {}
        self._datasets: dict[_DatasetKey, dict[str, Any]] = {}
        self._flows: dict[tuple[_Ref, _Ref], None] = {}
        self._column_lineage: dict[tuple[_DatasetKey, str, _DatasetKey, str], str | None] = {}
        self._resolved: dict[_DatasetKey, _Dataset] = {}  # datasets written by this catalogue's flushes

    # --- gathering ---------------------------------------------------------------------------------------------
    def apply(self, event: LineageEvent) -> None:
        if isinstance(event, DatasetEvent):
            self._note_dataset(event.dataset.namespace, event.dataset.name, event.dataset.facets or {})
            return
        event_time = utc_time(event.eventTime)
        job = self._note_job(event.job, event_time, event if isinstance(event, RunEvent) else None)
        for source in event.inputs or []:
            self._flows[(("dataset", self._note_dataset_of(source)), ("job", job))] = None
        for target in event.outputs or []:
            self._flows[(("job", job), ("dataset", self._note_dataset_of(target)))] = None
            lineage = (target.facets or {}).get("columnLineage")
            if isinstance(lineage, column_lineage_dataset.ColumnLineageDatasetFacet):
                for column, fields in lineage.fields.items():
                    for source_field in fields.inputFields:
                        source_key = (source_field.namespace, source_field.name)
                        self._datasets.setdefault(source_key, {})
                        key = (source_key, source_field.field, (target.namespace, target.name), column)
                        self._column_lineage[key] = fields.transformationDescription

    def _note_job(self, job: Job, event_time: str, run_event: RunEvent | None) -> str:
        qualified_name = job_qualified_name(job.namespace, job.name)
        state = self._jobs.get(qualified_name)
        if state is None:
            existing = self.context.get_process_by_qualified_name(qualified_name)
            properties = dict(existing.properties) if existing is not None else {}
            state = self._jobs[qualified_name] = _Job(
                existing=existing,
                properties=properties,
                extra=dict(properties.get("additionalProperties") or {}),
                foreign_source=existing is not None and existing.metadata_collection != self.source,
            )
        if state.foreign_source:
            return qualified_name  # another source's process: linked, never changed
        state.properties.update({"name": job.name, "deployedImplementationType": "OpenLineage job"})
        state.extra.update({"openLineageNamespace": job.namespace, "openLineageJobName": job.name})
        facets = job.facets or {}
        if facets and event_time >= state.extra.get(FACETS_TIME, ""):
            _job_facets(facets, state.properties, state.extra)
            state.extra[FACETS_TIME] = event_time
        if run_event is not None:
            self._run(run_event, event_time, state)
            parent = (run_event.run.facets or {}).get("parent")
            if isinstance(parent, parent_run.ParentRunFacet):
                state.parents.add((parent.job.namespace, parent.job.name))
        return qualified_name

    def _run(self, event: RunEvent, event_time: str, job: _Job) -> None:
        if job.runs is None:
            job.runs = history_from(job.extra.get(RUNS))
        error = (event.run.facets or {}).get("errorMessage")
        job.runs[event.run.runId] = merged(
            job.runs.get(event.run.runId),
            run_id=event.run.runId,
            state=event.eventType.value if event.eventType is not None else "OTHER",
            event_time=event_time,
            error=error.message if isinstance(error, error_message_run.ErrorMessageRunFacet) else None,
        )

    def _runs_into(self, job: _Job) -> None:
        """The batch's run history, bounded, and its latest run, into the Process's additionalProperties."""
        assert job.runs is not None
        runs = bounded(job.runs, self.run_history)
        extra, latest = job.extra, runs[0]
        extra[RUNS] = history_text(runs)
        extra["latestRunId"] = latest.run_id
        extra["latestRunState"] = latest.state
        extra["latestRunEventTime"] = latest.last_event_time
        for key, value in (
            ("latestRunStartTime", latest.start_time),
            ("latestRunEndTime", latest.end_time),
            ("latestRunError", latest.error),
        ):
            if value is None:
                extra.pop(key, None)
            else:
                extra[key] = value

    def _note_dataset_of(self, dataset: InputDataset | OutputDataset) -> _DatasetKey:
        return self._note_dataset(dataset.namespace, dataset.name, dataset.facets or {})

    def _note_dataset(self, namespace: str, name: str, facets: dict[str, Any]) -> _DatasetKey:
        noted = self._datasets.setdefault((namespace, name), {})
        noted.update({key: facets[key] for key in ("documentation", "schema") if key in facets})
        return (namespace, name)

    # --- writing -----------------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what the events since the last flush said."""
        datasets = {key: self._resolve(key, facets) for key, facets in self._datasets.items()}
        jobs = {qualified_name: self._process(qualified_name, job) for qualified_name, job in self._jobs.items()}
        for supplier, consumer in self._flows:
            self.context.setup_data_flow(self._guid(supplier, jobs, datasets), self._guid(consumer, jobs, datasets))
        for (source_key, source_column, target_key, target_column), description in self._column_lineage.items():
            target_guid = self._column(datasets[target_key], target_column)
            source_guid = self._column(datasets[source_key], source_column)
            if target_guid is not None and source_guid is not None:
                self.context.setup_lineage_mapping(
                    source_guid, target_guid, {"description": description} if description else {}
                )
        self._jobs, self._datasets, self._flows, self._column_lineage = {}, {}, {}, {}

    @staticmethod
    def _guid(ref: _Ref, jobs: dict[str, str], datasets: dict[_DatasetKey, _Dataset]) -> str:
        kind, key = ref
        if kind == "job":
            assert isinstance(key, str)
            return jobs[key]
        assert isinstance(key, tuple)
        return datasets[key].guid

    def _process(self, qualified_name: str, job: _Job) -> str:
        if job.foreign_source:
            assert job.existing is not None
            return job.existing.guid
        if job.runs is not None:
            self._runs_into(job)
        job.properties["additionalProperties"] = job.extra
        element, _ = self.context.upsert_process(qualified_name, job.properties)
        for namespace, name in sorted(job.parents):
            self._parent(namespace, name, element.guid)
        return element.guid

    def _parent(self, namespace: str, name: str, child_guid: str) -> None:
        qualified_name = job_qualified_name(namespace, name)
        existing = self.context.get_process_by_qualified_name(qualified_name)
        if existing is None:
            parent_guid = self.context.upsert_process(
                qualified_name,
                {
                    "name": name,
                    "deployedImplementationType": "OpenLineage job",
                    "additionalProperties": {"openLineageNamespace": namespace, "openLineageJobName": name},
                },
            )[0].guid
        else:
            parent_guid = existing.guid
        self.context.setup_process_parent(parent_guid, child_guid, {"containmentType": "OWNED"})

    def _resolve(self, key: _DatasetKey, facets: dict[str, Any]) -> _Dataset:
        """The dataset's element; one this catalogue wrote already, and events said nothing new of, is reused."""
        if not facets and key in self._resolved:
            return self._resolved[key]
        self._resolved[key] = self._dataset(*key, facets)
        return self._resolved[key]

    def _dataset(self, namespace: str, name: str, facets: dict[str, Any]) -> _Dataset:
        natural = dataset_qualified_name(namespace, name)
        known = self._catalogued_elsewhere(natural)
        if known is not None:
            return _Dataset(known.guid, natural, ours=False)
        qualified_name = DATASET_PROXY_PREFIX + natural
        existing = self.context.get_lineage_element_by_qualified_name(qualified_name)
        properties = dict(existing.properties) if existing is not None else {}
        properties["name"] = name
        properties["additionalProperties"] = {"openLineageNamespace": namespace, "openLineageName": name}
        documentation = facets.get("documentation")
        if isinstance(documentation, documentation_dataset.DocumentationDatasetFacet):
            properties["description"] = documentation.description
        element, _ = self.context.upsert_data_asset(qualified_name, properties, type_name="DataSet")
        schema = facets.get("schema")
        if isinstance(schema, schema_dataset.SchemaDatasetFacet) and schema.fields:
            columns = [
                ElementUpsert(
                    column_qualified_name(qualified_name, column.name),
                    {
                        "name": column.name,
                        "position": position,
                        **({"dataType": column.type} if column.type else {}),
                        **({"description": column.description} if column.description else {}),
                    },
                    "TabularColumn",
                )
                for position, column in enumerate(schema.fields, start=1)
            ]
            self.context.upsert_data_set_columns(columns, parent_guid=element.guid)
        return _Dataset(element.guid, qualified_name, ours=True)

    def _catalogued_elsewhere(self, natural: str) -> Element | None:
        """The element another connector catalogued under the natural name (ours carry the proxy prefix)."""
        return self.context.get_lineage_element_by_qualified_name(natural)

    def _column(self, dataset: _Dataset, column: str) -> str | None:
        """The column's element; one of ours is created on our DataSet, another source's must exist already."""
        qualified_name = column_qualified_name(dataset.qualified_name, column)
        found = self.context.get_lineage_element_by_qualified_name(qualified_name)
        if found is not None:
            return found.guid
        if not dataset.ours:
            return None
        ((guid, _),) = self.context.upsert_data_set_columns(
            [ElementUpsert(qualified_name, {"name": column}, "TabularColumn")], parent_guid=dataset.guid
        )
        return guid

    # --- adopting what other sources catalogued since ---------------------------------------------------------
    def adopt_catalogued_datasets(self) -> int:
        """Fold each DataSet of ours whose natural name another source now catalogues into that element:
        its data flows and column mappings move over and ours is archived. Returns how many were folded."""
        folded = 0
        for proxy in self.context.get_my_data_assets():
            if not proxy.qualified_name.startswith(DATASET_PROXY_PREFIX) or proxy.type_name != "DataSet":
                continue
            natural = proxy.qualified_name.removeprefix(DATASET_PROXY_PREFIX)
            known = self._catalogued_elsewhere(natural)
            if known is None:
                continue
            self._move_flows(proxy.guid, known.guid)
            for column in self.context.get_data_set_columns(proxy.guid):
                name = column.qualified_name.removeprefix(proxy.qualified_name + "#")
                theirs = self.context.get_lineage_element_by_qualified_name(column_qualified_name(natural, name))
                if theirs is not None:
                    self._move_mappings(column.guid, theirs.guid)
                self.context.remove_data_set_column(column.guid)
            self.context.remove_data_asset(proxy.guid)
            folded += 1
        return folded

    def _move_flows(self, old: str, new: str) -> None:
        for consumer in self.context.get_data_flow_consumers(old):
            self.context.setup_data_flow(new, consumer.guid)
            self.context.clear_data_flow(old, consumer.guid)
        for supplier in self.context.get_data_flow_suppliers(old):
            self.context.setup_data_flow(supplier.guid, new)
            self.context.clear_data_flow(supplier.guid, old)

    def _move_mappings(self, old: str, new: str) -> None:
        for target in self.context.get_destination_lineage_mappings(old):
            self.context.setup_lineage_mapping(new, target.guid)
            self.context.clear_lineage_mapping(old, target.guid)
        for source in self.context.get_source_lineage_mappings(old):
            self.context.setup_lineage_mapping(source.guid, new)
            self.context.clear_lineage_mapping(source.guid, old)


def _job_facets(facets: dict[str, Any], properties: dict[str, Any], extra: dict[str, Any]) -> None:
    documentation = facets.get("documentation")
    if isinstance(documentation, documentation_job.DocumentationJobFacet):
        properties["description"] = documentation.description
    sql = facets.get("sql")
    if isinstance(sql, sql_job.SQLJobFacet):
        properties["formula"] = sql.query
        properties["formulaType"] = f"SQL ({sql.dialect})" if sql.dialect else "SQL"
    code = facets.get("sourceCode")
    if isinstance(code, source_code_job.SourceCodeJobFacet):
        properties["implementationLanguage"] = code.language
        extra["sourceCode"] = code.sourceCode
    location = facets.get("sourceCodeLocation")
    if isinstance(location, source_code_location_job.SourceCodeLocationJobFacet):
        extra["sourceCodeLocation"] = location.url
        extra["sourceCodeLocationType"] = location.type
    job_type = facets.get("jobType")
    if isinstance(job_type, job_type_job.JobTypeJobFacet):
        extra["processingType"] = job_type.processingType
        extra["integration"] = job_type.integration
        if job_type.jobType:
            extra["jobType"] = job_type.jobType
