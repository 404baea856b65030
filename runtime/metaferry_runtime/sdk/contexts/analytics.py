"""Analytics integration service (Egeria's Analytics Integrator): analytic data sets and analytic processes.

Egeria's analytics context has no element types of its own; the analytics tools it serves (notebooks,
model registries, BI engines) produce data sets and run processes, so this context catalogs those and the
data flows between them. It deliberately reuses the lineage types rather than inventing new ones.
"""

from __future__ import annotations

from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, RelationshipKind

DATA_SET = ElementKind("DataSet", is_asset=True)
ANALYTICS_PROCESS = ElementKind("Process", is_asset=True)
DATA_FLOW = RelationshipKind("DataFlow", end1="data supplier", end2="data consumer")


class AnalyticsIntegratorContext(ElementContext):
    """What an analytics connector may do: catalog the data sets and processes of an analytics tool."""

    integration_service = "analytics"

    create_data_set = DATA_SET.create()
    upsert_data_set = DATA_SET.upsert()
    update_data_set = DATA_SET.update()
    publish_data_set = DATA_SET.publish()
    withdraw_data_set = DATA_SET.withdraw()
    remove_data_set = DATA_SET.remove()
    find_data_sets = DATA_SET.find()
    get_data_sets_by_name = DATA_SET.get_by_name()
    get_my_data_sets = DATA_SET.get_mine()
    get_data_set_by_guid = DATA_SET.get_by_guid()

    create_analytics_process = ANALYTICS_PROCESS.create()
    upsert_analytics_process = ANALYTICS_PROCESS.upsert()
    update_analytics_process = ANALYTICS_PROCESS.update()
    publish_analytics_process = ANALYTICS_PROCESS.publish()
    withdraw_analytics_process = ANALYTICS_PROCESS.withdraw()
    remove_analytics_process = ANALYTICS_PROCESS.remove()
    find_analytics_processes = ANALYTICS_PROCESS.find()
    get_analytics_processes_by_name = ANALYTICS_PROCESS.get_by_name()
    get_my_analytics_processes = ANALYTICS_PROCESS.get_mine()
    get_analytics_process_by_guid = ANALYTICS_PROCESS.get_by_guid()

    setup_data_flow = DATA_FLOW.link()
    clear_data_flow = DATA_FLOW.unlink()
    get_data_flow_consumers = DATA_FLOW.end2_elements()
    get_data_flow_suppliers = DATA_FLOW.end1_elements()
