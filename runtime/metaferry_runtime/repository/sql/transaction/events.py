"""The transaction's out-topic events: queued as record snapshots, inserted at commit after everything else.

Records never have their containers mutated in place (a change assigns a new dict or list), so a snapshot
(a tuple of the record's fields, see records.py) captured for an event stays as it was when the event
happened; its JSON payload is written only at commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from metaferry_runtime.repository.model import ChangeKind
from metaferry_runtime.repository.sql import bulk
from metaferry_runtime.repository.sql.records import element_json, relationship_json
from metaferry_runtime.repository.sql.schema import EVENTS_LOCK_KEY, events
from metaferry_runtime.repository.sql.transaction.connection import GuardedConnection

NOTIFY_CHANNEL = "metaferry_events"
EVENT_INSERT_COLUMNS = (
    "kind", "event_time", "metadata_collection", "refresh_id", "element_guid", "relationship_guid", "payload",
)  # fmt: skip

State = tuple[Any, ...] | None
# An out-topic event as queued: (kind, element, previous element, relationship, previous relationship), each
# a record snapshot or None.
Event = tuple[str, State, State, State, State]


class EventQueue:
    """The events of one transaction, in the order their changes happened."""

    def __init__(self, *, actor: str, refresh_id: str | None, iso: Callable[[datetime], str]) -> None:
        self._actor = actor
        self._refresh_id = refresh_id
        self._iso = iso
        self._events: list[Event] = []

    def emit(
        self,
        kind: ChangeKind,
        *,
        element: State = None,
        previous_element: State = None,
        relationship: State = None,
        previous_relationship: State = None,
    ) -> None:
        self._events.append((kind.value, element, previous_element, relationship, previous_relationship))

    def replace_last(self, kind: ChangeKind, *, element: State) -> None:
        """Show the last event's element as it is now (a creation that set more than its properties)."""
        self._events[-1] = (kind.value, element, None, None, None)

    def write(self, db: GuardedConnection, *, properties_text: Callable[[tuple[Any, ...]], str | None]) -> int:
        """Insert the events (in order, under the events lock on PostgreSQL) and notify; returns how many.
        `properties_text`: the properties' JSON text an element snapshot's record kept, if any."""
        if not self._events:
            return 0
        if db.postgresql:
            # Sequences are taken under this lock and it is held to commit, so events commit in sequence
            # order and a reader that has seen sequence N will never later find a committed N-1.
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK_KEY})
        now = bulk.time_writer(db.raw)(datetime.now(UTC))
        rows = [self._row(event, now, properties_text) for event in self._events]
        with db.use() as connection:
            bulk.insert_rows(connection, events, EVENT_INSERT_COLUMNS, rows)
        if db.postgresql:
            db.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        return len(rows)

    def _row(self, event: Event, now: Any, properties_text: Callable[[tuple[Any, ...]], str | None]) -> tuple[Any, ...]:
        kind, element, previous_element, relationship, previous_relationship = event
        iso = self._iso
        element_text = "null" if element is None else element_json(element, iso, properties_text(element))
        payload = (
            f'{{"element":{element_text},'
            f'"previous_element":{"null" if previous_element is None else element_json(previous_element, iso)},'
            f'"relationship":{"null" if relationship is None else relationship_json(relationship, iso)},'
            '"previous_relationship":'
            f"{'null' if previous_relationship is None else relationship_json(previous_relationship, iso)}}}"
        )  # dumps() of the payload dict, written directly: see records.element_json
        element_state = element or previous_element
        relationship_state = relationship or previous_relationship
        return (
            kind,
            now,
            self._actor,
            self._refresh_id,
            None if element_state is None else element_state[0],
            None if relationship_state is None else relationship_state[0],
            payload,
        )
