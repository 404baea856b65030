"""The repository's rules that several writes share: who may change a record, and what a property may not do.

Kept in one place so that every refusal of the same rule reads the same, whichever write met it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from metaferry_runtime.repository.errors import NotOwner, TypeErrorInRepository


class Owned(Protocol):
    collection: str

    def subject(self) -> str: ...


def not_owner(actor: str, action: str, subject: str, collection: str) -> NotOwner:
    return NotOwner(f"{actor} may not {action} {subject}: it is owned by metadata collection {collection}")


def require_owner(actor: str, record: Owned, action: str) -> None:
    """Only the collection that owns a record may change it (the actor of the transaction)."""
    if record.collection != actor:
        raise not_owner(actor, action, record.subject(), record.collection)


def drop_qualified_name(validated: dict[str, Any], qualified_name: str, *, renaming: str | None = None) -> None:
    """Take the qualifiedName property out of validated properties: it is the element's qualified name,
    stored apart, and may only repeat it. `renaming`: the refusal when it differs (default: says both)."""
    named = validated.pop("qualifiedName", None)
    if named is not None and named != qualified_name:
        raise TypeErrorInRepository(
            renaming or f"property qualifiedName {named!r} differs from the element's qualified name {qualified_name!r}"
        )


def without_none(properties: Mapping[str, Any]) -> dict[str, Any]:
    """None removes a property: it is never stored."""
    return {k: v for k, v in properties.items() if v is not None}
