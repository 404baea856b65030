"""How an Egeria-named context operation is declared once and bound to a context.

A service module assigns operations to class attributes of its context (`create_data_file =
DATA_FILE.create()`). Each operation is a class whose `__call__` is both the signature connector code
sees and its implementation, so the two cannot drift: mypy checks a connector's call against the very
method that runs. `ContextOperation` is the class attribute; read from a context it returns the operation
bound to that context, named after the attribute (so a refusal says which call was refused).

Operations reach their context only through `ContextHooks`, the small public surface a context offers
them: its transactions for reading and writing, its metadata source, its type registry and zones.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Generic, Protocol, Self, TypeVar, overload

from metaferry_runtime.repository import Page, Transaction

#: The largest page a retrieval returns when the caller asks for "everything" (page_size 0, as in Egeria).
MAX_PAGE_SIZE = 10_000


def page_of(start_from: int, page_size: int) -> Page:
    """Egeria's paging: page_size 0 means as many as allowed."""
    return Page(start_from=start_from, page_size=page_size if page_size > 0 else MAX_PAGE_SIZE)


class ContextHooks(Protocol):
    """What an operation may use of its context (`ElementContext` implements it)."""

    #: Zones that publish_* adds and withdraw_* removes when the caller names none.
    published_zones: tuple[str, ...]

    def get_metadata_source_qualified_name(self) -> str: ...

    def is_type_of(self, type_name: str, expected: str) -> bool: ...

    def write_transaction(self, action: str) -> AbstractContextManager[Transaction]:
        """The transaction a write joins, after the permitted-synchronization check for `action`."""
        ...

    def joined_write_transaction(self, action: str) -> Transaction | None:
        """The hot path of `write_transaction`: the joined transaction, or None when there is none to join."""
        ...

    def read_transaction(self) -> AbstractContextManager[Transaction]:
        """The transaction a read joins (no permitted-synchronization check)."""
        ...


KindT = TypeVar("KindT")


class BoundOperation(Generic[KindT]):
    """An operation of one kind (an element type, a relationship type...) bound to one context."""

    __slots__ = ("action", "context", "kind")

    def __init__(self, kind: KindT, context: ContextHooks, action: str) -> None:
        self.kind = kind
        self.context = context
        self.action = action


OperationT = TypeVar("OperationT", bound=BoundOperation[Any])


class ContextOperation(Generic[OperationT]):
    """A context class attribute that, read from a context, is `operation` bound to it and to `kind`."""

    def __init__(self, operation: type[OperationT], kind: object) -> None:
        self._operation = operation
        self._kind = kind
        self._action = operation.__name__
        self.__doc__ = operation.__call__.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._action = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: ContextHooks, owner: type | None = None) -> OperationT: ...

    def __get__(self, instance: ContextHooks | None, owner: type | None = None) -> Self | OperationT:
        if instance is None:
            return self
        return self._operation(self._kind, instance, self._action)
