"""Analytics integration service (Egeria's Analytics Integrator): analytic data sets and analytic processes.

Egeria's analytics context has no element types of its own; the analytics tools it serves (notebooks,
model registries, BI engines) produce data sets and run processes, so this context catalogs those and the
data flows between them. It deliberately reuses the lineage types rather than inventing new ones: a data
set's columns are TabularColumns (as the lineage service's), a dashboard that consumes data sets is a Report,
the glossary terms a tool's documentation defines are GlossaryTerms assigned to what they describe, and the
data quality tests a tool runs are GovernanceRules that govern the data sets and columns they check.
"""

from __future__ import annotations

from metaferry_runtime.repository import Element
from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, ParentLink, RelationshipKind

DATA_SET = ElementKind("DataSet", is_asset=True)
ANALYTICS_PROCESS = ElementKind("Process", is_asset=True)
DATA_SET_COLUMN = ElementKind(
    "TabularColumn", parent=ParentLink("AttributeForSchema", via_schema_type="TabularSchemaType")
)
#: For bulk writers: schema types and columns of many data sets in one call each, linked by link_many.
TABULAR_SCHEMA_TYPE = ElementKind("TabularSchemaType")
TABULAR_COLUMN = ElementKind("TabularColumn")
ASSET_SCHEMA_TYPE = RelationshipKind("AssetSchemaType", end1="asset", end2="schema type")
ATTRIBUTE_FOR_SCHEMA = RelationshipKind("AttributeForSchema", end1="schema type", end2="attribute")
GLOSSARY = ElementKind("Glossary")
GLOSSARY_TERM = ElementKind("GlossaryTerm", parent=ParentLink("TermAnchor"))
GOVERNANCE_RULE = ElementKind("GovernanceRule")
DATA_FLOW = RelationshipKind("DataFlow", end1="data supplier", end2="data consumer")
SEMANTIC_ASSIGNMENT = RelationshipKind("SemanticAssignment", end1="assigned element", end2="meaning")
GOVERNED_BY = RelationshipKind("GovernedBy", end1="governance definition", end2="governed element")


class AnalyticsIntegratorContext(ElementContext):
    """What an analytics connector may do: catalog the data sets and processes of an analytics tool."""

    integration_service = "analytics"

    create_data_set = DATA_SET.create()
    upsert_data_set = DATA_SET.upsert()
    upsert_data_sets = DATA_SET.upsert_many()
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
    upsert_analytics_processes = ANALYTICS_PROCESS.upsert_many()
    update_analytics_process = ANALYTICS_PROCESS.update()
    publish_analytics_process = ANALYTICS_PROCESS.publish()
    withdraw_analytics_process = ANALYTICS_PROCESS.withdraw()
    remove_analytics_process = ANALYTICS_PROCESS.remove()
    find_analytics_processes = ANALYTICS_PROCESS.find()
    get_analytics_processes_by_name = ANALYTICS_PROCESS.get_by_name()
    get_my_analytics_processes = ANALYTICS_PROCESS.get_mine()
    get_analytics_process_by_guid = ANALYTICS_PROCESS.get_by_guid()

    upsert_data_set_columns = DATA_SET_COLUMN.upsert_many()
    get_data_set_columns = DATA_SET_COLUMN.children()
    remove_data_set_column = DATA_SET_COLUMN.remove()

    upsert_tabular_schema_types = TABULAR_SCHEMA_TYPE.upsert_many()
    upsert_tabular_columns = TABULAR_COLUMN.upsert_many()
    setup_asset_schema_types = ASSET_SCHEMA_TYPE.link_many()
    setup_attributes_for_schemas = ATTRIBUTE_FOR_SCHEMA.link_many()

    upsert_glossary = GLOSSARY.upsert()
    get_my_glossaries = GLOSSARY.get_mine()
    upsert_glossary_terms = GLOSSARY_TERM.upsert_many()
    get_glossary_term_by_qualified_name = GLOSSARY_TERM.get_by_qualified_name()
    get_terms_for_glossary = GLOSSARY_TERM.children()
    get_my_glossary_terms = GLOSSARY_TERM.get_mine()
    setup_semantic_assignment = SEMANTIC_ASSIGNMENT.link()
    setup_semantic_assignments = SEMANTIC_ASSIGNMENT.link_many()
    clear_semantic_assignment = SEMANTIC_ASSIGNMENT.unlink()
    get_meanings = SEMANTIC_ASSIGNMENT.end2_elements()
    get_semantic_assignees = SEMANTIC_ASSIGNMENT.end1_elements()

    upsert_governance_rules = GOVERNANCE_RULE.upsert_many()
    get_my_governance_rules = GOVERNANCE_RULE.get_mine()
    get_governance_rule_by_guid = GOVERNANCE_RULE.get_by_guid()
    setup_governed_by = GOVERNED_BY.link()
    setup_governed_by_many = GOVERNED_BY.link_many()
    clear_governed_by = GOVERNED_BY.unlink()
    get_governed_elements = GOVERNED_BY.end2_elements()
    get_governance_definitions = GOVERNED_BY.end1_elements()

    setup_data_flow = DATA_FLOW.link()
    setup_data_flows = DATA_FLOW.link_many()
    clear_data_flow = DATA_FLOW.unlink()
    get_data_flow_consumers = DATA_FLOW.end2_elements()
    get_data_flow_suppliers = DATA_FLOW.end1_elements()

    def get_analytics_element_by_qualified_name(self, qualified_name: str) -> Element | None:
        """The active element with that qualified name, of any type and whoever owns it: an analytics tool's
        data sets link to the tables a database connector catalogued, and its terms to another glossary's."""
        with self.read_transaction() as transaction:
            return transaction.find_element_by_name(qualified_name)
