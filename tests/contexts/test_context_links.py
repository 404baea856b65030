"""The services' linking methods: files nesting, database keys, API operations, lineage, teams, external ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

from metaferry_runtime.repository import ChangeKind, TypeErrorInRepository
from metaferry_runtime.resource.spec import PermittedSynchronization
from metaferry_runtime.sdk.contexts import ElementUpsert
from metaferry_runtime.sdk.contexts._openlineage import InvalidOpenLineageEvent
from metaferry_runtime.sdk.errors import SynchronizationNotPermitted
from tests.contexts.conftest import OTHER_SOURCE, ContextFactory


def test_files_are_nested_in_folders_and_found_by_path(make_context: ContextFactory, tmp_path: object) -> None:
    files = make_context("files")
    folder_guid = files.create_nested_folders("/data/sales/2024", top_folder="/data")
    data_file, _ = files.add_data_file_to_catalog("/data/sales/2024/q1.csv", {"size": 10}, folder_guid=folder_guid)
    assert data_file.qualified_name == "file:///data/sales/2024/q1.csv"
    assert data_file.type_name == "CSVFile"
    assert data_file.properties["fileType"] == "csv"
    assert files.get_file_by_path_name("/data/sales/2024/q1.csv").guid == data_file.guid
    assert [e.guid for e in files.get_folder_files(folder_guid)] == [data_file.guid]
    assert [e.guid for e in files.get_folders_of_file(data_file.guid)] == [folder_guid]
    sales = files.get_folder_by_path_name("/data/sales")
    assert [e.qualified_name for e in files.get_nested_folders(sales.guid)] == ["file:///data/sales/2024"]
    assert [e.qualified_name for e in files.get_parent_folders(sales.guid)] == ["file:///data"]
    assert len(files.get_my_elements_under("/data")) == 3
    files.remove_data_file_from_folder(folder_guid, data_file.guid)
    assert files.get_folder_files(folder_guid) == []
    assert files.archive_data_file_in_catalog("/data/sales/2024/q1.csv")
    assert files.get_file_by_path_name("/data/sales/2024/q1.csv") is None
    assert not files.archive_data_file_in_catalog("/data/never.csv")


def test_unknown_extensions_become_plain_data_files(make_context: ContextFactory) -> None:
    files = make_context("files")
    element, _ = files.add_data_file_to_catalog("/data/notes.unknownext")
    assert (element.type_name, element.properties["fileType"]) == ("DataFile", "unknownext")


def test_a_refused_write_names_the_operation(make_context: ContextFactory) -> None:
    files = make_context("files", sync=PermittedSynchronization.TO_THIRD_PARTY)
    with pytest.raises(SynchronizationNotPermitted, match="may not create_data_file"):
        files.create_data_file("file:///x.csv")


def test_database_tables_columns_and_keys_hang_off_their_schema(make_context: ContextFactory) -> None:
    db = make_context("database")
    database = db.create_database("pg://h/sales", {"name": "sales"})
    schema = db.create_database_schema("pg://h/sales.public", {"name": "public"}, parent_guid=database)
    table = db.create_database_table("pg://h/sales.public.orders", {"name": "orders"}, parent_guid=schema)
    view = db.create_database_view("pg://h/sales.public.v", {"name": "v", "formula": "select 1"}, parent_guid=schema)
    order_id = db.create_database_column("pg://h/sales.public.orders.id", {"name": "id"}, parent_guid=table)
    customer = db.create_database_column("pg://h/sales.public.orders.customer", {"name": "c"}, parent_guid=table)
    assert [e.guid for e in db.get_schemas_for_database(database)] == [schema]
    assert {e.guid for e in db.get_tables_for_database_schema(schema)} == {table, view}
    assert [e.guid for e in db.get_views_for_database_schema(schema)] == [view]
    assert {e.guid for e in db.get_columns_for_database_table(table)} == {order_id, customer}
    assert db.set_primary_key_on_column(order_id, {"name": "orders_pk"}).classification("PrimaryKey") is not None
    assert db.remove_primary_key_from_column(order_id).classification("PrimaryKey") is None
    db.add_foreign_key_relationship(order_id, customer, {"name": "fk"})
    assert [e.guid for e in db.get_foreign_key_columns(order_id)] == [customer]
    db.remove_foreign_key_relationship(order_id, customer)
    assert db.get_foreign_key_columns(order_id) == []


def test_api_operations_and_parameter_lists(make_context: ContextFactory) -> None:
    api = make_context("api")
    deployed = api.create_api("http://h/petstore", {"name": "petstore"})
    operation = api.create_api_operation("http://h/petstore GET /pets", {"path": "/pets", "command": "GET"},
                                         parent_guid=deployed)  # fmt: skip
    request = api.create_api_parameter_list("http://h/petstore GET /pets request", api_operation_guid=operation)
    parameter = api.create_api_parameter("http://h/petstore GET /pets request limit", {"name": "limit"},
                                         parent_guid=request)  # fmt: skip
    assert [e.guid for e in api.get_api_operations_for_api(deployed)] == [operation]
    assert [e.guid for e in api.get_api_parameter_lists_for_operation(operation, "request")] == [request]
    assert api.get_api_parameter_lists_for_operation(operation, "response") == []
    assert [e.guid for e in api.get_api_parameters_for_list(request)] == [parameter]


def test_topic_event_types_and_schema_attributes(make_context: ContextFactory) -> None:
    topics = make_context("topic")
    topic = topics.create_topic("kafka://b/orders", {"name": "orders"}, type_name="KafkaTopic")
    event_type = topics.create_event_type("kafka://b/orders::OrderPlaced", {"name": "OrderPlaced"}, parent_guid=topic)
    attribute = topics.create_event_schema_attribute("kafka://b/orders::OrderPlaced.id", parent_guid=event_type)
    assert [e.guid for e in topics.get_event_types_for_topic(topic)] == [event_type]
    assert [e.guid for e in topics.get_event_schema_attributes_for_event_type(event_type)] == [attribute]


def test_lineage_links_processes_and_data(make_context: ContextFactory) -> None:
    lineage = make_context("lineage")
    parent = lineage.create_process("etl/nightly", {"name": "nightly"})
    child = lineage.create_process("etl/nightly/load", {"name": "load"})
    source = lineage.create_data_asset("pg://h/raw", {"name": "raw"}, type_name="DataSet")
    target = lineage.create_data_asset("pg://h/clean", {"name": "clean"}, type_name="DataSet")
    lineage.setup_process_parent(parent, child, {"containmentType": "OWNED"})
    lineage.setup_data_flow(source, child)
    lineage.setup_data_flow(child, target)
    lineage.setup_control_flow(parent, child)
    lineage.setup_process_call(parent, child)
    lineage.setup_lineage_mapping(source, target)
    assert [e.guid for e in lineage.get_child_processes(parent)] == [child]
    assert [e.guid for e in lineage.get_data_flow_suppliers(child)] == [source]
    assert [e.guid for e in lineage.get_data_flow_consumers(child)] == [target]
    assert [e.guid for e in lineage.get_control_flow_next_steps(parent)] == [child]
    assert [e.guid for e in lineage.get_called_processes(parent)] == [child]
    assert [e.guid for e in lineage.get_destination_lineage_mappings(source)] == [target]
    lineage.clear_data_flow(source, child)
    assert lineage.get_data_flow_suppliers(child) == []


def _run_event(job: str, inputs: list[str], outputs: list[str], state: RunState = RunState.COMPLETE) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="airflow", name=job),
        inputs=[InputDataset(namespace="postgres://db:5432", name=name) for name in inputs],
        outputs=[OutputDataset(namespace="file", name=name) for name in outputs],
        producer="https://example.invalid/producer",
    )


def test_an_openlineage_run_event_becomes_a_process_with_data_flows(make_context: ContextFactory) -> None:
    files = make_context("files", source=OTHER_SOURCE)
    report = files.create_data_file("file:///reports/daily.csv", {"name": "daily.csv"}, type_name="CSVFile")
    lineage = make_context("lineage")
    run = lineage.publish_open_lineage_event(
        _run_event("daily_report", ["sales.public.orders"], ["/reports/daily.csv"])
    )
    process = lineage.get_process_by_guid(run.process_guid)
    assert (process.qualified_name, process.properties["name"]) == (
        "openlineage:job:airflow/daily_report",
        "daily_report",
    )
    assert run.output_guids == [report]  # the file the files service catalogued, linked, not duplicated
    [orders] = lineage.get_data_flow_suppliers(run.process_guid)
    assert orders.qualified_name == "openlineage:postgres://db:5432/sales.public.orders"
    assert [e.guid for e in lineage.get_data_flow_consumers(run.process_guid)] == [report]
    again = lineage.publish_open_lineage_event(_run_event("daily_report", ["sales.public.orders"], []))
    assert again.process_guid == run.process_guid
    assert len(lineage.get_my_processes()) == 1


def test_openlineage_json_with_a_parent_run_nests_the_job_and_keeps_its_description(
    make_context: ContextFactory,
) -> None:
    lineage = make_context("lineage")
    event = {
        "eventType": "START",
        "eventTime": "2024-05-01T10:00:00Z",
        "producer": "https://example.invalid/producer",
        "run": {
            "runId": str(uuid.uuid4()),
            "facets": {"parent": {"run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "airflow", "name": "dag"}}},
        },
        "job": {"namespace": "airflow", "name": "dag.task", "facets": {"documentation": {"description": "Loads."}}},
        "inputs": [],
        "outputs": [{"namespace": "s3://bucket", "name": "out/x.parquet", "facets": {"custom": {"anything": 1}}}],
    }
    import json

    run = lineage.publish_open_lineage_event(json.dumps(event))
    assert lineage.get_process_by_guid(run.process_guid).properties["description"] == "Loads."
    assert [e.guid for e in lineage.get_child_processes(run.parent_process_guid)] == [run.process_guid]
    with pytest.raises(InvalidOpenLineageEvent, match="runId"):
        lineage.publish_open_lineage_event({**event, "run": {}})


def test_team_members_and_leaders_are_appointed_through_the_teams_roles(make_context: ContextFactory) -> None:
    org = make_context("organization")
    team = org.create_team("team:platform", {"name": "Platform"})
    sub_team = org.create_team("team:platform/db", {"name": "DB"})
    ada = org.create_person("person:ada", {"name": "Ada", "fullName": "Ada Lovelace"})
    alan = org.create_person("person:alan", {"name": "Alan"})
    org.add_team_member(team, ada)
    org.add_team_member(team, alan)
    org.add_team_leader(team, ada)
    org.link_teams_in_hierarchy(team, sub_team)
    assert {e.guid for e in org.get_team_members(team)} == {ada, alan}
    assert [e.guid for e in org.get_team_leaders(team)] == [ada]
    assert [e.guid for e in org.get_sub_teams(team)] == [sub_team]
    org.remove_team_member(team, alan)
    assert [e.guid for e in org.get_team_members(team)] == [ada]
    contact = org.add_contact_method("person:ada::email", {"contactMethodValue": "ada@example.invalid"},
                                     parent_guid=ada)  # fmt: skip
    assert [e.guid for e in org.get_contact_methods(ada)] == [contact]


def test_many_people_and_links_are_written_in_one_call_each_and_again_change_nothing(
    make_context: ContextFactory,
) -> None:
    org = make_context("organization")
    upserts = [ElementUpsert(f"person:{n}", {"name": n}, "Person") for n in ("ada", "alan", "grace")]
    people = [guid for guid, _ in org.upsert_people(upserts)]
    (team, _), (sub_team, _) = org.upsert_teams(
        [ElementUpsert("team:platform", {"name": "Platform"}), ElementUpsert("team:platform/db", {"name": "DB"})]
    )
    org.add_team_member(team, people[0])  # one at a time and in bulk: the same member role
    added = org.add_team_members(team, people)
    assert [change for _, change in added] == [
        ChangeKind.UNCHANGED,
        ChangeKind.RELATIONSHIP_CREATED,
        ChangeKind.RELATIONSHIP_CREATED,
    ]
    org.add_team_leaders(team, people[:1])
    org.link_teams_in_hierarchy_many([(team, sub_team)])
    identities = [guid for guid, _ in org.upsert_user_identities([ElementUpsert("person:ada::id", {"userId": "ada"})])]
    org.add_user_identities_to_profiles([(people[0], identities[0])])
    contacts = org.upsert_contact_methods([ElementUpsert("person:ada::email", {"contactMethodValue": "a@x.invalid"})])
    org.link_contact_methods([(people[0], contacts[0][0])])
    assert {e.guid for e in org.get_team_members(team)} == set(people)
    assert [e.guid for e in org.get_team_leaders(team)] == [people[0]]
    assert [e.guid for e in org.get_sub_teams(team)] == [sub_team]
    assert [e.guid for e in org.get_user_identities_of_profile(people[0])] == identities
    assert [e.guid for e in org.get_contact_methods(people[0])] == [contacts[0][0]]
    again = org.add_team_members(team, people) + org.link_teams_in_hierarchy_many([(team, sub_team)])
    assert {change for _, change in again} == {ChangeKind.UNCHANGED}


def test_external_identifiers_map_third_party_ids_to_guids_with_last_synchronized(
    make_context: ContextFactory,
) -> None:
    catalog = make_context("catalog")
    glossary = catalog.create_glossary("glossary:sales", {"name": "Sales"})
    term = catalog.create_glossary_term("glossary:sales/revenue", {"name": "Revenue"}, parent_guid=glossary)
    before = datetime.now(UTC)
    catalog.add_external_identifier(term, "atlas-42", mapping_properties={"atlasType": "term"})
    assert [e.guid for e in catalog.get_elements_for_external_identifier("atlas-42")] == [term]
    [link] = catalog.get_external_identifiers(term)
    assert (link.identifier, link.mapping_properties) == ("atlas-42", {"atlasType": "term"})
    assert link.last_synchronized is not None and link.last_synchronized >= before
    confirmed = catalog.confirm_synchronization(term, "atlas-42")
    assert catalog.get_external_identifiers(term)[0].last_synchronized == confirmed
    other = make_context("catalog", source=OTHER_SOURCE)
    assert other.get_elements_for_external_identifier("atlas-42") == []  # identifiers are per source
    catalog.remove_external_identifier(term, "atlas-42")
    assert catalog.get_elements_for_external_identifier("atlas-42") == []
    assert [e.guid for e in catalog.get_terms_for_glossary(glossary)] == [term]


def test_glossary_terms_are_assigned_to_assets(make_context: ContextFactory) -> None:
    catalog = make_context("catalog")
    glossary = catalog.create_glossary("glossary:g", {"name": "G"})
    term = catalog.create_glossary_term("glossary:g/customer", {"name": "Customer"}, parent_guid=glossary)
    category = catalog.create_glossary_category("glossary:g/people", {"name": "People"}, parent_guid=glossary)
    asset = catalog.create_data_asset("pg://h/customers", {"name": "customers"}, type_name="DataSet")
    catalog.setup_semantic_assignment(asset, term, {"status": "VALIDATED"})
    catalog.setup_term_category(category, term)
    assert [e.guid for e in catalog.get_meanings(asset)] == [term]
    assert [e.guid for e in catalog.get_terms_for_category(category)] == [term]


def test_security_groups_and_infrastructure_deployments(make_context: ContextFactory) -> None:
    security = make_context("security")
    group = security.create_security_group("group:admins", {"name": "admins", "distinguishedName": "cn=admins"})
    user = security.create_user_identity("user:ada", {"userId": "ada"})
    security.add_user_to_security_group(group, user)
    assert [e.guid for e in security.get_security_group_members(group)] == [user]
    assert [e.guid for e in security.get_security_groups_for_distinguished_name("cn=admins")] == [group]
    tags = security.add_security_tags(group, {"securityLabels": ["restricted"]}).classification("SecurityTags")
    assert tags is not None and tags.properties == {"securityLabels": ["restricted"]}

    infra = make_context("infrastructure")
    host = infra.create_host("host:h1", {"name": "h1"})
    platform = infra.create_software_server_platform("platform:h1/jvm", {"name": "jvm"})
    server = infra.create_software_server("server:h1/jvm/s", {"name": "s"})
    infra.deploy_software_server_platform(host, platform)
    infra.deploy_software_server(platform, server)
    assert [e.guid for e in infra.get_platforms_on_host(host)] == [platform]
    assert [e.guid for e in infra.get_servers_on_platform(platform)] == [server]


def test_display_fields_hang_off_their_report(make_context: ContextFactory) -> None:
    display = make_context("display")
    report = display.create_report("report:sales", {"name": "sales"})
    container = display.create_data_container("report:sales::layout", parent_guid=report)
    field = display.create_data_field("report:sales::layout.total", {"name": "total"}, parent_guid=container)
    assert [e.guid for e in display.get_data_containers_for_display(report)] == [container]
    assert [e.guid for e in display.get_data_fields_for_container(container)] == [field]


def test_many_files_are_upserted_in_one_call_and_only_new_ones_are_linked(make_context: ContextFactory) -> None:
    files = make_context("files")
    folder, _ = files.upsert_file_folder("file:///many", {"name": "many"})
    upserts = [
        ElementUpsert("file:///many/a.csv", {"name": "a.csv"}, "CSVFile"),
        ElementUpsert("file:///many/b", {"name": "b"}),
    ]
    created = files.upsert_data_files(upserts, parent_guid=folder.guid)
    assert [change for _, change in created] == [ChangeKind.ELEMENT_CREATED] * 2
    assert files.get_data_file_by_guid(created[0][0]).type_name == "CSVFile"
    assert files.get_data_file_by_guid(created[1][0]).type_name == "DataFile"
    assert {e.guid for e in files.get_folder_files(folder.guid)} == {guid for guid, _ in created}
    other, _ = files.upsert_file_folder("file:///other", {"name": "other"})
    again = files.upsert_data_files(upserts, parent_guid=other.guid)
    assert again == [(guid, ChangeKind.UNCHANGED) for guid, _ in created]
    assert files.get_folder_files(other.guid) == [], "an unchanged file is not linked again"
    with pytest.raises(TypeErrorInRepository):
        files.upsert_data_files([ElementUpsert("file:///many/c", {"name": "c"}, "FileFolder")])
