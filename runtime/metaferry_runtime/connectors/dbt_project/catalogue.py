"""Writing a `Plan` through the analytics context, entry by entry, skipping every entry whose digest matches.

An unchanged entry (its element carries the same digest) is only marked seen, with its schema type and
columns, in one call for all of them; a changed or new one is upserted with its columns, and the links it
owns (its incoming DataFlows, its SemanticAssignments, a rule's GovernedBy) are brought to what the
manifest says: missing ones added, ones the manifest no longer has removed. Links to the warehouse's tables
(`warehouse.py`) are looked up on every refresh, since the database connector may catalogue a table after
dbt's refresh. Deletion detection, scoped to `dbt://<project>/`, archives what the manifest lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from metaferry_runtime.connectors.dbt_project.entries import DIGEST, Entry, Plan
from metaferry_runtime.sdk import Element, ElementUpsert
from metaferry_runtime.sdk.contexts.analytics import AnalyticsIntegratorContext

#: What deletion detection archives when the manifest no longer has it.
DETECTED_TYPES = ("DataSet", "Process", "GovernanceRule", "TabularColumn", "TabularSchemaType", "GlossaryTerm")


@dataclass
class Outcome:
    changed: int = 0
    unchanged: int = 0
    archived: int = 0
    warehouse_links: int = 0


class Cataloguer:
    def __init__(self, context: AnalyticsIntegratorContext, plan: Plan) -> None:
        self.context = context
        self.plan = plan
        self.guids: dict[str, str] = {}

    def write(self, relation_name: Callable[[Entry], str | None] | None) -> Outcome:
        outcome = Outcome()
        context, plan = self.context, self.plan
        existing = self._existing()
        unchanged = [entry for entry in plan.entries if _digest(existing.get(entry.qualified_name)) == entry.digest]
        missing = set(context.mark_observed_by_names(name for entry in unchanged for name in entry.observed_names()))
        kept = {entry.qualified_name for entry in unchanged if not set(entry.observed_names()) & missing}
        changed = [entry for entry in plan.entries if entry.qualified_name not in kept]
        self.guids.update({name: element.guid for name, element in existing.items()})
        terms = self._terms()
        self._upsert(changed)
        for entry in changed:
            self._links(entry, existing.get(entry.qualified_name) is not None, terms)
        if relation_name is not None:
            outcome.warehouse_links = self._warehouse(relation_name)
        archived = context.detect_deletions(type_names=DETECTED_TYPES, scope_prefix=plan.prefix)
        outcome.changed, outcome.unchanged, outcome.archived = (
            len(changed),
            len(plan.entries) - len(changed),
            len(archived),
        )
        return outcome

    def _existing(self) -> dict[str, Element]:
        prefix = self.plan.prefix
        mine = [*self.context.get_my_data_sets(), *self.context.get_my_analytics_processes()]
        mine += self.context.get_my_governance_rules()
        return {element.qualified_name: element for element in mine if element.qualified_name.startswith(prefix)}

    def _terms(self) -> dict[str, str]:
        """Our glossary and its terms (upserted: a few, unchanged ones cost a comparison), by qualified name."""
        if not self.plan.terms:
            return {}
        glossary, _ = self.context.upsert_glossary(self.plan.glossary, {"name": f"{self.plan.prefix} glossary"})
        terms = sorted(self.plan.terms.values(), key=lambda term: term.qualified_name)
        results = self.context.upsert_glossary_terms(
            [ElementUpsert(term.qualified_name, term.properties) for term in terms], parent_guid=glossary.guid
        )
        return {term.qualified_name: guid for term, (guid, _) in zip(terms, results, strict=True)}

    def _upsert(self, entries: list[Entry]) -> None:
        by_type: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            by_type[entry.type_name].append(entry)
        writers = {
            "DataSet": self.context.upsert_data_sets,
            "Report": self.context.upsert_data_sets,
            "Process": self.context.upsert_analytics_processes,
            "GovernanceRule": self.context.upsert_governance_rules,
        }
        for type_name, group in by_type.items():
            upserts = [ElementUpsert(entry.qualified_name, entry.properties, type_name) for entry in group]
            for entry, (guid, _) in zip(group, writers[type_name](upserts), strict=True):
                self.guids[entry.qualified_name] = guid
        self._columns([entry for entry in entries if entry.columns])

    def _columns(self, entries: list[Entry]) -> None:
        """Schema types and columns of all the entries in one bulk upsert each, then their links in one call
        each (what `upsert_data_set_columns(parent_guid=)` does per data set, without a query per data set)."""
        context = self.context
        schemas = context.upsert_tabular_schema_types([ElementUpsert(e.schema_type_name, {}) for e in entries])
        context.setup_asset_schema_types(
            [(self.guids[e.qualified_name], guid) for e, (guid, _) in zip(entries, schemas, strict=True)]
        )
        rows = [
            (schema, name, properties)
            for e, (schema, _) in zip(entries, schemas, strict=True)
            for name, properties in e.columns
        ]
        results = context.upsert_tabular_columns([ElementUpsert(name, properties) for _, name, properties in rows])
        for (_, name, _), (guid, _) in zip(rows, results, strict=True):
            self.guids[name] = guid
        context.setup_attributes_for_schemas(
            [(schema, guid) for (schema, _, _), (guid, _) in zip(rows, results, strict=True)]
        )

    def _links(self, entry: Entry, existed: bool, terms: dict[str, str]) -> None:
        """Bring the links this entry owns to what the manifest says (a new element has none to remove)."""
        context, guid = self.context, self.guids[entry.qualified_name]
        suppliers = {self.guids[name] for name in entry.suppliers if name in self.guids}
        if existed:
            for supplier in context.get_data_flow_suppliers(guid):
                if supplier.guid not in suppliers and supplier.qualified_name.startswith(self.plan.prefix):
                    context.clear_data_flow(supplier.guid, guid)
        context.setup_data_flows([(supplier, guid) for supplier in sorted(suppliers)])
        assigned: dict[str, set[str]] = defaultdict(set)
        for element_name, term_name in entry.terms:
            term = terms.get(term_name) or self._foreign_term(term_name)
            if term is not None and element_name in self.guids:
                assigned[self.guids[element_name]].add(term)
        if existed:
            for element_guid in {guid, *(self.guids[name] for name, _ in entry.columns if name in self.guids)}:
                for meaning in context.get_meanings(element_guid):
                    if meaning.guid not in assigned.get(element_guid, set()):
                        context.clear_semantic_assignment(element_guid, meaning.guid)
        context.setup_semantic_assignments(
            [(element, term) for element, meanings in sorted(assigned.items()) for term in sorted(meanings)]
        )
        if entry.type_name == "GovernanceRule":
            governed = self.guids.get(entry.governs) if entry.governs else None
            if existed:
                for element in context.get_governed_elements(guid):
                    if element.guid != governed:
                        context.clear_governed_by(guid, element.guid)
            if governed is not None:
                context.setup_governed_by(guid, governed)

    def _foreign_term(self, qualified_name: str) -> str | None:
        term = self.context.get_glossary_term_by_qualified_name(qualified_name)
        if term is not None:
            self.guids[qualified_name] = term.guid
        return term.guid if term is not None else None

    def _warehouse(self, relation_name: Callable[[Entry], str | None]) -> int:
        """DataFlow table -> source and model -> table, for the tables the database connector catalogued."""
        pairs: list[tuple[str, str]] = []
        for entry in self.plan.entries:
            name = relation_name(entry)
            table = self.context.get_analytics_element_by_qualified_name(name) if name else None
            if table is None:
                continue
            ours = self.guids[entry.qualified_name]
            pairs.append((ours, table.guid) if entry.produces else (table.guid, ours))
        self.context.setup_data_flows(pairs)
        return len(pairs)


def _digest(element: Element | None) -> str | None:
    if element is None:
        return None
    extra = element.properties.get("additionalProperties") or {}
    value = extra.get(DIGEST)
    return value if isinstance(value, str) else None
