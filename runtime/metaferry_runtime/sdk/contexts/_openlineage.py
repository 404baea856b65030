"""Reading OpenLineage run events: raw JSON, dicts or `openlineage-python` objects, into one typed shape.

`openlineage-python` ships the event model (`openlineage.client.event_v2`) but serializes only; this module
builds the model from JSON, keeping the facets the lineage context uses (job documentation, parent run,
dataset documentation) and ignoring the rest, so a producer's custom facets never break intake. The
model's own validators check what the spec requires (a UUID run id, an ISO event time with a time part).
It also defines, in this one place, how OpenLineage's names become qualified names, so a dataset another
connector catalogued is found and linked rather than catalogued twice. OpenLineage names a dataset by
`namespace` + `name`; the natural qualified name is:

| OpenLineage namespace, name | qualified name | catalogued by |
|---|---|---|
| `postgres://host:port`, `db.schema.table` | `postgres://host:port/db.schema.table` | postgres-schema |
| `file` (or `file://`, `file://localhost`), `/path` | `file:///path` | directory-monitor |
| `s3://bucket`, `path/key` | `s3://bucket/path/key` | |
| any other `ns`, `name` | `ns/name` | |

A column is `<dataset qualified name>#<column>` (as the database connectors name theirs); a job is
`openlineage:job:<namespace>/<name>`. A dataset no other source has catalogued is catalogued by the lineage
service as a DataSet named `openlineage:<natural name>` (so the other source can still create its own later).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import documentation_dataset, documentation_job, parent_run

from metaferry_runtime.sdk.errors import ConnectorError

JOB_PREFIX = "openlineage:job:"
DATASET_PROXY_PREFIX = "openlineage:"


class InvalidOpenLineageEvent(ConnectorError):
    """The event is not an OpenLineage RunEvent (bad JSON, a missing field, an invalid run id or time)."""


def parse_run_event(event: RunEvent | Mapping[str, Any] | str | bytes) -> RunEvent:
    """The event as `openlineage.client.event_v2.RunEvent`; InvalidOpenLineageEvent says what is wrong."""
    if isinstance(event, RunEvent):
        return event
    try:
        document = json.loads(event) if isinstance(event, str | bytes) else event
        if not isinstance(document, Mapping):
            raise TypeError("the event must be a JSON object")
        return _run_event(document)
    except (KeyError, TypeError, ValueError) as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise InvalidOpenLineageEvent(f"not a valid OpenLineage RunEvent: {detail}") from None


def job_qualified_name(namespace: str, name: str) -> str:
    return f"{JOB_PREFIX}{namespace}/{name}"


def dataset_qualified_name(namespace: str, name: str) -> str:
    """The dataset's natural name: `file:///path` for local files (as the files service names them),
    `<namespace>/<name>` otherwise (`postgres://host:5432/db.schema.table`)."""
    if namespace in ("file", "file://", "file://localhost"):
        return "file://" + (name if name.startswith("/") else "/" + name)
    return f"{namespace.rstrip('/')}/{name.lstrip('/')}"


def column_qualified_name(dataset: str, column: str) -> str:
    """A column of the dataset whose qualified name is `dataset` (natural or proxy)."""
    return f"{dataset}#{column}"


def _run_event(document: Mapping[str, Any]) -> RunEvent:
    run = document["run"]
    job = document["job"]
    event_type = document.get("eventType")
    return RunEvent(
        eventTime=document["eventTime"],
        producer=document.get("producer") or "",
        run=Run(runId=run["runId"], facets=_run_facets(run.get("facets") or {})),
        job=Job(namespace=job["namespace"], name=job["name"], facets=_job_facets(job.get("facets") or {})),
        eventType=RunState(event_type) if event_type else None,
        inputs=[
            InputDataset(namespace=d["namespace"], name=d["name"], facets=_dataset_facets(d.get("facets") or {}))
            for d in document.get("inputs") or []
        ],
        outputs=[
            OutputDataset(namespace=d["namespace"], name=d["name"], facets=_dataset_facets(d.get("facets") or {}))
            for d in document.get("outputs") or []
        ],
    )


def _job_facets(facets: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    documentation = facets.get("documentation")
    if isinstance(documentation, Mapping) and "description" in documentation:
        out["documentation"] = documentation_job.DocumentationJobFacet(description=documentation["description"])
    return out


def _run_facets(facets: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    parent = facets.get("parent")
    if isinstance(parent, Mapping):
        out["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent["run"]["runId"]),
            job=parent_run.Job(namespace=parent["job"]["namespace"], name=parent["job"]["name"]),
        )
    return out


def _dataset_facets(facets: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    documentation = facets.get("documentation")
    if isinstance(documentation, Mapping) and "description" in documentation:
        out["documentation"] = documentation_dataset.DocumentationDatasetFacet(description=documentation["description"])
    return out
