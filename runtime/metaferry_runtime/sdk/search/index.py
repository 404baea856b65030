"""A Tantivy index of open metadata elements in one directory, with its out-topic cursor inside it.

Why the cursor is a document of the index and not a file beside it: Tantivy makes a commit visible by
replacing its meta file atomically, so the cursor document and the changes it covers become durable
together or not at all. A crash (a killed pod, a lost node) can therefore never leave a cursor ahead of
the index; it can only leave the index at an earlier commit, from which the out topic is replayed, and
replaying is harmless because every change is an upsert by guid (delete the guid's document, add the
new one) or a delete.

One writer per directory (Tantivy's lock file enforces it); readers (`metaferry-runtime search`, another
process) open the directory read-only and see each commit as it lands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from metaferry_runtime.repository import Element
from metaferry_runtime.sdk.search import documents
from metaferry_runtime.sdk.search.documents import Supertypes

#: The index lives in this subdirectory of the configured directory: a new format gets a new one.
INDEX_SUBDIRECTORY = f"v{documents.FORMAT_VERSION}"
#: Characters of a highlight's fragment.
SNIPPET_CHARS = 160


class SearchIndexError(Exception):
    """The index directory cannot be opened or read (missing, not an index, locked by another writer)."""


@dataclass(frozen=True)
class SearchHit:
    guid: str
    score: float
    type_name: str
    qualified_name: str
    name: str
    metadata_collection: str
    #: Field name -> HTML fragment with the matched words in <b>, for the fields that matched.
    highlights: dict[str, str] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "guid": self.guid,
            "score": self.score,
            "typeName": self.type_name,
            "qualifiedName": self.qualified_name,
            "name": self.name,
            "metadataCollection": self.metadata_collection,
            "highlights": {_camel(key): value for key, value in self.highlights.items()},
        }


@dataclass(frozen=True)
class SearchResults:
    query: str
    hits: list[SearchHit]
    #: Words the query parser could not use (a bad field name, an unbalanced quote): reported, not fatal.
    problems: list[str] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return {"query": self.query, "hits": [hit.to_wire() for hit in self.hits], "problems": self.problems}


def index_directory(directory: str | Path) -> Path:
    return Path(directory) / INDEX_SUBDIRECTORY


class SearchIndex:
    """Open (or create) the index under `directory`; `writable` takes Tantivy's writer lock."""

    def __init__(
        self, directory: str | Path, *, writable: bool, heap_bytes: int = 64_000_000, threads: int = 1
    ) -> None:
        self.path = index_directory(directory)
        self.schema = documents.build_schema()
        try:
            if writable:
                self.path.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
                self._writer: tantivy.IndexWriter | None = self._index.writer(heap_size=heap_bytes, num_threads=threads)
            else:
                if not self.path.is_dir() or not tantivy.Index.exists(str(self.path)):
                    raise SearchIndexError(f"{self.path} holds no search index (has the search-indexer run?)")
                self._index = tantivy.Index.open(str(self.path))
                self._writer = None
        except ValueError as error:
            raise SearchIndexError(f"cannot open the search index in {self.path}: {error}") from None
        self._index.config_reader(reload_policy="commit")

    # --- writing ----------------------------------------------------------------------------------------------
    def apply(self, changes: Mapping[str, Element | None], *, cursor: int, supertypes: Supertypes) -> None:
        """One commit: each guid's document replaced by its element's (None: removed), and the cursor set."""
        writer = self._require_writer()
        try:
            for guid, element in changes.items():
                writer.delete_documents_by_term(documents.GUID, guid)
                if element is not None:
                    writer.add_document(tantivy.Document(**documents.element_fields(element, supertypes)))
            self._set_cursor(writer, cursor)
            writer.commit()
        except BaseException:
            writer.rollback()
            raise

    def rebuild(self, pages: Iterable[list[Element]], *, cursor: int, supertypes: Supertypes) -> int:
        """Replace everything with `pages`, in one commit (until it lands, readers see the old index whole)."""
        writer = self._require_writer()
        count = 0
        try:
            writer.delete_all_documents()
            for page in pages:
                for element in page:
                    writer.add_document(tantivy.Document(**documents.element_fields(element, supertypes)))
                count += len(page)
            self._set_cursor(writer, cursor)
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        return count

    def close(self) -> None:
        """Let go of the writer lock (waiting for the merges in progress)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.wait_merging_threads()

    def _set_cursor(self, writer: tantivy.IndexWriter, cursor: int) -> None:
        writer.delete_documents_by_term(documents.GUID, documents.CURSOR_GUID)
        writer.add_document(tantivy.Document(**documents.cursor_fields(cursor)))

    def _require_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            raise SearchIndexError(f"the search index in {self.path} is open read-only")
        return self._writer

    # --- reading ----------------------------------------------------------------------------------------------
    def cursor(self) -> int | None:
        """The sequence of the last out-topic event the committed index covers; None for a new index."""
        self._index.reload()
        searcher = self._index.searcher()
        query = tantivy.Query.term_query(self.schema, documents.KIND, documents.CURSOR_KIND)
        hits = searcher.search(query, limit=1).hits
        if not hits:
            return None
        value = searcher.doc(hits[0][1]).get_first(documents.SEQUENCE)
        return int(value) if value is not None else None

    def count(self) -> int:
        """The elements indexed (the cursor document left out)."""
        self._index.reload()
        searcher = self._index.searcher()
        query = tantivy.Query.term_query(self.schema, documents.KIND, documents.CURSOR_KIND)
        return int(searcher.num_docs) - len(searcher.search(query, limit=1).hits)

    def guids(self) -> list[str]:
        """Every indexed element's guid, once per document: a guid twice would be a duplicate (for tests)."""
        total = max(1, self.count())
        searcher = self._index.searcher()
        query = tantivy.Query.term_query(self.schema, documents.KIND, documents.ELEMENT_KIND)
        hits = searcher.search(query, total).hits
        return [str(searcher.doc(address).get_first(documents.GUID)) for _, address in hits]

    def search(self, text: str, *, type_name: str | None = None, limit: int = 10) -> SearchResults:
        """The `limit` best elements for `text` (Tantivy's query syntax: words, "phrases", -excluded, field:word),
        ranked by BM25 with names weighted most, of `type_name` or its subtypes when given, with highlights.
        It sees the last commit (the reader reloads now, not when its background reload comes round)."""
        self._index.reload()
        searcher = self._index.searcher()
        parsed, errors = self._index.parse_query_lenient(
            text, default_field_names=list(documents.SEARCHED_FIELDS), field_boosts=dict(documents.FIELD_BOOSTS)
        )
        element = tantivy.Query.term_query(self.schema, documents.KIND, documents.ELEMENT_KIND)
        clauses = [(tantivy.Occur.Must, parsed), (tantivy.Occur.Must, element)]
        if type_name:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_query(self.schema, documents.TYPES, type_name)))
        query = tantivy.Query.boolean_query(clauses)
        found = searcher.search(query, limit=max(1, limit), count=False).hits
        generators = {name: self._snippets(searcher, parsed, name) for name in documents.HIGHLIGHTED_FIELDS}
        hits = []
        for score, address in found:
            document = searcher.doc(address)
            highlights = {}
            for name, generator in generators.items():
                snippet = generator.snippet_from_doc(document)
                if snippet.highlighted():
                    highlights[name] = snippet.to_html()
            hits.append(
                SearchHit(
                    guid=str(document.get_first(documents.GUID)),
                    score=float(score),
                    type_name=str(document.get_first(documents.TYPE_NAME)),
                    qualified_name=str(document.get_first(documents.QUALIFIED_NAME)),
                    name=str(document.get_first(documents.NAME) or ""),
                    metadata_collection=str(document.get_first(documents.METADATA_COLLECTION)),
                    highlights=highlights,
                )
            )
        return SearchResults(query=text, hits=hits, problems=[str(error) for error in errors])

    def _snippets(self, searcher: tantivy.Searcher, query: tantivy.Query, name: str) -> tantivy.SnippetGenerator:
        generator = tantivy.SnippetGenerator.create(searcher, query, self.schema, name)
        generator.set_max_num_chars(SNIPPET_CHARS)
        return generator


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
