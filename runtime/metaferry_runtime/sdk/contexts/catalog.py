"""Catalog integration service (Egeria's Catalog Integrator): glossaries, data assets, their schemas, lineage
and external identifiers.

As Egeria's asset manager does, the service exchanges whole assets with another catalog: a database's schemas
(DataContentForDataSet), tables and columns (with the database service's shape), a folder's files (NestedFile),
a data set's columns (TabularSchemaType -> TabularColumn, as the lineage service's), processes and the
DataFlow links between them and the data they read and write.

Two-way synchronization with another catalog needs a durable map between the third party's identifiers
and open metadata GUIDs, and a record of when each pair was last brought in step. As in Egeria, a
third-party identifier is an ExternalIdentifier element (named `<metadata source>::<identifier>`, so each
source has its own identifier space) linked to the open metadata element by ExternalIdLink, whose
`lastSynchronized` says when the two were last in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from metaferry_runtime.repository import Element, ElementNotFound, Transaction
from metaferry_runtime.sdk.contexts._elements import (
    MAX_PAGE_SIZE,
    ElementContext,
    ElementKind,
    ParentLink,
    RelationshipKind,
    page_of,
)

GLOSSARY = ElementKind("Glossary")
GLOSSARY_TERM = ElementKind("GlossaryTerm", parent=ParentLink("TermAnchor"))
GLOSSARY_CATEGORY = ElementKind("GlossaryCategory", parent=ParentLink("CategoryAnchor"))
DATA_ASSET = ElementKind("DataAsset", is_asset=True)
CONNECTION = ElementKind("Connection")
PROCESS = ElementKind("Process", is_asset=True)
DATABASE_TABLE = ElementKind(
    "RelationalTable", parent=ParentLink("AttributeForSchema", via_schema_type="RelationalDBSchemaType")
)
DATABASE_COLUMN = ElementKind("RelationalColumn", parent=ParentLink("NestedSchemaAttribute"))
DATA_SET_COLUMN = ElementKind(
    "TabularColumn", parent=ParentLink("AttributeForSchema", via_schema_type="TabularSchemaType")
)
DATA_CONTENT_FOR_DATA_SET = RelationshipKind("DataContentForDataSet", end1="data store", end2="data set")
NESTED_FILE = RelationshipKind("NestedFile", end1="folder", end2="file")
FOLDER_HIERARCHY = RelationshipKind("FolderHierarchy", end1="parent folder", end2="nested folder")
DATA_FLOW = RelationshipKind("DataFlow", end1="data supplier", end2="data consumer")
TERM_CATEGORIZATION = RelationshipKind("TermCategorization", end1="category", end2="term")
SEMANTIC_ASSIGNMENT = RelationshipKind("SemanticAssignment", end1="assigned element", end2="meaning")
CONNECTION_TO_ASSET = RelationshipKind("ConnectionToAsset", end1="connection", end2="asset")
EXTERNAL_IDENTIFIER = "ExternalIdentifier"
EXTERNAL_ID_LINK = "ExternalIdLink"
EXTERNAL_ID_SCOPE = "ExternalIdScope"


@dataclass(frozen=True)
class ExternalIdentifierLink:
    """One third-party identifier of an open metadata element."""

    identifier: str
    element_guid: str
    external_identifier_guid: str
    last_synchronized: datetime | None
    mapping_properties: dict[str, str]


class CatalogIntegratorContext(ElementContext):
    """What a catalog connector may do: exchange glossaries and assets with another catalog, id by id."""

    integration_service = "catalog"

    create_glossary = GLOSSARY.create()
    upsert_glossary = GLOSSARY.upsert()
    update_glossary = GLOSSARY.update()
    remove_glossary = GLOSSARY.remove()
    find_glossaries = GLOSSARY.find()
    get_glossaries_by_name = GLOSSARY.get_by_name()
    get_my_glossaries = GLOSSARY.get_mine()
    get_glossary_by_guid = GLOSSARY.get_by_guid()

    create_glossary_term = GLOSSARY_TERM.create()
    upsert_glossary_term = GLOSSARY_TERM.upsert()
    update_glossary_term = GLOSSARY_TERM.update()
    remove_glossary_term = GLOSSARY_TERM.remove()
    find_glossary_terms = GLOSSARY_TERM.find()
    get_glossary_terms_by_name = GLOSSARY_TERM.get_by_name()
    get_my_glossary_terms = GLOSSARY_TERM.get_mine()
    get_glossary_term_by_guid = GLOSSARY_TERM.get_by_guid()
    get_terms_for_glossary = GLOSSARY_TERM.children()

    create_glossary_category = GLOSSARY_CATEGORY.create()
    upsert_glossary_category = GLOSSARY_CATEGORY.upsert()
    update_glossary_category = GLOSSARY_CATEGORY.update()
    remove_glossary_category = GLOSSARY_CATEGORY.remove()
    find_glossary_categories = GLOSSARY_CATEGORY.find()
    get_glossary_categories_by_name = GLOSSARY_CATEGORY.get_by_name()
    get_my_glossary_categories = GLOSSARY_CATEGORY.get_mine()
    get_glossary_category_by_guid = GLOSSARY_CATEGORY.get_by_guid()
    get_categories_for_glossary = GLOSSARY_CATEGORY.children()
    setup_term_category = TERM_CATEGORIZATION.link()
    clear_term_category = TERM_CATEGORIZATION.unlink()
    get_terms_for_category = TERM_CATEGORIZATION.end2_elements()

    create_data_asset = DATA_ASSET.create()
    upsert_data_asset = DATA_ASSET.upsert()
    update_data_asset = DATA_ASSET.update()
    publish_data_asset = DATA_ASSET.publish()
    withdraw_data_asset = DATA_ASSET.withdraw()
    remove_data_asset = DATA_ASSET.remove()
    find_data_assets = DATA_ASSET.find()
    get_data_assets_by_name = DATA_ASSET.get_by_name()
    get_my_data_assets = DATA_ASSET.get_mine()
    get_data_asset_by_guid = DATA_ASSET.get_by_guid()

    create_connection = CONNECTION.create()
    upsert_connection = CONNECTION.upsert()
    update_connection = CONNECTION.update()
    remove_connection = CONNECTION.remove()
    find_connections = CONNECTION.find()
    get_connection_by_guid = CONNECTION.get_by_guid()
    setup_asset_connection = CONNECTION_TO_ASSET.link()
    clear_asset_connection = CONNECTION_TO_ASSET.unlink()

    create_process = PROCESS.create()
    upsert_process = PROCESS.upsert()
    update_process = PROCESS.update()
    remove_process = PROCESS.remove()
    find_processes = PROCESS.find()
    get_process_by_guid = PROCESS.get_by_guid()

    setup_data_content_for_data_set = DATA_CONTENT_FOR_DATA_SET.link()
    clear_data_content_for_data_set = DATA_CONTENT_FOR_DATA_SET.unlink()
    get_data_sets_of_store = DATA_CONTENT_FOR_DATA_SET.end2_elements()
    get_stores_of_data_set = DATA_CONTENT_FOR_DATA_SET.end1_elements()
    setup_nested_file = NESTED_FILE.link()
    clear_nested_file = NESTED_FILE.unlink()
    get_folders_of_file = NESTED_FILE.end1_elements()
    setup_folder_hierarchy = FOLDER_HIERARCHY.link()
    clear_folder_hierarchy = FOLDER_HIERARCHY.unlink()
    get_parent_folders = FOLDER_HIERARCHY.end1_elements()

    upsert_database_tables = DATABASE_TABLE.upsert_many()
    get_tables_for_database_schema = DATABASE_TABLE.children()
    upsert_database_columns = DATABASE_COLUMN.upsert_many()
    get_columns_for_database_table = DATABASE_COLUMN.children()
    upsert_data_set_columns = DATA_SET_COLUMN.upsert_many()
    get_data_set_columns = DATA_SET_COLUMN.children()

    setup_data_flow = DATA_FLOW.link()
    clear_data_flow = DATA_FLOW.unlink()
    get_data_flow_consumers = DATA_FLOW.end2_elements()
    get_data_flow_suppliers = DATA_FLOW.end1_elements()

    setup_semantic_assignment = SEMANTIC_ASSIGNMENT.link()
    clear_semantic_assignment = SEMANTIC_ASSIGNMENT.unlink()
    get_meanings = SEMANTIC_ASSIGNMENT.end2_elements()
    get_semantic_assignees = SEMANTIC_ASSIGNMENT.end1_elements()

    def get_catalog_element_by_qualified_name(self, qualified_name: str) -> Element | None:
        """The active element with that qualified name, of any type and whoever owns it: an exchange with another
        catalog links what it brings in to what other sources catalogued instead of cataloguing it twice."""
        with self.read_transaction() as transaction:
            return transaction.find_element_by_name(qualified_name)

    # --- external identifiers ---------------------------------------------------------------------------------
    def add_external_identifier(
        self,
        element_guid: str,
        identifier: str,
        *,
        key_pattern: str = "LOCAL_KEY",
        mapping_properties: Mapping[str, str] | None = None,
        usage: str | None = None,
        scope_guid: str | None = None,
        synchronized: bool = True,
    ) -> str:
        """Record that the third party knows `element_guid` as `identifier`; returns the identifier's GUID.

        With `synchronized` (the default) the pair is recorded as in step now. `scope_guid` names the element
        that scopes the identifier (a server or capability), linked by ExternalIdScope.
        """
        with self.write_transaction("add_external_identifier") as transaction:
            transaction.get_element(element_guid)
            external, _ = transaction.upsert_element(
                EXTERNAL_IDENTIFIER,
                self._external_identifier_name(identifier),
                {
                    "identifier": identifier,
                    "keyPattern": key_pattern,
                    "externalIdentifierSource": self._metadata_source,
                },
            )
            link_properties: dict[str, Any] = {"source": self._metadata_source}
            if mapping_properties:
                link_properties["mappingProperties"] = dict(mapping_properties)
            if usage is not None:
                link_properties["usage"] = usage
            if synchronized:
                link_properties["lastSynchronized"] = datetime.now(UTC)
            transaction.upsert_relationship(EXTERNAL_ID_LINK, element_guid, external.guid, link_properties)
            if scope_guid is not None:
                transaction.upsert_relationship(
                    EXTERNAL_ID_SCOPE,
                    scope_guid,
                    external.guid,
                    {"permittedSynchronization": self._permitted_synchronization.value},
                )
            return external.guid

    def update_external_identifier(
        self,
        element_guid: str,
        identifier: str,
        *,
        mapping_properties: Mapping[str, str] | None = None,
        usage: str | None = None,
    ) -> None:
        """Change what is recorded about the pair (its mapping properties or usage)."""
        changes: dict[str, Any] = {}
        if mapping_properties is not None:
            changes["mappingProperties"] = dict(mapping_properties)
        if usage is not None:
            changes["usage"] = usage
        with self.write_transaction("update_external_identifier") as transaction:
            link = self._link(transaction, element_guid, identifier)
            transaction.update_relationship(link, changes, merge=True)

    def confirm_synchronization(self, element_guid: str, identifier: str) -> datetime:
        """Record that the element and its third-party counterpart are in step now; returns that time."""
        now = datetime.now(UTC)
        with self.write_transaction("confirm_synchronization") as transaction:
            link = self._link(transaction, element_guid, identifier)
            transaction.update_relationship(link, {"lastSynchronized": now}, merge=True)
        return now

    def remove_external_identifier(self, element_guid: str, identifier: str) -> None:
        """Forget the pair; the identifier itself is purged when no element uses it any more."""
        with self.write_transaction("remove_external_identifier") as transaction:
            external = self._external_identifier(transaction, identifier)
            transaction.delete_relationship(self._link(transaction, element_guid, identifier))
            remaining = transaction.get_relationships(
                external.guid, type_name=EXTERNAL_ID_LINK, page=page_of(0, MAX_PAGE_SIZE)
            )
            if not remaining:
                transaction.delete_element(external.guid)

    def get_elements_for_external_identifier(self, identifier: str) -> list[Element]:
        """The open metadata elements this source's `identifier` stands for (usually one)."""
        with self.read_transaction() as transaction:
            external = transaction.find_element_by_name(self._external_identifier_name(identifier))
            if external is None:
                return []
            return transaction.get_related_elements(
                external.guid, relationship_type=EXTERNAL_ID_LINK, at_end=2, page=page_of(0, MAX_PAGE_SIZE)
            )

    def get_external_identifiers(self, element_guid: str) -> list[ExternalIdentifierLink]:
        """Every third-party identifier of the element, with when each was last synchronized."""
        with self.read_transaction() as transaction:
            links = transaction.get_relationships(
                element_guid, type_name=EXTERNAL_ID_LINK, page=page_of(0, MAX_PAGE_SIZE)
            )
            result = []
            for link in links:
                if link.end1_guid != element_guid:
                    continue
                external = transaction.get_element(link.end2_guid)
                synchronized = link.properties.get("lastSynchronized")
                result.append(
                    ExternalIdentifierLink(
                        identifier=str(external.properties.get("identifier", "")),
                        element_guid=element_guid,
                        external_identifier_guid=external.guid,
                        last_synchronized=_as_datetime(synchronized),
                        mapping_properties=dict(link.properties.get("mappingProperties") or {}),
                    )
                )
        return result

    def _external_identifier_name(self, identifier: str) -> str:
        return f"{self._metadata_source}::{identifier}"

    def _external_identifier(self, transaction: Transaction, identifier: str) -> Element:
        external = transaction.find_element_by_name(self._external_identifier_name(identifier))
        if external is None:
            raise ElementNotFound(f"{self._metadata_source} has no external identifier {identifier!r}")
        return external

    def _link(self, transaction: Transaction, element_guid: str, identifier: str) -> str:
        external = self._external_identifier(transaction, identifier)
        for link in transaction.get_relationships(
            external.guid, type_name=EXTERNAL_ID_LINK, page=page_of(0, MAX_PAGE_SIZE)
        ):
            if link.end1_guid == element_guid:
                return link.guid
        raise ElementNotFound(f"{element_guid} is not linked to external identifier {identifier!r}")


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return None
