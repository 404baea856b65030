"""DataHub URNs of open metadata elements: stable, so every export names a thing the same way.

A data set's URN is DataHub's `urn:li:dataset:(urn:li:dataPlatform:<platform>,<name>,<env>)` with the
platform and name DataHub's own sources use, read from the element's qualified name (the OpenLineage
naming metaferry's connectors share): `postgres://host:5432/db.schema.table` is platform `postgres`, name
`db.schema.table` (DataHub's PostgreSQL source leaves the server out, so the host and port travel as a
custom property); `file:///data/a.csv` is platform `file`, name `/data/a.csv`; `s3://bucket/key` is `s3`,
`bucket/key`. A qualified name of no known scheme is platform `metaferry`, named by the qualified name.

Databases, schemas and folders are DataHub containers, whose URN is the MD5 of their key's JSON, as
DataHub's `mcp_builder` computes it; a database's and a schema's key hold the env as their `instance`, as
DataHub's SQL sources make them, so they are the containers DataHub's PostgreSQL source ingests. A process is
a DataHub data job in a data flow: an OpenLineage job
`openlineage:job:<namespace>/<name>` is job `<name>` of flow `<namespace>`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

#: URL schemes of a server (`scheme://host:port/...`): the name that follows the authority is DataHub's.
SERVER_SCHEMES = frozenset({"postgres", "postgresql", "mysql", "mariadb", "mssql", "oracle", "redshift", "kafka"})
#: Qualified-name schemes whose DataHub platform has another name.
PLATFORMS = {"postgresql": "postgres", "gs": "gcs", "abfss": "adls"}
FALLBACK_PLATFORM = "metaferry"
JOB_PREFIX = "openlineage:job:"
PROXY_PREFIX = "openlineage:"
DEFAULT_FLOW = "metaferry"
ORCHESTRATOR = "metaferry"


@dataclass(frozen=True)
class DatasetName:
    """A data set as DataHub names it, and the server its qualified name had (if any)."""

    platform: str
    name: str
    authority: str | None = None


def dataset_name(qualified_name: str) -> DatasetName:
    """The DataHub platform and name of an element with this qualified name (an OpenLineage proxy's too)."""
    natural = qualified_name
    if natural.startswith(PROXY_PREFIX) and not natural.startswith(JOB_PREFIX):
        natural = natural[len(PROXY_PREFIX) :]
    scheme, separator, rest = natural.partition("://")
    if not separator or not scheme.isidentifier():
        return DatasetName(FALLBACK_PLATFORM, qualified_name)
    platform = PLATFORMS.get(scheme, scheme)
    if scheme in SERVER_SCHEMES:
        authority, _, name = rest.partition("/")
        return DatasetName(platform, name or authority, authority)
    return DatasetName(platform, rest)


def platform_urn(platform: str) -> str:
    return f"urn:li:dataPlatform:{platform}"


def dataset_urn(platform: str, name: str, env: str) -> str:
    return f"urn:li:dataset:({platform_urn(platform)},{name},{env})"


def parse_dataset_urn(urn: str) -> tuple[str, str, str]:
    """(platform, name, env) of a dataset URN; a name may hold commas, so the env is after the last."""
    inner = _inner(urn, "urn:li:dataset:")
    platform, _, rest = inner.partition(",")
    name, _, env = rest.rpartition(",")
    if not platform.startswith("urn:li:dataPlatform:") or not name:
        raise ValueError(f"{urn!r} is not a dataset URN (urn:li:dataset:(urn:li:dataPlatform:P,NAME,ENV))")
    return platform.removeprefix("urn:li:dataPlatform:"), name, env


def container_urn(key: dict[str, str]) -> str:
    """DataHub's container URN for a key (`{"platform": "postgres", "database": "db"}`): the MD5 of its JSON."""
    text = json.dumps(key, separators=(",", ":"), sort_keys=True)
    return f"urn:li:container:{hashlib.md5(text.encode()).hexdigest()}"


def data_flow_urn(flow: str, env: str, orchestrator: str = ORCHESTRATOR) -> str:
    return f"urn:li:dataFlow:({orchestrator},{flow},{env})"


def data_job_urn(flow_urn: str, job: str) -> str:
    return f"urn:li:dataJob:({flow_urn},{job})"


def parse_data_job_urn(urn: str) -> tuple[str, str]:
    """(flow URN, job id) of a data job URN."""
    inner = _inner(urn, "urn:li:dataJob:")
    flow, separator, job = inner.rpartition("),")
    if not separator or not flow.startswith("urn:li:dataFlow:("):
        raise ValueError(f"{urn!r} is not a data job URN (urn:li:dataJob:(urn:li:dataFlow:(O,F,E),JOB))")
    return flow + ")", job


def process_job(qualified_name: str, env: str) -> tuple[str, str]:
    """(data flow URN, data job URN) of a process."""
    if qualified_name.startswith(JOB_PREFIX):
        namespace, _, name = qualified_name[len(JOB_PREFIX) :].rpartition("/")
        flow = data_flow_urn(namespace or DEFAULT_FLOW, env, orchestrator="openlineage")
        return flow, data_job_urn(flow, name)
    flow = data_flow_urn(DEFAULT_FLOW, env)
    return flow, data_job_urn(flow, qualified_name)


def _inner(urn: str, prefix: str) -> str:
    if not urn.startswith(prefix + "(") or not urn.endswith(")"):
        raise ValueError(f"{urn!r} does not start with {prefix}( and end with )")
    return urn[len(prefix) + 1 : -1]
