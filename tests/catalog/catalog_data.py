"""A small catalogue written through the repository API, as two connectors' refreshes would write it."""

from __future__ import annotations

from dataclasses import dataclass

from metaferry_runtime.repository import MetadataRepository
from tests.catalog.conftest import DATABASE, FILES


@dataclass(frozen=True)
class Catalogue:
    folder: str
    csv: str
    events_json: str
    notes: str
    old: str
    table: str


def fill(repository: MetadataRepository) -> Catalogue:
    with repository.transaction(actor=FILES, refresh_id="refresh-1") as tx:
        folder = tx.create_element("FileFolder", "file:///lake", {"name": "lake"})
        csv = tx.create_element(
            "DataFile",
            "file:///lake/sales.csv",
            {"name": "sales.csv", "fileType": "csv"},
            classifications={"Confidentiality": {"level": 3}},
            zones=["finance"],
        )
        events_json = tx.create_element(
            "JSONFile", "file:///lake/events.json", {"displayName": "Events feed"}, zones=["public"]
        )
        notes = tx.create_element("DataFile", "file:///lake/notes.txt", {"name": "notes.txt"})
        old = tx.create_element("DataFile", "file:///lake/old.csv", {"name": "old.csv"})
        for file in (csv, events_json, notes, old):
            tx.create_relationship("NestedFile", folder.guid, file.guid)
    with repository.transaction(actor=FILES, refresh_id="refresh-2") as tx:
        tx.update_element(notes.guid, {"description": "meeting notes"})
        tx.archive_element(old.guid)
    with repository.transaction(actor=DATABASE, refresh_id="db-refresh-1") as tx:
        table = tx.create_element("RelationalTable", "db.public.sales", {"name": "sales"})
    with repository.transaction(actor="steward") as tx:
        tx.curate_element(csv.guid, {"description": "Daily sales"}, curator="alice")
    return Catalogue(folder.guid, csv.guid, events_json.guid, notes.guid, old.guid, table.guid)
