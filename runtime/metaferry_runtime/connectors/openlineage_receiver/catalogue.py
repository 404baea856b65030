"""What OpenLineage events become in open metadata, through the lineage context's public operations.

- a job is a Process (`openlineage:job:<namespace>/<name>`) with its facets: documentation as description,
  sql as formula, sourceCode's language as implementationLanguage, sourceCode, sourceCodeLocation and jobType
  in additionalProperties; a RunEvent also gives it its latest run and a bounded run history (`runs.py`);
- a dataset is the element its natural name names (`dataset_qualified_name`: a table the postgres-schema
  connector catalogued, a file the directory monitor catalogued), or else a DataSet of ours named
  `openlineage:<natural name>`, with its schema facet's fields as TabularColumns;
- DataFlow links each input to the Process and the Process to each output; a parent run facet nests the
  Process under its parent's (ProcessHierarchy); a columnLineage facet links columns by LineageMapping.

Every rule is a union or a join, so the same event twice changes nothing and the order of events does not
matter: links only accumulate, run records merge (`runs.py`), and job facets are taken from the latest event
that carried them. A DataSet of ours whose natural name another source has catalogued since is folded into
that element (links moved, ours archived) by `adopt_catalogued_datasets`, which each refresh runs.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from metaferry_runtime.connectors.openlineage_receiver.runs import bounded, history_from, history_text, merged, utc_time
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


class LineageCatalogue:
    """Applies events through one lineage context; call it inside one transaction (a refresh or a batch)."""

    def __init__(self, context: LineageIntegratorContext, *, run_history: int) -> None:
        self.context = context
        self.run_history = run_history
        self.source = context.get_metadata_source_qualified_name()

    def apply(self, event: LineageEvent) -> None:
        if isinstance(event, DatasetEvent):
            self._dataset(event.dataset.namespace, event.dataset.name, event.dataset.facets or {})
            return
        event_time = utc_time(event.eventTime)
        process_guid = self._process(event.job, event_time, event if isinstance(event, RunEvent) else None)
        if process_guid is None:
            return
        for source in event.inputs or []:
            self.context.setup_data_flow(self._dataset_of(source).guid, process_guid)
        for target in event.outputs or []:
            self.context.setup_data_flow(process_guid, self._dataset_of(target).guid)
        for target in event.outputs or []:
            lineage = (target.facets or {}).get("columnLineage")
            if isinstance(lineage, column_lineage_dataset.ColumnLineageDatasetFacet):
                self._column_lineage(target, lineage)

    # --- jobs -------------------------------------------------------------------------------------------------
    def _process(self, job: Job, event_time: str, run_event: RunEvent | None) -> str | None:
        qualified_name = job_qualified_name(job.namespace, job.name)
        existing = self.context.get_process_by_qualified_name(qualified_name)
        if existing is not None and existing.metadata_collection != self.source:
            return existing.guid  # another source's process: linked, never changed
        properties = dict(existing.properties) if existing is not None else {}
        extra = dict(properties.get("additionalProperties") or {})
        properties.update({"name": job.name, "deployedImplementationType": "OpenLineage job"})
        extra.update({"openLineageNamespace": job.namespace, "openLineageJobName": job.name})
        facets = job.facets or {}
        if facets and event_time >= extra.get(FACETS_TIME, ""):
            _job_facets(facets, properties, extra)
            extra[FACETS_TIME] = event_time
        if run_event is not None:
            self._run(run_event, event_time, extra)
        properties["additionalProperties"] = extra
        element, _ = self.context.upsert_process(qualified_name, properties)
        if run_event is not None:
            parent = (run_event.run.facets or {}).get("parent")
            if isinstance(parent, parent_run.ParentRunFacet):
                self._parent(parent, element.guid)
        return element.guid

    def _run(self, event: RunEvent, event_time: str, extra: dict[str, Any]) -> None:
        history = history_from(extra.get(RUNS))
        error = (event.run.facets or {}).get("errorMessage")
        history[event.run.runId] = merged(
            history.get(event.run.runId),
            run_id=event.run.runId,
            state=event.eventType.value if event.eventType is not None else "OTHER",
            event_time=event_time,
            error=error.message if isinstance(error, error_message_run.ErrorMessageRunFacet) else None,
        )
        runs = bounded(history, self.run_history)
        latest = runs[0]
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

    def _parent(self, parent: parent_run.ParentRunFacet, child_guid: str) -> None:
        qualified_name = job_qualified_name(parent.job.namespace, parent.job.name)
        existing = self.context.get_process_by_qualified_name(qualified_name)
        if existing is None:
            parent_guid = self.context.upsert_process(
                qualified_name,
                {
                    "name": parent.job.name,
                    "deployedImplementationType": "OpenLineage job",
                    "additionalProperties": {
                        "openLineageNamespace": parent.job.namespace,
                        "openLineageJobName": parent.job.name,
                    },
                },
            )[0].guid
        else:
            parent_guid = existing.guid
        self.context.setup_process_parent(parent_guid, child_guid, {"containmentType": "OWNED"})

    # --- datasets ---------------------------------------------------------------------------------------------
    def _dataset_of(self, dataset: InputDataset | OutputDataset) -> _Dataset:
        return self._dataset(dataset.namespace, dataset.name, dataset.facets or {})

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
                    column_qualified_name(qualified_name, field.name),
                    {
                        "name": field.name,
                        "position": position,
                        **({"dataType": field.type} if field.type else {}),
                        **({"description": field.description} if field.description else {}),
                    },
                    "TabularColumn",
                )
                for position, field in enumerate(schema.fields, start=1)
            ]
            self.context.upsert_data_set_columns(columns, parent_guid=element.guid)
        return _Dataset(element.guid, qualified_name, ours=True)

    def _catalogued_elsewhere(self, natural: str) -> Element | None:
        """The element another connector catalogued under the natural name (ours carry the proxy prefix)."""
        return self.context.get_lineage_element_by_qualified_name(natural)

    # --- column lineage ---------------------------------------------------------------------------------------
    def _column_lineage(self, target: OutputDataset, facet: column_lineage_dataset.ColumnLineageDatasetFacet) -> None:
        target_dataset = self._dataset(target.namespace, target.name, {})
        for column, lineage in facet.fields.items():
            target_guid = self._column(target_dataset, column)
            if target_guid is None:
                continue
            for source in lineage.inputFields:
                source_guid = self._column(self._dataset(source.namespace, source.name, {}), source.field)
                if source_guid is not None:
                    self.context.setup_lineage_mapping(
                        source_guid,
                        target_guid,
                        {"description": lineage.transformationDescription} if lineage.transformationDescription else {},
                    )

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
