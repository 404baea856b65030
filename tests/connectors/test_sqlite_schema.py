"""The sqlite-schema connector against real SQLite files: tables, views, columns and keys; schema changes
between refreshes; a file it can only read; and the errors a user sees."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from metaferry_runtime.cli import EXIT_OK, main
from metaferry_runtime.connectors.sqlite_schema import SqliteSchemaConnector, database_path
from metaferry_runtime.repository import Element, MetadataRepository
from metaferry_runtime.resource.spec import DeletionDetection
from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError
from metaferry_runtime.testing import ConnectorHarness, HarnessFactory, conformance

Driven = ConnectorHarness[SqliteSchemaConnector]

SCHEMA = """
create table customers (id integer primary key, email varchar(64) not null, balance numeric(10, 2) default 0);
create table orders (
    region text not null,
    order_no integer not null,
    customer_id integer references customers (id),
    primary key (region, order_no)
);
create table order_lines (
    region text, order_no integer, line integer, note text,
    primary key (region, order_no, line),
    foreign key (region, order_no) references orders (region, order_no)
);
create table "Mixed Case" ("Key" integer primary key, customer integer references customers);
create view big_spenders as select id, email from customers where balance > 100;
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as database:
        database.executescript(SCHEMA)
    return path


@pytest.fixture
def repository_url(tmp_path: Path) -> str:
    """The catalogue the connector writes to and the test reads: a SQLite file of the test's own."""
    return f"sqlite:///{tmp_path / 'catalogue.db'}"


@pytest.fixture
def catalogue(connector_harness: HarnessFactory, repository_url: str) -> Callable[..., Driven]:
    """catalogue(endpoint, config=, secrets=, catalog_targets=): the connector, configured and started by the kit."""

    def make(endpoint: str | Path, *, config: dict[str, Any] | None = None, **kwargs: Any) -> Driven:
        return connector_harness(
            SqliteSchemaConnector,
            endpoint=str(endpoint),
            configuration_properties=config,
            repository_url=repository_url,
            **kwargs,
        )

    return make


def element(repository: MetadataRepository, qualified_name: str) -> Element:
    with repository.transaction(actor="test/reader") as transaction:
        found = transaction.find_element_by_name(qualified_name)
    assert found is not None, f"{qualified_name} is not catalogued"
    return found


def references(repository: MetadataRepository, qualified_name: str) -> set[str]:
    column = element(repository, qualified_name)
    with repository.transaction(actor="test/reader") as transaction:
        related = transaction.get_related_elements(column.guid, relationship_type="ForeignKey", at_end=2)
    return {e.qualified_name for e in related}


def test_catalogues_tables_views_columns_and_keys(
    source: Path, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    catalogue(source).refresh()
    db = f"sqlite://{source}"
    database = element(repository, db)
    assert database.properties["databaseType"] == "SQLite"
    assert database.properties["databaseVersion"] == sqlite3.sqlite_version
    assert element(repository, f"{db}/main").type_name == "DeployedDatabaseSchema"
    assert element(repository, f"{db}/main/customers").properties["tableType"] == "TABLE"
    view = element(repository, f"{db}/main/big_spenders")
    assert view.type_name == "RelationalView" and view.properties["formula"].startswith("select id, email")
    email = element(repository, f"{db}/main/customers#email").properties
    assert (email["dataType"], email["isNullable"], email["position"]) == ("varchar(64)", False, 2)
    assert element(repository, f"{db}/main/customers#balance").properties["defaultValue"] == "0"

    key = element(repository, f"{db}/main/orders#order_no").classification("PrimaryKey")
    assert key is not None and key.properties == {"name": "orders_pkey", "keyPattern": "LOCAL_KEY"}
    assert element(repository, f"{db}/main/orders#customer_id").classification("PrimaryKey") is None
    assert references(repository, f"{db}/main/orders#customer_id") == {f"{db}/main/customers#id"}
    assert references(repository, f"{db}/main/order_lines#order_no") == {f"{db}/main/orders#order_no"}
    # REFERENCES customers, without a column: the referenced table's primary key
    assert references(repository, f"{db}/main/Mixed Case#customer") == {f"{db}/main/customers#id"}


def test_a_second_refresh_without_change_writes_nothing(source: Path, catalogue: Callable[..., Driven]) -> None:
    driven = catalogue(source)
    assert driven.refresh().created > 15
    second = driven.refresh()
    assert (second.created, second.updated, second.archived) == (0, 0, 0)
    assert driven.last_events == []


def test_schema_changes_between_refreshes_give_exactly_the_expected_changes(
    source: Path, catalogue: Callable[..., Driven]
) -> None:
    driven = catalogue(source)
    driven.refresh()
    with sqlite3.connect(source) as database:
        database.executescript(
            """
            alter table customers add column nickname text;
            alter table order_lines drop column note;
            alter table orders rename to purchases;
            drop view big_spenders;
            """
        )
    driven.refresh()
    db = f"sqlite://{source}"
    assert driven.changed("ELEMENT_CREATED") == {
        f"{db}/main/customers#nickname",
        f"{db}/main/purchases",
        f"{db}/main/purchases#region",
        f"{db}/main/purchases#order_no",
        f"{db}/main/purchases#customer_id",
    }
    # SQLite rewrites the foreign key of order_lines to name the renamed table
    assert driven.changed("ELEMENT_UPDATED") == {f"{db}/main/customers", f"{db}/main/order_lines"}
    assert driven.changed("ELEMENT_ARCHIVED") == {
        f"{db}/main/order_lines#note",
        f"{db}/main/orders",
        f"{db}/main/orders#region",
        f"{db}/main/orders#order_no",
        f"{db}/main/orders#customer_id",
        f"{db}/main/big_spenders",
        f"{db}/main/big_spenders#id",
        f"{db}/main/big_spenders#email",
    }


def test_dropping_most_of_a_schema_trips_the_fail_safe_and_the_new_table_is_still_catalogued(
    source: Path, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(source, deletion_detection=DeletionDetection(max_archive_percent=30))
    driven.refresh()
    with sqlite3.connect(source) as database:
        database.executescript(
            """
            drop view big_spenders;
            drop table order_lines;
            drop table "Mixed Case";
            drop table orders;
            create table notes (id integer primary key, body text);
            """
        )
    counts = driven.refresh()
    db = f"sqlite://{source}"
    assert (counts.archived, counts.created) == (0, 3), "notes and its two columns; nothing archived"
    assert element(repository, f"{db}/main/notes").type_name == "RelationalTable"
    assert element(repository, f"{db}/main/orders") is not None, "refused by the fail-safe: still catalogued"


def test_the_file_is_opened_read_only(source: Path, catalogue: Callable[..., Driven]) -> None:
    driven = catalogue(source)
    driven.refresh()
    opened = driven.connector._database  # type: ignore[attr-defined]  # the connector's own connection
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        opened.execute("create table written_by_the_connector (id integer)")


def test_filters_choose_tables(source: Path, catalogue: Callable[..., Driven], repository: MetadataRepository) -> None:
    catalogue(source, config={"excludeTables": ["order.*", "main\\.Mixed Case"]}).refresh()
    db = f"sqlite://{source}"
    with repository.transaction(actor="test/reader") as transaction:
        tables = {e.qualified_name for e in transaction.find_elements(type_name="RelationalTable")}
    assert tables == {f"{db}/main/customers", f"{db}/main/big_spenders"}


def test_a_missing_file_is_a_configuration_error(tmp_path: Path, catalogue: Callable[..., Driven]) -> None:
    with pytest.raises(ConnectorConfigurationError, match="does not exist"):
        catalogue(tmp_path / "nowhere.db")
    assert not (tmp_path / "nowhere.db").exists()  # and was not created


def test_a_file_that_is_not_a_database_is_a_configuration_error(
    tmp_path: Path, catalogue: Callable[..., Driven]
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a database " * 100)
    with pytest.raises(ConnectorConfigurationError, match=r"cannot read .* as a SQLite database"):
        catalogue(path)


def test_a_file_that_disappears_fails_the_refresh_and_archives_nothing(
    source: Path, catalogue: Callable[..., Driven], repository: MetadataRepository
) -> None:
    driven = catalogue(source)
    driven.refresh()
    driven.connector.disconnect()
    source.unlink()
    with pytest.raises(ConnectorError, match="has disappeared; nothing was archived"):
        driven.refresh()
    assert element(repository, f"sqlite://{source}/main/customers").status.value == "ACTIVE"


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("sqlite:///relative/shop.db", "relative/shop.db"),
        ("sqlite:////srv/data/shop.db", "/srv/data/shop.db"),
        ("/srv/data/shop.db", "/srv/data/shop.db"),
        ("sqlite:////srv/data/with%20space.db", "/srv/data/with space.db"),
    ],
)
def test_endpoints_name_the_file_as_sqlalchemy_urls_do(endpoint: str, expected: str, tmp_path: Path) -> None:
    assert database_path(endpoint) == str(Path(expected).absolute())


def test_run_and_check_from_the_command_line(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "shop.yaml"
    manifest.write_text(
        "apiVersion: metaferry.io/v1alpha1\nkind: IntegrationConnector\nmetadata:\n  name: shop\n"
        f"spec:\n  integrationService: database\n  connector: sqlite-schema\n  connection:\n    endpoint: {source}\n"
    )
    repository = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["check", str(manifest), "--repository", repository]) == EXIT_OK
    checked = capsys.readouterr().out
    assert "opened read-only" in checked and "5 tables and views" in checked
    assert main(["run", str(manifest), "--once", "--repository", repository]) == EXIT_OK
    assert "result           succeeded" in capsys.readouterr().out


def test_the_connector_conforms_on_a_real_file(source: Path) -> None:
    report = conformance(SqliteSchemaConnector, endpoint=source)
    assert report.first_refresh.created > 15
