"""examples/postgres-connector.yaml on the test cluster: the password in a Secret, the catalogue in the
release's shared PostgreSQL repository, a dropped table archived after `kubectl annotate`.

The release is installed with `repository.mode=external`, as a platform team would, so the test reads
the catalogue the connector pod wrote from the repository itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from metaferry_runtime.repository import InstanceStatus, MetadataRepository
from tests.e2e.conftest import (
    EXAMPLES,
    Cli,
    Json,
    installed_on_external_repository,
    request_refresh,
    wait_connector_ready,
    wait_refresh_handled,
)
from tests.postgres_server import create_database, drop_database
from tests.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

NAMESPACE = "warehouse"
CONNECTOR = "warehouse"
SOURCE_SCHEMA = """
create schema sales;
create table sales.customers (id bigint primary key, email character varying(64) not null, note text);
comment on table sales.customers is 'People who buy';
create table sales.orders (
    id bigint primary key, customer_id bigint references sales.customers (id), total numeric(10,2)
);
create table sales.returns (order_id bigint references sales.orders (id), reason text);
create view sales.big_orders as select id, total from sales.orders where total > 100;
"""
# Database, schema, its RelationalDBSchemaType; 3 tables with 3 + 3 + 2 columns; a view with 2 columns.
EXPECTED_ELEMENTS = 3 + 3 + 8 + 1 + 2


@pytest.fixture(scope="module")
def source(postgres_url: str) -> Iterator[tuple[str, str, str]]:
    """A database to catalogue: its owner's URL, the endpoint of the role the connector logs in as, and
    that role's password."""
    url = create_database(postgres_url)
    role, password = f"reader_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as server:
        server.execute(SOURCE_SCHEMA)  # type: ignore[call-overload]
        server.execute(f"create role {role} login password '{password}' in role password_login")  # type: ignore[call-overload]
    info = psycopg.conninfo.conninfo_to_dict(url)
    yield url, f"postgresql://{role}@{info['host']}:{info['port']}/{info['dbname']}", password
    drop_database(postgres_url, url)
    with psycopg.connect(postgres_url, autocommit=True) as server:
        server.execute(f"drop role if exists {role}")  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def release(cli: Cli, catalogue: str) -> Iterator[None]:
    with installed_on_external_repository(cli, catalogue, connector_namespace=NAMESPACE):
        yield


def example_manifest(endpoint: str, password: str, directory: Path) -> Path:
    """examples/postgres-connector.yaml pointed at the test database, its Secret holding the password."""
    secret, connector = yaml.safe_load_all((EXAMPLES / "postgres-connector.yaml").read_text())
    secret["stringData"]["password"] = password
    connector["spec"]["connection"]["endpoint"] = endpoint
    connector["spec"]["catalogTargets"] = ["sales"]
    path = directory / "postgres-connector.yaml"
    path.write_text(yaml.safe_dump_all([secret, connector], sort_keys=False))
    return path


def owned(repository: MetadataRepository) -> list[Json]:
    with repository.transaction(actor="test/reader") as transaction:
        found = transaction.find_elements(metadata_collection=f"{NAMESPACE}/{CONNECTOR}", include_archived=True)
    return [{"name": e.qualified_name, "type": e.type_name, "status": e.status} for e in found]


def status_of(cli: Cli) -> Json:
    obj = cli.get(f"ic/{CONNECTOR}", "-n", NAMESPACE)
    return dict((obj or {}).get("status") or {})


def test_a_postgres_connector_catalogues_the_database_and_archives_a_dropped_table(
    cli: Cli,
    release: None,
    source: tuple[str, str, str],
    repository: MetadataRepository,
    pod_visible_dirs: Callable[[str], Path],
) -> None:
    owner, endpoint, password = source
    manifest = example_manifest(endpoint, password, pod_visible_dirs("postgres-connector"))
    cli.kubectl("apply", "-f", str(manifest), "-n", NAMESPACE)
    wait_connector_ready(cli, NAMESPACE, CONNECTOR)

    first = status_of(cli)
    assert first["statistics"]["created"] == EXPECTED_ELEMENTS, first
    elements = owned(repository)
    assert len(elements) == EXPECTED_ELEMENTS
    assert sum(1 for e in elements if e["type"] == "RelationalTable") == 3
    assert sum(1 for e in elements if e["type"] == "RelationalColumn") == 10

    with psycopg.connect(owner, autocommit=True) as server:
        server.execute("drop table sales.returns")
    count = first["refreshCount"]
    token = request_refresh(cli, NAMESPACE, CONNECTOR)
    wait_refresh_handled(cli, NAMESPACE, CONNECTOR, token)

    def refreshed() -> Json | None:
        status = status_of(cli)
        return status if status.get("refreshCount", 0) > count else None

    after = wait_for(
        refreshed,
        timeout=120,
        interval=0.5,
        what="the requested refresh to finish",
    )
    assert after["statistics"]["archived"] == 3, after  # the table and its two columns
    assert after["statistics"]["created"] == 0 and after["statistics"]["updated"] == 0
    archived = {e["name"] for e in owned(repository) if e["status"] is InstanceStatus.ARCHIVED}
    info = psycopg.conninfo.conninfo_to_dict(endpoint)
    table = f"postgres://{info['host']}:{info['port']}/{info['dbname']}.sales.returns"
    assert archived == {table, f"{table}#order_id", f"{table}#reason"}

    shown = (
        json.dumps(cli.get(f"ic/{CONNECTOR}", "-n", NAMESPACE))
        + cli.kubectl("get", "events", "-n", NAMESPACE, "-o", "json").stdout
    )
    assert password not in shown
