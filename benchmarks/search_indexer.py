"""search-indexer: index N elements (default 100,000) from the out topic; query latency p50/p99.

Another source catalogues N elements (CSV files with a name, a path, a description drawn from a small
vocabulary, a file type and a size) into an embedded SQLite repository, in transactions of 10,000: N
ELEMENT_CREATED events. Then the connector starts on a new index directory as the runtime starts it and the
clock runs until its committed cursor reaches the repository's last event: reading the out topic, decoding
the events, folding them, building the documents, Tantivy's indexing and its commits are all inside it.

Floor, same run: the same elements' documents (built beforehand, outside the clock) added to a new Tantivy
index by a bare loop with the same writer settings, then one commit. Target: >= 50 % of the floor's rate.
R rounds (default 3), the connector and the floor interleaved, the best of each.

Queries: Q queries (default 1,000; one or two words of the vocabulary, a file name, with and without a type
filter) through the connector's GET /search handler (ranking and highlights included, as served), p50/p99;
floor: the same queries' bare Tantivy search, no highlights. Target: p99 <= 20 ms.

Run: python benchmarks/search_indexer.py [--elements N] [--queries Q] [--per-commit E] [--rounds R]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tantivy
from _common import percentile, stopwatch, table

from metaferry_runtime.connectors.search_indexer import SearchIndexerConnector
from metaferry_runtime.repository import Element, MetadataRepository, Page, open_repository
from metaferry_runtime.sdk import ApiRequest, ElementUpsert
from metaferry_runtime.sdk.contexts import create_context
from metaferry_runtime.sdk.contexts.files import FilesIntegratorContext
from metaferry_runtime.sdk.search import documents
from metaferry_runtime.testing import ConnectorHarness

WORDS = [
    "customer",
    "orders",
    "invoice",
    "payment",
    "refund",
    "shipment",
    "warehouse",
    "region",
    "campaign",
    "churn",
    "revenue",
    "forecast",
    "ledger",
    "supplier",
    "inventory",
    "returns",
    "margin",
    "budget",
    "audit",
    "session",
    "clickstream",
]
BATCH = 10_000
HEAP_MB, THREADS = 64, 1  # the connector's defaults; the floor's writer gets the same


def catalogue(repository: MetadataRepository, count: int, draw: random.Random) -> None:
    context = create_context(
        "files", repository=repository, connector_name="bench", metadata_source_qualified_name="bench-files"
    )
    assert isinstance(context, FilesIntegratorContext)
    try:
        for start in range(0, count, BATCH):
            upserts = []
            for n in range(start, min(count, start + BATCH)):
                words = draw.sample(WORDS, 3)
                path = f"/data/{words[0]}/{words[1]}_{n:06d}.csv"
                properties = {
                    "name": f"{words[1]}_{n:06d}.csv",
                    "pathName": path,
                    "description": f"{words[0]} {words[1]} extract for {words[2]} reporting",
                    "fileType": "csv",
                    "size": draw.randrange(1, 10_000_000),
                }
                upserts.append(ElementUpsert(f"file://{path}", properties, "CSVFile"))
            with context.change_batch():
                context.upsert_data_files(upserts)
    finally:
        context.disconnect()


def all_elements(repository: MetadataRepository) -> list[Element]:
    found: list[Element] = []
    with repository.reader() as reader:
        while True:
            page = reader.find_elements(page=Page(start_from=len(found), page_size=10_000))
            found += page
            if len(page) < 10_000:
                return found


def floor_indexing(elements: list[Element], directory: Path, supertypes: documents.Supertypes) -> float:
    """Seconds a bare loop takes to add the prepared documents and commit them."""
    fields = [documents.element_fields(element, supertypes) for element in elements]
    directory.mkdir(parents=True)
    index = tantivy.Index(documents.build_schema(), path=str(directory))
    writer = index.writer(heap_size=HEAP_MB * 1_000_000, num_threads=THREADS)
    with stopwatch() as elapsed:
        for document in fields:
            writer.add_document(tantivy.Document(**document))
        writer.commit()
    writer.wait_merging_threads()
    return elapsed[0]


def queries(draw: random.Random, count: int, elements: int) -> list[dict[str, str]]:
    made = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            made.append({"q": draw.choice(WORDS)})
        elif kind == 1:
            made.append({"q": " ".join(draw.sample(WORDS, 2))})
        elif kind == 2:
            made.append({"q": f"{draw.choice(WORDS)}_{draw.randrange(elements):06d}.csv"})
        else:
            made.append({"q": draw.choice(WORDS), "type": "DataFile"})
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elements", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--per-commit", type=int, default=10_000, help="the connector's eventsPerCommit")
    parser.add_argument("--rounds", type=int, default=3, help="indexing rounds (each with its floor); best of each")
    args = parser.parse_args()
    draw = random.Random(16)
    work = Path(tempfile.mkdtemp(prefix="metaferry-bench-search-"))
    url = f"sqlite:///{work / 'repository.db'}"
    repository = open_repository(url)
    print(f"cataloguing {args.elements:,} elements ...", flush=True)
    catalogue(repository, args.elements, draw)
    head = repository.head_sequence()

    elements = all_elements(repository)
    indexing, floor = float("inf"), float("inf")
    harness: ConnectorHarness[SearchIndexerConnector] | None = None
    for round_number in range(args.rounds):  # interleaved, best of each: a busy moment moves one round, not the ratio
        if harness is not None:
            harness.close()
        harness = ConnectorHarness.create(
            SearchIndexerConnector,
            repository_url=url,
            endpoint=str(work / f"index-{round_number}"),
            configuration_properties={"eventsPerCommit": args.per_commit, "writerHeapMegabytes": HEAP_MB},
            start=False,
        )
        connector = harness.connector
        started = time.perf_counter()
        harness.start()
        while connector.indexed_through < head:
            time.sleep(0.005)
        indexing = min(indexing, time.perf_counter() - started)
        assert connector.index.count() == args.elements, connector.index.count()
        floor = min(floor, floor_indexing(elements, work / f"floor-{round_number}", connector.context.supertypes))

    assert harness is not None
    connector = harness.connector
    handler = connector.api_routes()[0].handler
    asked = queries(draw, args.queries, args.elements)
    served, bare, hits = [], [], 0
    searcher_index = connector.index._index
    schema = connector.index.schema
    for query in asked:
        began = time.perf_counter()
        body = handler(ApiRequest("GET", "/search", query)).body
        served.append(time.perf_counter() - began)
        hits += len(body["hits"])
        began = time.perf_counter()
        parsed = searcher_index.parse_query(
            query["q"], default_field_names=list(documents.SEARCHED_FIELDS), field_boosts=documents.FIELD_BOOSTS
        )
        if "type" in query:
            parsed = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, parsed),
                    (tantivy.Occur.Must, tantivy.Query.term_query(schema, documents.TYPES, query["type"])),
                ]
            )
        searcher = searcher_index.searcher()
        for _, address in searcher.search(parsed, limit=10).hits:
            searcher.doc(address)
        bare.append(time.perf_counter() - began)
    harness.close()
    repository.close()
    shutil.rmtree(work, ignore_errors=True)

    rate, floor_rate = args.elements / indexing, args.elements / floor
    ms = 1000.0
    print()
    print(
        table(
            ["measure", "floor", "search-indexer", "ratio", "target"],
            [
                [
                    f"index {args.elements:,} elements from the out topic",
                    f"{floor_rate:,.0f} docs/s ({floor:.2f} s)",
                    f"{rate:,.0f} docs/s ({indexing:.2f} s)",
                    f"{rate / floor_rate:.0%}",
                    ">= 50 %",
                ],
                [
                    f"query, {args.queries:,} queries ({hits / len(asked):.1f} hits each)",
                    f"p50 {percentile(bare, 0.5) * ms:.2f} ms, p99 {percentile(bare, 0.99) * ms:.2f} ms",
                    f"p50 {percentile(served, 0.5) * ms:.2f} ms, p99 {percentile(served, 0.99) * ms:.2f} ms",
                    f"p99 {percentile(served, 0.99) / percentile(bare, 0.99):.1f}x",
                    "p99 <= 20 ms",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
