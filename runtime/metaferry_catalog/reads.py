"""The catalogue's reads, synchronous like the repository (the server runs them on worker threads).

Each request is one `reader()` unit of work, so everything in one response comes from one snapshot of
the repository where the backend gives one (PostgreSQL READ COMMITTED gives per-statement snapshots).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from metaferry_catalog.models import (
    ClassificationTypeView,
    ClassificationView,
    CurationView,
    ElementDetail,
    ElementPage,
    ElementProvenance,
    ElementSummary,
    ElementTypeView,
    Graph,
    PropertyView,
    RelationshipPage,
    RelationshipTypeView,
    RelationshipView,
    TypeCatalog,
)
from metaferry_catalog.params import (
    BadRequest,
    LineageParams,
    NeighbourhoodParams,
    PageParams,
    SearchParams,
    decode_cursor,
    encode_cursor,
)
from metaferry_runtime.repository import (
    Element,
    InstanceStatus,
    MetadataRepository,
    Page,
    Relationship,
    Transaction,
    TypeErrorInRepository,
)
from metaferry_runtime.repository.types import PropertyDef, TypeRegistry

#: A graph walk stops (truncated=true) once it holds this many elements: depth 5 of a busy hub is the
#: whole catalogue, and a response that large helps no one.
MAX_GRAPH_NODES = 1000
#: Relationships read per element and hop of a walk.
EDGE_PAGE = Page(page_size=10_000)
#: Relationship types lineage follows; end 1 supplies, end 2 consumes.
LINEAGE_TYPES = ("DataFlow", "LineageMapping")


class Reads:
    def __init__(self, repository: MetadataRepository, types: TypeRegistry) -> None:
        self.repository = repository
        self.types = types

    # --- search and one element ---------------------------------------------------------------------------
    def search(self, params: SearchParams) -> ElementPage:
        offset = decode_cursor(params.cursor, params)
        self._check_type(params.type)
        if params.classification is not None:
            self._check(lambda: self.types.classification(params.classification or ""))
        with self.repository.reader() as reader:
            found = reader.find_elements(
                search_string=params.text,
                type_name=params.type,
                metadata_collection=params.collection,
                zone=params.zone,
                classification=params.classification,
                include_subtypes=params.subtypes,
                include_archived=params.archived,
                page=Page(start_from=offset, page_size=params.limit + 1),
            )
        more = len(found) > params.limit
        return ElementPage(
            items=[ElementSummary.of(e) for e in found[: params.limit]],
            next_cursor=encode_cursor(offset + params.limit, params) if more else None,
        )

    def element(self, guid: str) -> ElementDetail:
        """Archived elements too (status says so): a GUID someone holds should not vanish from view."""
        first = PageParams()
        with self.repository.reader() as reader:
            element = reader.get_element(guid, include_archived=True)
            relationships = self._relationships(reader, element, first)
        return ElementDetail(
            guid=element.guid,
            type_name=element.type_name,
            supertypes=list(self.types.supertypes(element.type_name)[1:]),
            qualified_name=element.qualified_name,
            status=element.status,
            version=element.version,
            properties=element.effective_properties,
            harvested_properties=element.properties,
            curated_properties=element.curated_properties,
            curations={k: CurationView(curator=c.curator, time=c.time) for k, c in element.curations.items()},
            classifications=[ClassificationView(name=c.name, properties=c.properties) for c in element.classifications],
            zones=element.zone_membership,
            create_time=element.create_time,
            update_time=element.update_time,
            provenance=ElementProvenance(
                metadata_collection=element.metadata_collection,
                created_by_refresh=element.provenance.created_by_refresh,
                last_refresh_id=element.provenance.last_refresh_id,
                last_observed_time=element.provenance.last_observed_time,
            ),
            relationships=relationships,
        )

    def relationships(self, guid: str, params: PageParams) -> RelationshipPage:
        with self.repository.reader() as reader:
            return self._relationships(reader, reader.get_element(guid, include_archived=True), params)

    def _relationships(self, reader: Transaction, element: Element, params: PageParams) -> RelationshipPage:
        offset = decode_cursor(params.cursor, params)
        if params.type is not None:
            self._check(lambda: self.types.relationship_type(params.type or ""))
        if element.status is InstanceStatus.ARCHIVED:  # an archived element's relationships are hidden
            return RelationshipPage(items=[], next_cursor=None)
        found = reader.get_relationships(
            element.guid, type_name=params.type, page=Page(start_from=offset, page_size=params.limit + 1)
        )
        more = len(found) > params.limit
        return RelationshipPage(
            items=[RelationshipView.of(r) for r in found[: params.limit]],
            next_cursor=encode_cursor(offset + params.limit, params) if more else None,
        )

    # --- graphs -------------------------------------------------------------------------------------------
    def neighbourhood(self, guid: str, params: NeighbourhoodParams) -> Graph:
        if params.type is not None:
            self._check(lambda: self.types.relationship_type(params.type or ""))

        def steps(reader: Transaction, node: str) -> list[tuple[Relationship, str]]:
            found = reader.get_relationships(node, type_name=params.type, page=EDGE_PAGE)
            return [(r, r.end2_guid if r.end1_guid == node else r.end1_guid) for r in found]

        return self._walk(guid, params.depth, steps)

    def lineage(self, guid: str, params: LineageParams) -> Graph:
        """Upstream: the suppliers (end 1 of DataFlow, source of LineageMapping) of what is reached so far;
        downstream: the consumers (end 2)."""
        upstream = params.direction == "upstream"

        def steps(reader: Transaction, node: str) -> list[tuple[Relationship, str]]:
            out = []
            for type_name in LINEAGE_TYPES:
                for r in reader.get_relationships(node, type_name=type_name, page=EDGE_PAGE):
                    if upstream and r.end2_guid == node:
                        out.append((r, r.end1_guid))
                    elif not upstream and r.end1_guid == node:
                        out.append((r, r.end2_guid))
            return out

        return self._walk(guid, params.depth, steps)

    def _walk(
        self, guid: str, depth: int, steps: Callable[[Transaction, str], list[tuple[Relationship, str]]]
    ) -> Graph:
        """Breadth first from `guid`, each element and relationship once, to `depth` hops."""
        with self.repository.reader() as reader:
            root = reader.get_element(guid)
            nodes: dict[str, Element] = {root.guid: root}
            edges: dict[str, Relationship] = {}
            frontier: deque[tuple[str, int]] = deque([(root.guid, 0)])
            truncated = False
            while frontier and not truncated:
                node, hops = frontier.popleft()
                if hops == depth:
                    continue
                for relationship, other in steps(reader, node):
                    if other not in nodes:
                        if len(nodes) >= MAX_GRAPH_NODES:
                            truncated = True
                            break
                        nodes[other] = reader.get_element(other)
                        frontier.append((other, hops + 1))
                    edges[relationship.guid] = relationship
        return Graph(
            root=root.guid,
            depth=depth,
            nodes=[ElementSummary.of(e) for e in nodes.values()],
            edges=[RelationshipView.of(r) for r in edges.values()],
            truncated=truncated,
        )

    # --- types --------------------------------------------------------------------------------------------
    def type_catalog(self) -> TypeCatalog:
        types = self.types
        return TypeCatalog(
            element_types=[
                ElementTypeView(
                    name=t.name,
                    supertype=t.supertype,
                    description=t.description,
                    properties=_properties(types.allowed_properties(t.name)),
                )
                for t in map(types.element_type, types.element_type_names)
            ],
            relationship_types=[
                RelationshipTypeView(
                    name=t.name,
                    end1_type=t.end1_type,
                    end1_name=t.end1_name,
                    end2_type=t.end2_type,
                    end2_name=t.end2_name,
                    description=t.description,
                    properties=_properties(t.properties),
                )
                for t in map(types.relationship_type, types.relationship_type_names)
            ],
            classifications=[
                ClassificationTypeView(
                    name=c.name,
                    valid_entity_types=list(c.valid_entity_types),
                    description=c.description,
                    properties=_properties(c.properties),
                )
                for c in map(types.classification, types.classification_names)
            ],
        )

    def _check_type(self, type_name: str | None) -> None:
        if type_name is not None:
            self._check(lambda: self.types.element_type(type_name))

    @staticmethod
    def _check(look_up: Callable[[], object]) -> None:
        try:
            look_up()
        except TypeErrorInRepository as error:
            raise BadRequest(f"{error} (GET /api/v1/types lists them)") from None


def _properties(defs: dict[str, PropertyDef]) -> dict[str, PropertyView]:
    return {
        name: PropertyView(kind=d.kind.value, values=list(d.values) if d.values else None)
        for name, d in sorted(defs.items())
    }
