"""Display integration service (Egeria's Display Integrator): forms, reports, queries and their fields.

A form, report or query is an asset; its layout is a DataContainer linked to it by AssetSchemaType, and
the container's DataFields hang off it by AttributeForSchema (nested fields by NestedSchemaAttribute).
A query reads data sets other sources catalogued (a database's tables): the context finds those by
qualified name, whoever owns them, and links them to the query by DataFlow (supplier -> query), the
lineage type, so lineage views show which dashboards read a table.
"""

from __future__ import annotations

from metaferry_runtime.repository import Element
from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, ParentLink, RelationshipKind

FORM = ElementKind("Form", is_asset=True)
REPORT = ElementKind("Report", is_asset=True)
QUERY = ElementKind("Query", is_asset=True)
DATA_CONTAINER = ElementKind("DataContainer", parent=ParentLink("AssetSchemaType"))
DATA_FIELD = ElementKind("DataField", parent=ParentLink("AttributeForSchema"))
NESTED_DATA_FIELD = RelationshipKind("NestedSchemaAttribute", end1="parent field", end2="nested field")
DASHBOARD_QUERY = RelationshipKind("DashboardQuery", end1="display", end2="query")
QUERY_DATA_FLOW = RelationshipKind("DataFlow", end1="data supplier", end2="query")
#: What a query may be linked to as the data it reads: tables and views (and their subtypes).
QUERY_SOURCE_TYPES = ("RelationalTable",)


class DisplayIntegratorContext(ElementContext):
    """What a display connector may do: catalog forms, reports and queries with their containers and fields."""

    integration_service = "display"

    create_form = FORM.create()
    upsert_form = FORM.upsert()
    update_form = FORM.update()
    publish_form = FORM.publish()
    withdraw_form = FORM.withdraw()
    remove_form = FORM.remove()
    find_forms = FORM.find()
    get_forms_by_name = FORM.get_by_name()
    get_my_forms = FORM.get_mine()
    get_form_by_guid = FORM.get_by_guid()

    create_report = REPORT.create()
    upsert_report = REPORT.upsert()
    update_report = REPORT.update()
    publish_report = REPORT.publish()
    withdraw_report = REPORT.withdraw()
    remove_report = REPORT.remove()
    find_reports = REPORT.find()
    get_reports_by_name = REPORT.get_by_name()
    get_my_reports = REPORT.get_mine()
    get_report_by_guid = REPORT.get_by_guid()

    create_query = QUERY.create()
    upsert_query = QUERY.upsert()
    upsert_queries = QUERY.upsert_many()
    update_query = QUERY.update()
    publish_query = QUERY.publish()
    withdraw_query = QUERY.withdraw()
    remove_query = QUERY.remove()
    find_queries = QUERY.find()
    get_queries_by_name = QUERY.get_by_name()
    get_my_queries = QUERY.get_mine()
    get_query_by_guid = QUERY.get_by_guid()
    add_query_to_display = DASHBOARD_QUERY.link()
    add_queries_to_display = DASHBOARD_QUERY.link_many()
    remove_query_from_display = DASHBOARD_QUERY.unlink()
    get_queries_of_display = DASHBOARD_QUERY.end2_elements()
    get_displays_of_query = DASHBOARD_QUERY.end1_elements()
    get_query_by_qualified_name = QUERY.get_by_qualified_name()
    get_report_by_qualified_name = REPORT.get_by_qualified_name()
    add_query_data_source = QUERY_DATA_FLOW.link()
    remove_query_data_source = QUERY_DATA_FLOW.unlink()
    get_query_data_sources = QUERY_DATA_FLOW.end1_elements()

    create_data_container = DATA_CONTAINER.create()
    upsert_data_container = DATA_CONTAINER.upsert()
    upsert_data_containers = DATA_CONTAINER.upsert_many()
    update_data_container = DATA_CONTAINER.update()
    remove_data_container = DATA_CONTAINER.remove()
    find_data_containers = DATA_CONTAINER.find()
    get_data_containers_by_name = DATA_CONTAINER.get_by_name()
    get_my_data_containers = DATA_CONTAINER.get_mine()
    get_data_container_by_guid = DATA_CONTAINER.get_by_guid()
    get_data_containers_for_display = DATA_CONTAINER.children()

    create_data_field = DATA_FIELD.create()
    upsert_data_field = DATA_FIELD.upsert()
    update_data_field = DATA_FIELD.update()
    remove_data_field = DATA_FIELD.remove()
    find_data_fields = DATA_FIELD.find()
    get_data_fields_by_name = DATA_FIELD.get_by_name()
    get_my_data_fields = DATA_FIELD.get_mine()
    get_data_field_by_guid = DATA_FIELD.get_by_guid()
    get_data_fields_for_container = DATA_FIELD.children()
    add_nested_data_field = NESTED_DATA_FIELD.link()
    remove_nested_data_field = NESTED_DATA_FIELD.unlink()
    get_nested_data_fields = NESTED_DATA_FIELD.end2_elements()

    def get_query_source_by_qualified_name(self, qualified_name: str) -> Element | None:
        """The active table or view with that qualified name, whoever catalogued it (a database connector):
        what a query's `FROM` names, to link with `add_query_data_source`. None when there is none."""
        with self.read_transaction() as transaction:
            element = transaction.find_element_by_name(qualified_name)
        if element is None or not any(self.is_type_of(element.type_name, kind) for kind in QUERY_SOURCE_TYPES):
            return None
        return element
