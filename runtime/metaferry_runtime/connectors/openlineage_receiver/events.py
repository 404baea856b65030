"""Validating OpenLineage events: a JSON document in, the `openlineage-python` model out, or the wrong field.

The receiver accepts the three events of the current spec, told apart as the spec does: a RunEvent has `run`
and `job`, a JobEvent `job` without `run`, a DatasetEvent `dataset`. Each is built as the client's own model
(`openlineage.client.event_v2`), whose validators check what the spec requires (a UUID run id, an ISO event time
with a time part, a known eventType); this module adds the type checks the models leave out and names the
field of every problem (`run.runId`, `outputs[0].facets.schema.fields[2].name`), so a producer can fix it.

Facets the catalogue uses are built as the client's facet models (documentation, sourceCode,
sourceCodeLocation, sql, jobType, parent, errorMessage, schema, columnLineage); any other facet, a producer's
custom ones included, is ignored, so a new facet never breaks intake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
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

LineageEvent = RunEvent | JobEvent | DatasetEvent
T = TypeVar("T")


class InvalidEvent(ValueError):
    """An event the spec refuses; `field` is the dotted path of the wrong field ("" for the document)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


def parse_event(document: object) -> LineageEvent:
    """The event as the client's model; InvalidEvent names the wrong field."""
    if not isinstance(document, Mapping):
        raise InvalidEvent("", f"an event must be a JSON object, not {_kind(document)}")
    common = {"eventTime": _text(document, "eventTime"), "producer": _text(document, "producer")}
    if "run" in document:
        run = _object(document, "run", "run")
        state = _optional_text(document, "eventType")
        return _built(
            "",
            lambda: RunEvent(
                **common,
                run=_run(run),
                job=_job(_object(document, "job", "job"), "job"),
                eventType=_built("eventType", lambda: RunState(state.upper())) if state else None,
                inputs=_datasets(document, "inputs", InputDataset),
                outputs=_datasets(document, "outputs", OutputDataset),
            ),
        )
    if "job" in document:
        return _built(
            "",
            lambda: JobEvent(
                **common,
                job=_job(_object(document, "job", "job"), "job"),
                inputs=_datasets(document, "inputs", InputDataset),
                outputs=_datasets(document, "outputs", OutputDataset),
            ),
        )
    if "dataset" in document:
        dataset = _object(document, "dataset", "dataset")
        return _built(
            "",
            lambda: DatasetEvent(
                **common,
                dataset=StaticDataset(
                    namespace=_text(dataset, "namespace", "dataset"),
                    name=_text(dataset, "name", "dataset"),
                    facets=_dataset_facets(dataset, "dataset"),
                ),
            ),
        )
    raise InvalidEvent("run", "missing: a RunEvent needs run and job, a JobEvent job, a DatasetEvent dataset")


def parse_events(documents: object) -> list[LineageEvent]:
    """A batch (a JSON array of events); the first wrong event's field is named with its index."""
    if not isinstance(documents, Sequence) or isinstance(documents, str | bytes):
        raise InvalidEvent("", f"a batch must be a JSON array of events, not {_kind(documents)}")
    events = []
    for index, document in enumerate(documents):
        try:
            events.append(parse_event(document))
        except InvalidEvent as error:
            raise InvalidEvent(f"[{index}]" + (f".{error.field}" if error.field else ""), error.problem) from None
    return events


# --- the parts of an event ---------------------------------------------------------------------------------------
def _run(run: Mapping[str, Any]) -> Run:
    run_id = _text(run, "runId", "run")
    facets = _object(run, "facets", "run.facets", optional=True)
    built: dict[str, Any] = {}
    parent = _object(facets, "parent", "run.facets.parent", optional=True)
    if parent:
        job = _object(parent, "job", "run.facets.parent.job")
        parent_run_object = _object(parent, "run", "run.facets.parent.run")
        built["parent"] = _built(
            "run.facets.parent",
            lambda: parent_run.ParentRunFacet(
                run=parent_run.Run(runId=_text(parent_run_object, "runId", "run.facets.parent.run")),
                job=parent_run.Job(
                    namespace=_text(job, "namespace", "run.facets.parent.job"),
                    name=_text(job, "name", "run.facets.parent.job"),
                ),
            ),
        )
    error = _object(facets, "errorMessage", "run.facets.errorMessage", optional=True)
    if error:
        where = "run.facets.errorMessage"
        built["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=_text(error, "message", where),
            programmingLanguage=_text(error, "programmingLanguage", where),
            stackTrace=_optional_text(error, "stackTrace", where),
        )
    return _built("run.runId", lambda: Run(runId=run_id, facets=built))


def _job(job: Mapping[str, Any], where: str) -> Job:
    facets = _object(job, "facets", f"{where}.facets", optional=True)
    built: dict[str, Any] = {}
    at = f"{where}.facets"
    if documentation := _object(facets, "documentation", f"{at}.documentation", optional=True):
        built["documentation"] = documentation_job.DocumentationJobFacet(
            description=_text(documentation, "description", f"{at}.documentation")
        )
    if code := _object(facets, "sourceCode", f"{at}.sourceCode", optional=True):
        built["sourceCode"] = source_code_job.SourceCodeJobFacet(
            language=_text(code, "language", f"{at}.sourceCode"),
            sourceCode=_text(code, "sourceCode", f"{at}.sourceCode"),
        )
    if location := _object(facets, "sourceCodeLocation", f"{at}.sourceCodeLocation", optional=True):
        built["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type=_text(location, "type", f"{at}.sourceCodeLocation"),
            url=_text(location, "url", f"{at}.sourceCodeLocation"),
        )
    if sql := _object(facets, "sql", f"{at}.sql", optional=True):
        built["sql"] = sql_job.SQLJobFacet(
            query=_text(sql, "query", f"{at}.sql"), dialect=_optional_text(sql, "dialect", f"{at}.sql")
        )
    if job_type := _object(facets, "jobType", f"{at}.jobType", optional=True):
        built["jobType"] = job_type_job.JobTypeJobFacet(
            processingType=_text(job_type, "processingType", f"{at}.jobType"),
            integration=_text(job_type, "integration", f"{at}.jobType"),
            jobType=_optional_text(job_type, "jobType", f"{at}.jobType"),
        )
    return Job(namespace=_text(job, "namespace", where), name=_text(job, "name", where), facets=built)


def _datasets(document: Mapping[str, Any], key: str, model: Callable[..., T]) -> list[T]:
    items = document.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidEvent(key, f"must be an array, not {_kind(items)}")
    datasets = []
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidEvent(where, f"must be an object, not {_kind(item)}")
        datasets.append(
            model(
                namespace=_text(item, "namespace", where),
                name=_text(item, "name", where),
                facets=_dataset_facets(item, where),
            )
        )
    return datasets


def _dataset_facets(dataset: Mapping[str, Any], where: str) -> dict[str, Any]:
    at = f"{where}.facets"
    facets = _object(dataset, "facets", at, optional=True)
    built: dict[str, Any] = {}
    if documentation := _object(facets, "documentation", f"{at}.documentation", optional=True):
        built["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=_text(documentation, "description", f"{at}.documentation")
        )
    if schema := _object(facets, "schema", f"{at}.schema", optional=True):
        built["schema"] = schema_dataset.SchemaDatasetFacet(fields=_schema_fields(schema, f"{at}.schema"))
    if lineage := _object(facets, "columnLineage", f"{at}.columnLineage", optional=True):
        built["columnLineage"] = _column_lineage(lineage, f"{at}.columnLineage")
    return built


def _schema_fields(schema: Mapping[str, Any], where: str) -> list[schema_dataset.SchemaDatasetFacetFields]:
    fields = schema.get("fields") or []
    if not isinstance(fields, list):
        raise InvalidEvent(f"{where}.fields", f"must be an array, not {_kind(fields)}")
    out = []
    for index, field in enumerate(fields):
        at = f"{where}.fields[{index}]"
        if not isinstance(field, Mapping):
            raise InvalidEvent(at, f"must be an object, not {_kind(field)}")
        out.append(
            schema_dataset.SchemaDatasetFacetFields(
                name=_text(field, "name", at),
                type=_optional_text(field, "type", at),
                description=_optional_text(field, "description", at),
                fields=_schema_fields(field, at) if field.get("fields") else [],
            )
        )
    return out


def _column_lineage(facet: Mapping[str, Any], where: str) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    fields = _object(facet, "fields", f"{where}.fields")
    out: dict[str, column_lineage_dataset.Fields] = {}
    for column, lineage in fields.items():
        at = f"{where}.fields.{column}"
        if not isinstance(lineage, Mapping):
            raise InvalidEvent(at, f"must be an object, not {_kind(lineage)}")
        inputs = lineage.get("inputFields")
        if not isinstance(inputs, list):
            problem = "missing" if inputs is None else f"must be an array, not {_kind(inputs)}"
            raise InvalidEvent(f"{at}.inputFields", problem)
        built_inputs = []
        for index, source in enumerate(inputs):
            source_at = f"{at}.inputFields[{index}]"
            if not isinstance(source, Mapping):
                raise InvalidEvent(source_at, f"must be an object, not {_kind(source)}")
            built_inputs.append(
                column_lineage_dataset.InputField(
                    namespace=_text(source, "namespace", source_at),
                    name=_text(source, "name", source_at),
                    field=_text(source, "field", source_at),
                )
            )
        out[column] = column_lineage_dataset.Fields(
            inputFields=built_inputs,
            transformationDescription=_optional_text(lineage, "transformationDescription", at),
        )
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=out)


# --- field checks ---------------------------------------------------------------------------------------------
def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _text(document: Mapping[str, Any], key: str, where: str = "") -> str:
    value = document.get(key)
    if value is None:
        raise InvalidEvent(_path(where, key), "missing")
    if not isinstance(value, str) or not value:
        raise InvalidEvent(_path(where, key), f"must be a non-empty string, not {_kind(value)}")
    return value


def _optional_text(document: Mapping[str, Any], key: str, where: str = "") -> str | None:
    if document.get(key) is None:
        return None
    return _text(document, key, where)


def _object(document: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> Mapping[str, Any]:
    value = document.get(key)
    if value is None:
        if optional:
            return {}
        raise InvalidEvent(path, "missing")
    if not isinstance(value, Mapping):
        raise InvalidEvent(path, f"must be an object, not {_kind(value)}")
    return value


def _built(path: str, build: Callable[[], T]) -> T:
    """`build()`, with the model's own validation errors (an invalid UUID or time) named by `path`."""
    try:
        return build()
    except InvalidEvent:
        raise
    except (TypeError, ValueError) as error:
        field, _, problem = _model_problem(str(error))
        raise InvalidEvent(field or path, problem) from None


def _model_problem(message: str) -> tuple[str, str, str]:
    if "date-time" in message or "Unknown string format" in message or "isoformat" in message.lower():
        return "eventTime", "", f"must be an ISO 8601 date-time with a time part ({message})"
    if "hexadecimal UUID" in message or "badly formed" in message:
        return "", "", f"must be a UUID ({message})"
    if "is not a valid EventType" in message:
        return "eventType", "", "must be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER"
    return "", "", message


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__
