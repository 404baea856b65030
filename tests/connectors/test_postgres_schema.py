"""The postgres-schema connector against a real PostgreSQL server: what it catalogues, what a change to the
schema changes in the repository (exactly), and the errors a user sees for a wrong password, an unreachable
server, a missing database or schema."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from metaferry_runtime.cli import EXIT_CONNECTOR_FAILED, EXIT_OK, main
from metaferry_runtime.connectors.postgres_schema import PostgresSchemaConnector
from metaferry_runtime.connectors.postgres_schema.catalog import read_catalog
from metaferry_runtime.connectors.postgres_schema.settings import PostgresSchemaSettings
from metaferry_runtime.repository import Element, MetadataRepository
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError, InvalidConfiguration
from metaferry_runtime.testing import ConnectorHarness, HarnessFactory, conformance

pytestmark = pytest.mark.postgres

Driven = ConnectorHarness[PostgresSchemaConnector]

SCHEMA = """
create schema sales;
comment on schema sales is 'Orders and customers';
create schema "Reporting";
create table sales.customers (
    id bigint primary key,
    email character varying(64) not null,
    name text,
    tags text[],
    balance numeric(10,2) default 0,
    created_at timestamp with time zone default now(),
    is_active boolean not null default true,
    profile jsonb,
    birthday date,
    uid uuid,
    score double precision,
    rating real,
    code character(3),
    small smallint,
    counter integer,
    payload bytea,
    address inet,
    opens time without time zone,
    span interval,
    flags bit(8)
);
comment on table sales.customers is 'People who buy';
comment on column sales.customers.email is 'Where receipts go';
create table sales.orders (
    region text,
    order_no integer,
    customer_id bigint references sales.customers (id),
    primary key (region, order_no)
);
create table sales.order_lines (
    region text,
    order_no integer,
    line integer,
    primary key (region, order_no, line),
    foreign key (region, order_no) references sales.orders (region, order_no)
);
create table "Reporting"."DailyTotals" (
    "Day" date primary key,
    "Total" numeric,
    customer bigint references sales.customers (id)
);
create view sales.active_customers as select id, email from sales.customers where is_active;
create materialized view "Reporting".order_counts as
    select region, count(*) as orders from sales.orders group by region;
create table sales.events (id bigint, happened date not null, primary key (id, happened)) partition by range (happened);
create table sales.events_2026 partition of sales.events for values from ('2026-01-01') to ('2027-01-01');
"""


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as server:
        server.execute(sql)  # type: ignore[call-overload]


@pytest.fixture
def source(postgres_database: str) -> str:
    """A database holding SCHEMA; its URL (trust authentication: no password)."""
    execute(postgres_database, SCHEMA)
    return postgres_database


@pytest.fixture
def repository_url(tmp_path: Path) -> str:
    """The catalogue the connector writes to and the test reads: a SQLite file of the test's own."""
    return f"sqlite:///{tmp_path / 'catalogue.db'}"


@pytest.fixture
def catalogue(connector_harness: HarnessFactory, repository_url: str) -> Callable[..., Driven]:
    """catalogue(endpoint, config=, secrets=, catalog_targets=): the connector, configured and started by the kit."""

    def make(endpoint: str, *, config: dict[str, Any] | None = None, **kwargs: Any) -> Driven:
        return connector_harness(
            PostgresSchemaConnector,
            endpoint=endpoint,
            configuration_properties=config,
            repository_url=repository_url,
            **kwargs,
        )

    return make


def prefix(url: str) -> str:
    """The qualified name of the database `url` names: postgres://host:port/db."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"postgres://{info['host']}:{info['port']}/{info['dbname']}"


def element(repository: MetadataRepository, qualified_name: str) -> Element:
    with repository.transaction(actor="test/reader") as transaction:
        found = transaction.find_element_by_name(qualified_name)
    assert found is not None, f"{qualified_name} is not catalogued"
    return found


def referenced_columns(repository: MetadataRepository, column: Element) -> set[str]:
    """Qualified names of the columns the foreign-key column references (ForeignKey end 1)."""
    with repository.transaction(actor="test/reader") as transaction:
        related = transaction.get_related_elements(column.guid, relationship_type="ForeignKey", at_end=2)
    return {e.qualified_name for e in related}


def active_names(repository: MetadataRepository, type_name: str, under: str) -> set[str]:
    with repository.transaction(actor="test/reader") as transaction:
        found = transaction.find_elements(type_name=type_name, include_subtypes=False)
    return {e.qualified_name for e in found if e.qualified_name.startswith(under)}


# --- what is catalogued ----------------------------------------------------------------------------------------
def test_catalogues_every_relation_kind_with_columns_keys_and_comments(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(source)
    driven.refresh()
    db = prefix(source)

    database = element(repository, db)
    assert database.type_name == "Database"
    assert database.properties["databaseType"] == "PostgreSQL"
    with psycopg.connect(source) as server:
        version = server.execute("show server_version").fetchone()
    assert version is not None and database.properties["databaseVersion"] == version[0]

    schemas = active_names(repository, "DeployedDatabaseSchema", db)
    assert schemas == {f"{db}.public", f"{db}.sales", f"{db}.Reporting"}
    assert element(repository, f"{db}.sales").properties["description"] == "Orders and customers"

    def kind(name: str) -> tuple[str, str]:
        found = element(repository, f"{db}.{name}")
        return found.type_name, found.properties["tableType"]

    kinds = {
        name: kind(name)
        for name in (
            "sales.customers",
            "sales.active_customers",
            "Reporting.order_counts",
            "sales.events",
            "sales.events_2026",
            "Reporting.DailyTotals",
        )
    }
    assert kinds == {
        "sales.customers": ("RelationalTable", "TABLE"),
        "sales.active_customers": ("RelationalView", "VIEW"),
        "Reporting.order_counts": ("RelationalView", "MATERIALIZED VIEW"),
        "sales.events": ("RelationalTable", "PARTITIONED TABLE"),
        "sales.events_2026": ("RelationalTable", "PARTITION"),
        "Reporting.DailyTotals": ("RelationalTable", "TABLE"),
    }
    customers = element(repository, f"{db}.sales.customers")
    assert customers.properties["description"] == "People who buy"
    assert "is_active" in element(repository, f"{db}.sales.active_customers").properties["formula"]
    assert element(repository, f"{db}.sales.events_2026").properties["additionalProperties"]["partitionOf"] == "events"

    types = {
        column: element(repository, f"{db}.sales.customers#{column}").properties["dataType"]
        for column in ("id", "email", "tags", "balance", "created_at", "code", "flags", "opens", "profile", "uid")
    }
    assert types == {
        "id": "bigint",
        "email": "character varying(64)",
        "tags": "text[]",
        "balance": "numeric(10,2)",
        "created_at": "timestamp with time zone",
        "code": "character(3)",
        "flags": "bit(8)",
        "opens": "time without time zone",
        "profile": "jsonb",
        "uid": "uuid",
    }
    email = element(repository, f"{db}.sales.customers#email").properties
    assert email["isNullable"] is False and email["position"] == 2 and email["length"] == 64
    assert email["description"] == "Where receipts go"
    balance = element(repository, f"{db}.sales.customers#balance").properties
    assert balance["isNullable"] is True and balance["defaultValue"] == "0" and balance["precision"] == 10
    assert len(active_names(repository, "RelationalColumn", f"{db}.sales.customers#")) == 20

    key = element(repository, f"{db}.sales.customers#id").classification("PrimaryKey")
    assert key is not None and key.properties == {"name": "customers_pkey", "keyPattern": "LOCAL_KEY"}
    composite = [
        element(repository, f"{db}.sales.orders#{column}").classification("PrimaryKey")
        for column in ("region", "order_no")
    ]
    assert all(k is not None and k.properties["name"] == "orders_pkey" for k in composite)
    assert element(repository, f"{db}.sales.orders#customer_id").classification("PrimaryKey") is None

    def references(column: str) -> set[str]:
        return referenced_columns(repository, element(repository, f"{db}.{column}"))

    assert references("sales.orders#customer_id") == {f"{db}.sales.customers#id"}
    assert references("sales.order_lines#region") == {f"{db}.sales.orders#region"}
    assert references("sales.order_lines#order_no") == {f"{db}.sales.orders#order_no"}
    assert references("Reporting.DailyTotals#customer") == {f"{db}.sales.customers#id"}  # across schemas
    assert references("sales.order_lines#line") == set()


def test_a_second_refresh_without_change_writes_nothing(source: str, catalogue: Callable[..., Driven]) -> None:
    driven = catalogue(source)
    first = driven.refresh()
    assert first.created > 50
    second = driven.refresh()
    assert (second.created, second.updated, second.archived, second.restored) == (0, 0, 0, 0)
    assert driven.last_events == []


def test_ddl_between_refreshes_gives_exactly_the_expected_changes(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(source)
    driven.refresh()
    db = prefix(source)
    execute(
        source,
        """
        alter table sales.customers add column nickname text;
        alter table sales.customers alter column code type character(5);
        alter table sales.customers drop column rating;
        alter table sales.order_lines rename to order_items;
        drop view sales.active_customers;
        """,
    )
    driven.refresh()

    assert driven.changed("ELEMENT_CREATED") == {
        f"{db}.sales.customers#nickname",
        f"{db}.sales.order_items",
        f"{db}.sales.order_items#region",
        f"{db}.sales.order_items#order_no",
        f"{db}.sales.order_items#line",
    }
    assert driven.changed("ELEMENT_UPDATED") == {
        f"{db}.sales.customers",  # its definition digest
        f"{db}.sales.customers#code",  # character(3) -> character(5)
    }
    assert driven.changed("ELEMENT_ARCHIVED") == {
        f"{db}.sales.customers#rating",
        f"{db}.sales.order_lines",
        f"{db}.sales.order_lines#region",
        f"{db}.sales.order_lines#order_no",
        f"{db}.sales.order_lines#line",
        f"{db}.sales.active_customers",
        f"{db}.sales.active_customers#id",
        f"{db}.sales.active_customers#email",
    }
    assert element(repository, f"{db}.sales.customers#code").properties["dataType"] == "character(5)"
    renamed = element(repository, f"{db}.sales.order_items#order_no")
    assert referenced_columns(repository, renamed) == {f"{db}.sales.orders#order_no"}
    assert renamed.classification("PrimaryKey") is not None


def test_a_new_foreign_key_is_linked_and_a_dropped_one_unlinked(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(source)
    driven.refresh()
    db = prefix(source)
    execute(
        source,
        """
        alter table sales.orders drop constraint orders_customer_id_fkey;
        alter table "Reporting"."DailyTotals" add column region text;
        alter table "Reporting"."DailyTotals" add column order_no integer;
        alter table "Reporting"."DailyTotals"
            add constraint last_order foreign key (region, order_no) references sales.orders (region, order_no);
        """,
    )
    driven.refresh()
    assert referenced_columns(repository, element(repository, f"{db}.sales.orders#customer_id")) == set()
    assert referenced_columns(repository, element(repository, f"{db}.Reporting.DailyTotals#order_no")) == {
        f"{db}.sales.orders#order_no"
    }


def test_a_primary_key_moved_to_another_column_moves_its_classification(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(source)
    driven.refresh()
    db = prefix(source)
    execute(source, 'alter table "Reporting"."DailyTotals" drop constraint "DailyTotals_pkey";')
    execute(source, 'alter table "Reporting"."DailyTotals" add primary key (customer, "Day");')
    driven.refresh()
    day = element(repository, f"{db}.Reporting.DailyTotals#Day").classification("PrimaryKey")
    customer = element(repository, f"{db}.Reporting.DailyTotals#customer").classification("PrimaryKey")
    assert day is not None and customer is not None
    assert element(repository, f"{db}.Reporting.DailyTotals#Total").classification("PrimaryKey") is None
    execute(source, 'alter table "Reporting"."DailyTotals" drop constraint "DailyTotals_pkey";')
    driven.refresh()
    assert element(repository, f"{db}.Reporting.DailyTotals#Day").classification("PrimaryKey") is None


def test_filters_choose_schemas_and_tables(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(
        source,
        catalog_targets=["sales"],
        config={"includeTables": ["customers", "orders", "events.*"], "excludeTables": ["sales\\.events_\\d+"]},
    )
    driven.refresh()
    db = prefix(source)
    assert active_names(repository, "DeployedDatabaseSchema", db) == {f"{db}.sales"}
    tables = active_names(repository, "RelationalTable", db)
    assert tables == {f"{db}.sales.customers", f"{db}.sales.orders", f"{db}.sales.events"}


def test_a_schema_target_with_its_own_filters_uses_them_and_the_others_keep_the_connectors(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(
        source,
        catalog_targets=[{"name": "sales", "configurationProperties": {"includeTables": ["orders"]}}, "Reporting"],
        config={"excludeTables": ["order_.*"]},
    )
    driven.refresh()
    db = prefix(source)
    tables = active_names(repository, "RelationalTable", db) | active_names(repository, "RelationalView", db)
    # sales: its own includeTables and the connector's excludeTables; Reporting: the connector's filters only.
    assert tables == {f"{db}.sales.orders", f"{db}.Reporting.DailyTotals"}


def test_a_wrong_filter_on_a_schema_target_fails_before_anything_is_read(
    source: str, catalogue: Callable[..., Driven]
) -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        catalogue(source, catalog_targets=[{"name": "sales", "configurationProperties": {"includeTables": ["("]}}])
    assert "spec.catalogTargets[0].configurationProperties.includeTables[0]" in str(raised.value)


def test_a_foreign_key_into_a_schema_not_catalogued_is_reported_then_linked_when_it_is(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository, tmp_path: Path
) -> None:
    driven = catalogue(source, catalog_targets=["Reporting"])
    driven.refresh()
    db = prefix(source)
    column = element(repository, f"{db}.Reporting.DailyTotals#customer")
    assert referenced_columns(repository, column) == set()
    messages = [record.message_id for record in driven.audit_log.records()]
    assert "METAFERRY-POSTGRES-SCHEMA-0003" in messages
    wider = catalogue(source, catalog_targets=["Reporting", "sales"])
    wider.refresh()
    assert referenced_columns(repository, column) == {f"{db}.sales.customers#id"}


# --- a consistent snapshot -------------------------------------------------------------------------------------
class _DdlAfterFirstQueries:
    """A cursor that runs DDL on another connection after the catalogue's first `after` queries: the rest of
    the catalogue must still be read from the snapshot taken before it."""

    def __init__(self, cursor: psycopg.Cursor[Any], url: str, ddl: str, after: int) -> None:
        self._cursor, self._url, self._ddl, self._after, self._executed = cursor, url, ddl, after, 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        result = self._cursor.execute(*args, **kwargs)
        self._executed += 1
        if self._executed == self._after:
            rows = self._cursor.fetchall()
            execute(self._url, self._ddl)
            self._rows: list[Any] | None = rows
        else:
            self._rows = None
        return result

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows is not None else self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._rows if self._rows is not None else self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows) if self._rows is not None else iter(self._cursor)


def test_the_catalogue_is_read_in_one_snapshot_even_while_ddl_runs(source: str) -> None:
    # DDL that needs no lock the snapshot holds (pg_get_viewdef keeps one on each view's tables until it ends).
    ddl = (
        "alter table sales.order_lines add column late text;"
        " alter table sales.order_lines add constraint late_fkey foreign key (line) references sales.customers (id)"
    )
    server = psycopg.connect(source, autocommit=True)
    server.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    server.read_only = True
    try:
        with server.transaction(), server.cursor() as cursor:
            spy = _DdlAfterFirstQueries(cursor, source, ddl, after=3)  # database, schemas, relations
            definition = read_catalog(spy, PostgresSchemaSettings(), schemas=(), instance="test")  # type: ignore[arg-type]
    finally:
        server.close()
    order_lines = next(t for t in definition.tables if (t.schema, t.name) == ("sales", "order_lines"))
    assert [c.name for c in order_lines.columns] == ["region", "order_no", "line"]
    assert [k.name for k in order_lines.foreign_keys] == ["order_lines_region_order_no_fkey"]  # not late_fkey
    with psycopg.connect(source) as after:  # the DDL did run, and a new snapshot sees it
        row = after.execute(
            "select count(*) from pg_attribute where attrelid = 'sales.order_lines'::regclass and attname = 'late'"
        ).fetchone()
    assert row == (1,)


def test_refreshes_succeed_while_tables_and_views_are_created_and_dropped(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(source, catalog_targets=["sales"])
    driven.refresh()
    stop = threading.Event()
    failures: list[BaseException] = []

    def churn() -> None:
        with psycopg.connect(source, autocommit=True) as server:
            number = 0
            while not stop.is_set():
                number += 1
                try:
                    server.execute(f"create table sales.churn_{number} (id int primary key, note text)")  # type: ignore[call-overload]
                    server.execute(f"create view sales.churn_view_{number} as select * from sales.churn_{number}")  # type: ignore[call-overload]
                    server.execute(f"drop table sales.churn_{number} cascade")  # type: ignore[call-overload]
                except BaseException as error:  # reported by the test below
                    failures.append(error)
                    return

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(15):
            driven.refresh()
    finally:
        stop.set()
        worker.join()
    assert not failures
    driven.refresh()
    db = prefix(source)
    assert not {name for name in active_names(repository, "RelationalTable", db) if ".churn" in name}
    assert not {name for name in active_names(repository, "RelationalView", db) if ".churn" in name}


# --- errors a user can act on ----------------------------------------------------------------------------------
def _with(url: str, **changes: Any) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info.update(changes)
    user = info.get("user", "")
    return f"postgresql://{user}@{info['host']}:{info['port']}/{info['dbname']}"


@pytest.fixture
def password_user(source: str) -> Iterator[tuple[str, str]]:
    """A role that must log in with a password (start-postgres.sh requires one of password_login's members)."""
    name = f"reader_{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex}"
    execute(source, f"create role {name} login password '{password}' in role password_login")
    yield name, password
    execute(source, f"drop owned by {name}; drop role {name}")


def test_the_password_comes_from_the_secret_and_is_used(
    source: str, catalogue: Callable[..., Driven], password_user: tuple[str, str], repository: MetadataRepository
) -> None:
    user, password = password_user
    driven = catalogue(_with(source, user=user), secrets={"password": password})
    driven.refresh()
    assert element(repository, f"{prefix(source)}.sales.customers").type_name == "RelationalTable"


def test_a_wrong_password_is_a_configuration_error_that_names_the_user(
    source: str, catalogue: Callable[..., Driven], password_user: tuple[str, str]
) -> None:
    user, _ = password_user
    with pytest.raises(ConnectorConfigurationError, match=f"refused the password of {user}") as raised:
        catalogue(_with(source, user=user), secrets={"password": "not-the-password"})
    assert "not-the-password" not in str(raised.value)


def test_a_missing_database_is_a_configuration_error(source: str, catalogue: Callable[..., Driven]) -> None:
    with pytest.raises(ConnectorConfigurationError, match="the database no_such_db does not exist"):
        catalogue(_with(source, dbname="no_such_db"))


def test_an_unreachable_server_is_a_failure_to_retry_not_a_configuration_error(
    source: str, catalogue: Callable[..., Driven]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectorError, match=f"cannot reach the PostgreSQL server at 127.0.0.1:{port}") as raised:
        catalogue(_with(source, port=str(port)))
    assert not isinstance(raised.value, ConnectorConfigurationError)


def test_a_password_in_the_endpoint_is_refused(source: str, catalogue: Callable[..., Driven]) -> None:
    info = psycopg.conninfo.conninfo_to_dict(source)
    endpoint = f"postgresql://{info['user']}:in-the-manifest@{info['host']}:{info['port']}/{info['dbname']}"
    with pytest.raises(ConnectorConfigurationError, match="endpoint holds a password") as raised:
        catalogue(endpoint)
    assert "in-the-manifest" not in str(raised.value)


def test_a_missing_target_schema_fails_start(source: str, catalogue: Callable[..., Driven]) -> None:
    with pytest.raises(ConnectorConfigurationError, match="the schemas nowhere do not exist"):
        catalogue(source, catalog_targets=["sales", "nowhere"])


def test_a_schema_that_disappears_fails_the_refresh_and_archives_nothing(
    source: str, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(source, catalog_targets=["sales", "Reporting"])
    driven.refresh()
    db = prefix(source)
    before = active_names(repository, "RelationalColumn", db)
    execute(source, 'drop schema "Reporting" cascade')
    with pytest.raises(ConnectorError, match="the schemas Reporting are no longer in"):
        driven.refresh()
    assert active_names(repository, "RelationalColumn", db) == before


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"includeTables": ["("]}, r"configurationProperties\.includeTables\[0\]: .*regular expression"),
        ({"excludeTable": ["x"]}, r"excludeTable: unknown property \(check its spelling; .* excludeTables,"),
        (
            {"statementTimeoutSeconds": 0},
            r"statementTimeoutSeconds: Input should be greater than or equal to 1 \(expected: seconds, at least 1\)",
        ),
    ],
)
def test_invalid_configuration_properties_are_named(
    source: str, catalogue: Callable[..., Driven], config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConnectorConfigurationError, match=message):
        catalogue(source, config=config)


def test_the_session_has_a_statement_timeout_and_cannot_write(source: str, catalogue: Callable[..., Driven]) -> None:
    driven = catalogue(source, config={"statementTimeoutSeconds": 1})
    session = driven.connector._server  # type: ignore[attr-defined]  # the connector's own session
    with pytest.raises(psycopg.errors.QueryCanceled):
        session.execute("select pg_sleep(3)")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        session.execute("create table sales.written_by_the_connector (id int)")


# --- as a user runs it -----------------------------------------------------------------------------------------
MANIFEST = """\
apiVersion: metaferry.io/v1alpha1
kind: IntegrationConnector
metadata:
  name: warehouse
spec:
  integrationService: database
  connector: postgres-schema
  connection:
    endpoint: {endpoint}
    secretRef:
      name: warehouse-credentials
  catalogTargets: [sales, Reporting]
"""


def test_run_and_check_from_the_command_line_never_print_the_password(
    source: str, password_user: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user, password = password_user
    manifest = tmp_path / "warehouse.yaml"
    manifest.write_text(MANIFEST.format(endpoint=_with(source, user=user)))
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "password").write_text(password)
    repository = f"sqlite:///{tmp_path / 'r.db'}"

    assert main(["check", str(manifest), "--secrets-dir", str(secrets), "--repository", repository]) == EXIT_OK
    checked = capsys.readouterr().out
    for step in ("connect", "server version", "schema sales", "schema Reporting", "dry-run refresh"):
        assert step in checked, checked
    assert main(["run", str(manifest), "--once", "--secrets-dir", str(secrets), "--repository", repository]) == EXIT_OK
    ran = capsys.readouterr()
    assert "result           succeeded" in ran.out

    (secrets / "password").write_text("wrong-password-123")
    assert main(["check", str(manifest), "--secrets-dir", str(secrets), "--repository", repository]) != EXIT_OK
    failed = capsys.readouterr().out
    assert f"refused the password of {user}" in failed
    for output in (checked, ran.out, ran.err, failed):
        assert password not in output and "wrong-password-123" not in output


def test_check_names_the_missing_schema(source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "warehouse.yaml"
    text = MANIFEST.format(endpoint=source).replace("    secretRef:\n      name: warehouse-credentials\n", "")
    manifest.write_text(text.replace("[sales, Reporting]", "[sales, nowhere]"))
    assert main(["check", str(manifest), "--repository", f"sqlite:///{tmp_path / 'r.db'}"]) == EXIT_CONNECTOR_FAILED
    out = capsys.readouterr().out
    assert "ok   schema sales" in out
    assert "FAIL  schema nowhere" in out and "does not exist" in out
    assert "dry-run refresh" not in out


def test_the_connector_conforms_with_a_password_from_the_secret(source: str, password_user: tuple[str, str]) -> None:
    user, password = password_user
    report = conformance(PostgresSchemaConnector, endpoint=_with(source, user=user), secrets={"password": password})
    assert report.first_refresh.created > 40
