"""Observation and deletion detection: what a refresh saw, and archiving what it no longer sees.

A refresh observes every element it still finds (an upsert observes it too); at the end it archives the
elements in scope that it did not observe, unless that would archive more than the fail-safe allows. An
observation that changes nothing else is written for all elements at once at flush (cache.ElementCache).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select

from metaferry_runtime.repository.errors import DeletionFailSafe, FailSafeRefusal
from metaferry_runtime.repository.model import ChangeKind, Element
from metaferry_runtime.repository.sql.records import ACTIVE, ARCHIVED
from metaferry_runtime.repository.sql.schema import elements
from metaferry_runtime.repository.sql.transaction.cache import IN_CHUNK
from metaferry_runtime.repository.sql.transaction.elements import ElementWrites


class Observation(ElementWrites):
    def mark_observed(self, guid: str) -> None:
        self._check_open()
        record = self._require(guid)
        self._require_owner(record, "mark as observed")
        self._observe(record)

    def mark_observed_by_names(self, qualified_names: Iterable[str]) -> list[str]:
        """Elements not in memory are found by name and observed by GUID, never loaded: a no-change refresh
        of a large catalogue would otherwise build a full record per element only to write its observed time
        (which the flush does for all of them in one set-based statement)."""
        self._check_open()
        names = list(qualified_names)
        by_name, actor, observe = self._elements.by_key, self.actor, self._observe
        unloaded: dict[str, str] = {}
        if not self._elements.loaded:
            unknown = [name for name in names if name not in by_name]
            owned = select(elements.c.qualified_name, elements.c.guid).where(
                elements.c.metadata_collection == actor, elements.c.status == ACTIVE
            )
            if len(unknown) <= IN_CHUNK:  # beyond that, one scan of two columns beats many IN lists
                owned = owned.where(elements.c.qualified_name.in_(unknown))
            if unknown:
                unloaded.update((row.qualified_name, row.guid) for row in self._db.execute(owned))
        missing: list[str] = []
        for qualified_name in names:
            record = by_name.get(qualified_name)
            if record is not None:
                if record.status != ACTIVE or record.collection != actor:
                    missing.append(qualified_name)
                else:
                    observe(record)
            elif (guid := unloaded.get(qualified_name)) is not None:
                self._elements.observed_stored(guid)
            else:
                missing.append(qualified_name)
        return missing

    def archive_unobserved(
        self,
        *,
        type_names: Sequence[str],
        scope_prefix: str | None = None,
        max_archive_percent: int = 50,
        dry_run: bool = False,
    ) -> list[Element]:
        self._check_open()
        if not 0 <= max_archive_percent <= 100:
            raise ValueError("max_archive_percent must be between 0 and 100")
        in_scope: set[str] = set()
        for name in type_names:
            in_scope |= self._types.subtypes(name)
        self.flush()
        query = select(elements.c.guid).where(
            elements.c.metadata_collection == self.actor,
            elements.c.status == ACTIVE,
            elements.c.type_name.in_(sorted(in_scope)),
        )
        if scope_prefix:
            query = query.where(func.substr(elements.c.qualified_name, 1, len(scope_prefix)) == scope_prefix)
        candidates = self._db.execute(query).scalars().all()
        unobserved = [guid for guid in candidates if guid not in self._elements.observed]
        if not unobserved:
            return []
        if len(unobserved) * 100 > max_archive_percent * len(candidates):
            under = f" under {scope_prefix!r}" if scope_prefix else ""
            scope = f"{'/'.join(type_names)} elements{under}"
            raise DeletionFailSafe(
                f"deletion detection would archive {len(unobserved)} of the {len(candidates)} "
                f"{scope} owned by {self.actor} "
                f"({len(unobserved) * 100 / len(candidates):.0f}%), more than the fail-safe allows "
                f"({max_archive_percent}%); nothing was archived",
                refusal=FailSafeRefusal(
                    scope=scope,
                    would_archive=len(unobserved),
                    in_scope=len(candidates),
                    max_archive_percent=max_archive_percent,
                ),
            )
        records = self._elements.get_many(unobserved)
        if dry_run:
            self.counts.would_archive += len(records)
            return [record.model() for record in records]
        for record in records:
            self._set_status(record, ARCHIVED, ChangeKind.ELEMENT_ARCHIVED)
            self.counts.archived += 1
        return [record.model() for record in records]
