"""Display integration service (Egeria's Display Integrator): forms, reports, queries and their fields.

A form, report or query is an asset; its layout is a DataContainer linked to it by AssetSchemaType, and
the container's DataFields hang off it by AttributeForSchema (nested fields by NestedSchemaAttribute).
"""

from __future__ import annotations

from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, ParentLink, RelationshipKind

FORM = ElementKind("Form", is_asset=True)
REPORT = ElementKind("Report", is_asset=True)
QUERY = ElementKind("Query", is_asset=True)
DATA_CONTAINER = ElementKind("DataContainer", parent=ParentLink("AssetSchemaType"))
DATA_FIELD = ElementKind("DataField", parent=ParentLink("AttributeForSchema"))
NESTED_DATA_FIELD = RelationshipKind("NestedSchemaAttribute", end1="parent field", end2="nested field")
DASHBOARD_QUERY = RelationshipKind("DashboardQuery", end1="display", end2="query")


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
    update_query = QUERY.update()
    publish_query = QUERY.publish()
    withdraw_query = QUERY.withdraw()
    remove_query = QUERY.remove()
    find_queries = QUERY.find()
    get_queries_by_name = QUERY.get_by_name()
    get_my_queries = QUERY.get_mine()
    get_query_by_guid = QUERY.get_by_guid()
    add_query_to_display = DASHBOARD_QUERY.link()
    remove_query_from_display = DASHBOARD_QUERY.unlink()
    get_queries_of_display = DASHBOARD_QUERY.end2_elements()

    create_data_container = DATA_CONTAINER.create()
    upsert_data_container = DATA_CONTAINER.upsert()
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
