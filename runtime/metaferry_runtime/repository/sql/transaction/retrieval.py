"""Retrieval: the reads of the Transaction interface. Each sees the transaction's own writes: a read by GUID
or name is answered from the cache when it can, and a query flushes first. The SQL is in queries.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from metaferry_runtime.repository.model import Element, Page, Relationship
from metaferry_runtime.repository.sql import queries
from metaferry_runtime.repository.sql.records import ARCHIVED
from metaferry_runtime.repository.sql.schema import elements
from metaferry_runtime.repository.sql.transaction.base import TransactionBase


class Retrieval(TransactionBase):
    def get_element(self, guid: str, *, include_archived: bool = False) -> Element:
        self._check_open()
        return self._require(guid, include_archived=include_archived).model()

    def find_element_by_name(self, qualified_name: str, *, include_archived: bool = False) -> Element | None:
        self._check_open()
        record = self._elements.by_key.get(qualified_name)
        if record is None and qualified_name not in self._elements.unchecked:
            record = self._elements.read_first(
                self._elements.select().where(elements.c.qualified_name == qualified_name)
            )
        if record is None or (record.status == ARCHIVED and not include_archived):
            return None
        return record.model()

    def find_elements(
        self,
        *,
        search_string: str | None = None,
        type_name: str | None = None,
        metadata_collection: str | None = None,
        zone: str | None = None,
        classification: str | None = None,
        include_subtypes: bool = True,
        include_archived: bool = False,
        page: Page | None = None,
    ) -> list[Element]:
        self._check_open()
        type_names: Iterable[str] | None = None
        if type_name is not None:
            type_names = (
                self._types.subtypes(type_name) if include_subtypes else {self._types.element_type(type_name).name}
            )
        self.flush()
        query = queries.find_elements(
            search_string=search_string,
            type_names=None if type_names is None else set(type_names),
            metadata_collection=metadata_collection,
            zone=zone,
            classification=classification,
            include_archived=include_archived,
            page=page,
            postgresql=self._db.postgresql,
            columns=self._elements.columns,
        )
        return [record.model() for record in self._elements.read(query)]

    def get_relationships(
        self, guid: str, *, type_name: str | None = None, page: Page | None = None
    ) -> list[Relationship]:
        self._check_open()
        self._require(guid)
        self.flush()
        query = queries.relationships_of(guid, type_name=type_name, page=page, columns=self._relationships.columns)
        return [record.model() for record in self._relationships.read(query)]

    def get_related_elements(
        self,
        guid: str,
        *,
        relationship_type: str | None = None,
        at_end: int | None = None,
        page: Page | None = None,
    ) -> list[Element]:
        self._check_open()
        if at_end not in (None, 1, 2):
            raise ValueError("at_end must be 1, 2 or None")
        self._require(guid)
        self.flush()
        query = queries.related_elements(
            guid, relationship_type=relationship_type, at_end=at_end, page=page, columns=self._elements.columns
        )
        return [record.model() for record in self._elements.read(query)]
