"""What a dbt project becomes in open metadata, decided before anything is written: one `Entry` per node.

Every model, seed, snapshot and source is a DataSet (`dbt://<project>/<unique id>`) with its compiled SQL as
formula and its columns (types from `catalog.json`, the warehouse's own, else the manifest's `data_type`);
every test is a GovernanceRule governing the data set or column it tests; every exposure is a Report (a
dashboard, notebook or analysis) or a Process (an application or ML model) that consumes what it depends on.
`depends_on` gives the DataFlow links, supplier to consumer. Docs blocks and `meta.glossary` terms are
GlossaryTerms assigned to the elements that use them.

An entry's digest covers everything written for it (its properties, columns, links and terms, by name), so
a refresh that finds the same digest on the element knows the whole entry is unchanged and only marks it
seen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metaferry_runtime.connectors.dbt_project.artifacts import Catalog, Column, Exposure, Manifest, Node, Source

DIGEST = "dbtDigest"
CATALOGUED_NODES = ("model", "seed", "snapshot")
#: Exposure types consumed as reports; the others (application, ml) are processes.
REPORT_EXPOSURES = ("dashboard", "notebook", "analysis")


@dataclass
class Entry:
    """One element to write, with its columns and the links it owns."""

    qualified_name: str
    type_name: str  # DataSet, Report, Process or GovernanceRule
    properties: dict[str, Any]
    columns: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (qualified name, properties)
    suppliers: list[str] = field(default_factory=list)  # qualified names whose data flows into this element
    terms: list[tuple[str, str]] = field(default_factory=list)  # (element or column qualified name, term)
    governs: str | None = None  # a rule's data set or column
    relation: tuple[str | None, str | None, str] | None = None  # (database, schema, table) in the warehouse
    produces: bool = False  # True: the element builds its relation; False: it reads it (a source)

    def seal(self) -> None:
        """Compute the digest of everything above into the properties (call once, after the last change)."""
        content: list[Any] = [self.qualified_name, self.type_name, self.properties, self.columns, self.suppliers]
        content += [sorted(self.terms), self.governs]
        text = json.dumps(content, sort_keys=True, default=str).encode()
        extra = self.properties.setdefault("additionalProperties", {})
        extra[DIGEST] = hashlib.sha256(text).hexdigest()

    @property
    def digest(self) -> str:
        return str(self.properties["additionalProperties"][DIGEST])

    @property
    def schema_type_name(self) -> str:
        return f"{self.qualified_name}::TabularSchemaType"

    def observed_names(self) -> list[str]:
        """The names deletion detection must see for this entry to stay."""
        names = [self.qualified_name]
        if self.columns:
            names.append(self.schema_type_name)
            names.extend(name for name, _ in self.columns)
        return names


@dataclass(frozen=True)
class Term:
    qualified_name: str
    properties: dict[str, Any]


@dataclass
class Plan:
    """Everything a refresh writes for one manifest."""

    prefix: str  # `dbt://<project>/`, the scope of deletion detection
    glossary: str
    entries: list[Entry]
    terms: dict[str, Term]  # our own terms, by qualified name; meta terms may name another source's instead


def plan(manifest: Manifest, catalog: Catalog | None, *, project: str | None = None) -> Plan:
    """The elements and links of the manifest (`catalog` adds the warehouse's column types)."""
    name = project or manifest.metadata.project_name or _root_package(manifest)
    return _Planner(manifest, catalog, name).plan()


def _root_package(manifest: Manifest) -> str:
    packages = [node.package_name for node in manifest.nodes.values()] or ["dbt"]
    return max(set(packages), key=packages.count)


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


class _Planner:
    def __init__(self, manifest: Manifest, catalog: Catalog | None, project: str) -> None:
        self.manifest = manifest
        self.catalog = catalog
        self.prefix = f"dbt://{project}/"
        self.glossary = f"{self.prefix}glossary"
        self.terms: dict[str, Term] = {}
        self.dialect = manifest.metadata.adapter_type
        # An older manifest has no doc_blocks: a description equal to a docs block's text uses that block.
        self.docs_by_text = {doc.block_contents.strip(): doc.unique_id for doc in manifest.docs.values()}

    def name_of(self, unique_id: str) -> str:
        return self.prefix + unique_id

    def plan(self) -> Plan:
        entries: list[Entry] = []
        for node in self.manifest.nodes.values():
            if node.resource_type in CATALOGUED_NODES and node.config.enabled:
                entries.append(self.data_set(node))
        entries.extend(self.source(source) for source in self.manifest.sources.values())
        known = {entry.qualified_name for entry in entries}
        for node in self.manifest.nodes.values():
            if node.resource_type == "test" and node.config.enabled:
                entries.append(self.test(node, known))
        entries.extend(self.exposure(exposure) for exposure in self.manifest.exposures.values())
        for entry in entries:
            entry.suppliers = sorted(name for name in entry.suppliers if name in known)
            entry.seal()
        entries.sort(key=lambda entry: entry.qualified_name)
        return Plan(prefix=self.prefix, glossary=self.glossary, entries=entries, terms=self.terms)

    # --- data sets ------------------------------------------------------------------------------------------
    def data_set(self, node: Node) -> Entry:
        extra = self.extra(node.unique_id, node.resource_type, node.package_name, node.original_file_path, node.tags)
        extra.update(self.flat(materialized=node.config.materialized, relation=node.relation_name))
        properties: dict[str, Any] = {
            "name": node.name,
            "description": node.description,
            "deployedImplementationType": f"dbt {node.resource_type}",
            "additionalProperties": extra,
        }
        code = node.compiled_code or node.raw_code
        if code:
            properties["formula"] = code
            properties["formulaType"] = self.formula_type(node.language)
        entry = Entry(self.name_of(node.unique_id), "DataSet", properties, suppliers=self.names(node.depends_on.nodes))
        self.describe(
            entry, node.unique_id, node.columns, node.meta | node.config.meta, node.description, node.doc_blocks
        )
        entry.relation = (node.database, node.schema_, node.alias or node.name)
        entry.produces = True
        return entry

    def source(self, source: Source) -> Entry:
        extra = self.extra(source.unique_id, "source", source.package_name, source.original_file_path, source.tags)
        extra.update(
            self.flat(relation=source.relation_name, sourceName=source.source_name, loader=source.loader or None)
        )
        description = source.description or source.source_description
        properties = {
            "name": f"{source.source_name}.{source.name}",
            "description": description,
            "deployedImplementationType": "dbt source",
            "additionalProperties": extra,
        }
        entry = Entry(self.name_of(source.unique_id), "DataSet", properties)
        self.describe(entry, source.unique_id, source.columns, source.meta, description, source.doc_blocks)
        entry.relation = (source.database, source.schema_, source.identifier)
        return entry

    def describe(
        self,
        entry: Entry,
        unique_id: str,
        columns: Mapping[str, Column],
        meta: Mapping[str, Any],
        description: str,
        doc_blocks: Iterable[str],
    ) -> None:
        """Columns (the catalog's order and types, the manifest's descriptions) and the glossary terms used."""
        documented = {name.lower(): column for name, column in columns.items()}
        table = self.catalog.table(unique_id) if self.catalog is not None else None
        warehouse = sorted((table.columns if table else {}).values(), key=lambda column: column.index or 0)
        seen: set[str] = set()
        rows: list[tuple[str, str | None, int | None]] = [(c.name, c.type, c.index) for c in warehouse]
        rows += [
            (c.name, c.data_type, None) for key, c in documented.items() if key not in {r[0].lower() for r in rows}
        ]
        for position, (name, data_type, _) in enumerate(rows, start=1):
            column = documented.get(name.lower())
            qualified_name = f"{entry.qualified_name}#{column.name if column else name}"
            if qualified_name in seen:
                continue
            seen.add(qualified_name)
            properties: dict[str, Any] = {"name": column.name if column else name, "position": position}
            if data_type or (column and column.data_type):
                properties["dataType"] = data_type or (column.data_type if column else None)
            if column is not None and column.description:
                properties["description"] = column.description
            entry.columns.append((qualified_name, properties))
            if column is not None:
                for term in self.terms_of(column.all_meta, column.description, column.doc_blocks):
                    entry.terms.append((qualified_name, term))
        for term in self.terms_of(meta, description, doc_blocks):
            entry.terms.append((entry.qualified_name, term))

    # --- tests and exposures --------------------------------------------------------------------------------
    def test(self, node: Node, known: set[str]) -> Entry:
        test = node.test_metadata
        kind = test.name if test is not None else "singular"
        extra = self.extra(node.unique_id, "test", node.package_name, node.original_file_path, node.tags)
        extra.update(self.flat(testType=kind, severity=node.config.severity, columnName=node.column_name))
        if test is not None:
            extra.update({f"argument.{key}": _text(value) for key, value in sorted(test.arguments.items())})
        if node.compiled_code or node.raw_code:
            extra["sql"] = node.compiled_code or node.raw_code
        properties = {
            "name": node.name,
            "title": node.name,
            "summary": f"dbt {kind} test" + (f" of column {node.column_name}" if node.column_name else ""),
            "description": node.description,
            "scope": "data quality",
            "implementationDescription": f"dbt test {node.unique_id}",
            "additionalProperties": extra,
        }
        entry = Entry(self.name_of(node.unique_id), "GovernanceRule", properties)
        tested = node.attached_node or next((n for n in node.depends_on.nodes if self.name_of(n) in known), None)
        if tested is not None and self.name_of(tested) in known:
            entry.governs = self.name_of(tested)
            if node.column_name:
                entry.governs += f"#{node.column_name}"
        return entry

    def exposure(self, exposure: Exposure) -> Entry:
        extra = self.extra(exposure.unique_id, "exposure", exposure.package_name, "", exposure.tags)
        extra.update(self.flat(exposureType=exposure.type, maturity=exposure.maturity, ownerEmail=exposure.owner.email))
        properties: dict[str, Any] = {
            "name": exposure.label or exposure.name,
            "description": exposure.description,
            "deployedImplementationType": f"dbt exposure ({exposure.type})",
            "additionalProperties": extra,
        }
        if exposure.owner.name or exposure.owner.email:
            properties["owner"] = exposure.owner.name or exposure.owner.email
        is_report = exposure.type in REPORT_EXPOSURES
        if is_report and exposure.url:
            properties["url"] = exposure.url
        elif exposure.url:
            extra["url"] = exposure.url
        entry = Entry(
            self.name_of(exposure.unique_id),
            "Report" if is_report else "Process",
            properties,
            suppliers=self.names(exposure.depends_on.nodes),
        )
        for term in self.terms_of(exposure.meta, exposure.description, ()):
            entry.terms.append((entry.qualified_name, term))
        return entry

    # --- helpers --------------------------------------------------------------------------------------------
    def names(self, unique_ids: Iterable[str]) -> list[str]:
        return [self.name_of(unique_id) for unique_id in unique_ids]

    def formula_type(self, language: str) -> str:
        if language != "sql":
            return language
        return f"SQL ({self.dialect})" if self.dialect else "SQL"

    @staticmethod
    def flat(**values: str | None) -> dict[str, str]:
        return {key: value for key, value in values.items() if value}

    def extra(self, unique_id: str, resource_type: str, package: str, path: str, tags: Iterable[str]) -> dict[str, str]:
        extra = {"dbtUniqueId": unique_id, "dbtResourceType": resource_type, "dbtPackage": package}
        if path:
            extra["dbtPath"] = path
        if tags:
            extra["dbtTags"] = ",".join(sorted(tags))
        return extra

    def terms_of(self, meta: Mapping[str, Any], description: str, doc_blocks: Iterable[str]) -> list[str]:
        """The qualified names of the glossary terms an element uses: its docs blocks and `meta.glossary`."""
        names: list[str] = []
        blocks = list(doc_blocks)
        if not blocks and description.strip() in self.docs_by_text:
            blocks = [self.docs_by_text[description.strip()]]
        for unique_id in blocks:
            doc = self.manifest.docs.get(unique_id)
            if doc is None:
                continue
            name = f"{self.glossary}/docs/{doc.package_name}.{doc.name}"
            self.terms.setdefault(
                name, Term(name, {"name": doc.name, "displayName": doc.name, "description": doc.block_contents})
            )
            names.append(name)
        glossary = meta.get("glossary")
        listed = [glossary] if isinstance(glossary, str) else glossary if isinstance(glossary, list) else []
        for term in listed:
            if isinstance(term, str) and term.strip():
                names.append(self.meta_term(term.strip()))
        return sorted(set(names))

    def meta_term(self, term: str) -> str:
        """A term named in `meta.glossary`: a qualified name with a scheme names another source's term as it
        is (`catalog://glossary/Customer`); a plain word is a term of the project's glossary."""
        if "://" in term:
            return term
        name = f"{self.glossary}/{term}"
        self.terms.setdefault(name, Term(name, {"name": term, "displayName": term}))
        return name
