"""The type registry: which element, relationship and classification types exist and what they allow.

Inheritance is flattened when a type is added (allowed properties along the supertype chain, the set of
subtypes of every type), so validation on the write path costs one dictionary look-up and one kind check
per property. Validation returns the properties normalised for JSON storage (datetimes as ISO text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from metaferry_runtime.repository.errors import TypeErrorInRepository
from metaferry_runtime.repository.types.defs import (
    ClassificationDef,
    ElementTypeDef,
    PropertyDef,
    PropertyKind,
    RelationshipTypeDef,
    TypeArea,
)

_MISSING = object()


def _datetime_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return _MISSING
        return value
    return _MISSING


def _check(kind: PropertyKind) -> Callable[[Any], Any]:
    """A function returning the value ready for storage, or _MISSING when it is not of this kind."""
    if kind is PropertyKind.STRING:
        return lambda v: v if isinstance(v, str) else _MISSING
    if kind is PropertyKind.INTEGER:
        return lambda v: v if isinstance(v, int) and not isinstance(v, bool) else _MISSING
    if kind is PropertyKind.FLOAT:
        return lambda v: v if isinstance(v, int | float) and not isinstance(v, bool) else _MISSING
    if kind is PropertyKind.BOOLEAN:
        return lambda v: v if isinstance(v, bool) else _MISSING
    if kind is PropertyKind.DATETIME:
        return _datetime_text
    if kind is PropertyKind.STRING_LIST:
        return lambda v: list(v) if isinstance(v, list | tuple) and all(isinstance(x, str) for x in v) else _MISSING
    if kind is PropertyKind.STRING_MAP:
        return lambda v: (
            dict(v)
            if isinstance(v, Mapping) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
            else _MISSING
        )
    return lambda v: dict(v) if isinstance(v, Mapping) and all(isinstance(k, str) for k in v) else _MISSING


_CHECKS = {kind: _check(kind) for kind in PropertyKind}


class _Allowed:
    """The flattened properties of one type, with their checkers."""

    __slots__ = ("checks", "defs", "owner")

    def __init__(self, owner: str, defs: Mapping[str, PropertyDef]) -> None:
        self.owner = owner
        self.defs = dict(defs)
        self.checks = {name: _CHECKS[d.kind] for name, d in defs.items()}

    def validate(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        checks = self.checks
        for name, value in properties.items():
            check = checks.get(name)
            if check is None:
                raise TypeErrorInRepository(
                    f"property {name!r} is not allowed on {self.owner}; allowed: {', '.join(sorted(checks))}"
                )
            if value is None:
                out[name] = None
                continue
            stored = check(value)
            if stored is _MISSING:
                kind = self.defs[name].kind.value
                raise TypeErrorInRepository(
                    f"property {name!r} of {self.owner} must be of kind {kind}, not {type(value).__name__}"
                )
            allowed_values = self.defs[name].values
            if allowed_values is not None and stored not in allowed_values:
                raise TypeErrorInRepository(
                    f"property {name!r} of {self.owner} must be one of {', '.join(allowed_values)}; got {value!r}"
                )
            out[name] = stored
        return out


class TypeRegistry:
    """Open metadata types by name. `default_registry()` holds the types the twelve services need."""

    def __init__(self, areas: Iterable[TypeArea] = ()) -> None:
        self._elements: dict[str, ElementTypeDef] = {}
        self._relationships: dict[str, RelationshipTypeDef] = {}
        self._classifications: dict[str, ClassificationDef] = {}
        self._supertypes: dict[str, tuple[str, ...]] = {}  # type -> itself and its ancestors
        self._subtypes: dict[str, frozenset[str]] = {}  # type -> itself and its descendants
        self._element_allowed: dict[str, _Allowed] = {}
        self._relationship_allowed: dict[str, _Allowed] = {}
        self._classification_allowed: dict[str, _Allowed] = {}
        self.add(*areas)

    # --- building ---------------------------------------------------------------------------------------
    def add(self, *areas: TypeArea) -> None:
        """Add the types of these areas; every supertype and relationship end must be known afterwards."""
        for area in areas:
            for et in area.element_types:
                self._elements[et.name] = et
            for rt in area.relationship_types:
                self._relationships[rt.name] = rt
            for cd in area.classifications:
                self._classifications[cd.name] = cd
        self._flatten()

    def _flatten(self) -> None:
        supertypes: dict[str, tuple[str, ...]] = {}
        for name in self._elements:
            chain = [name]
            parent = self._elements[name].supertype
            while parent is not None:
                if parent not in self._elements:
                    raise TypeErrorInRepository(f"type {chain[-1]} names an unknown supertype {parent}")
                if parent in chain:
                    raise TypeErrorInRepository(f"type {name} has a supertype cycle: {' -> '.join(chain)}")
                chain.append(parent)
                parent = self._elements[parent].supertype
            supertypes[name] = tuple(chain)
        subtypes: dict[str, set[str]] = {name: set() for name in self._elements}
        for name, ancestors in supertypes.items():
            for ancestor in ancestors:
                subtypes[ancestor].add(name)
        self._supertypes = supertypes
        self._subtypes = {name: frozenset(s) for name, s in subtypes.items()}
        self._element_allowed = {}
        for name, ancestors in supertypes.items():
            merged: dict[str, PropertyDef] = {}
            for ancestor in reversed(ancestors):
                merged.update(self._elements[ancestor].properties)
            self._element_allowed[name] = _Allowed(name, merged)
        for rt in self._relationships.values():
            for end in (rt.end1_type, rt.end2_type):
                if end not in self._elements:
                    raise TypeErrorInRepository(f"relationship type {rt.name} names an unknown end type {end}")
        for cd in self._classifications.values():
            for valid in cd.valid_entity_types:
                if valid not in self._elements:
                    raise TypeErrorInRepository(f"classification {cd.name} names an unknown type {valid}")
        self._relationship_allowed = {n: _Allowed(n, rt.properties) for n, rt in self._relationships.items()}
        self._classification_allowed = {n: _Allowed(n, cd.properties) for n, cd in self._classifications.items()}

    # --- look-ups ---------------------------------------------------------------------------------------
    def element_type(self, name: str) -> ElementTypeDef:
        try:
            return self._elements[name]
        except KeyError:
            raise TypeErrorInRepository(f"unknown element type {name!r}") from None

    def relationship_type(self, name: str) -> RelationshipTypeDef:
        try:
            return self._relationships[name]
        except KeyError:
            raise TypeErrorInRepository(f"unknown relationship type {name!r}") from None

    def classification(self, name: str) -> ClassificationDef:
        try:
            return self._classifications[name]
        except KeyError:
            raise TypeErrorInRepository(f"unknown classification {name!r}") from None

    @property
    def element_type_names(self) -> list[str]:
        return sorted(self._elements)

    @property
    def relationship_type_names(self) -> list[str]:
        return sorted(self._relationships)

    @property
    def classification_names(self) -> list[str]:
        return sorted(self._classifications)

    def is_subtype(self, type_name: str, of: str) -> bool:
        """True when `type_name` is `of` or inherits from it."""
        return of in self._supertypes.get(type_name, ())

    def subtypes(self, type_name: str) -> frozenset[str]:
        """The type and all its descendants; TypeErrorInRepository for an unknown type."""
        self.element_type(type_name)
        return self._subtypes[type_name]

    def supertypes(self, type_name: str) -> tuple[str, ...]:
        """The type followed by its ancestors, nearest first."""
        self.element_type(type_name)
        return self._supertypes[type_name]

    def allowed_properties(self, type_name: str) -> dict[str, PropertyDef]:
        self.element_type(type_name)
        return dict(self._element_allowed[type_name].defs)

    # --- validation -------------------------------------------------------------------------------------
    def validate_element(self, type_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        allowed = self._element_allowed.get(type_name)
        if allowed is None:
            raise TypeErrorInRepository(f"unknown element type {type_name!r}")
        return allowed.validate(properties)

    def validate_relationship(
        self, type_name: str, end1_type: str, end2_type: str, properties: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        rt = self.relationship_type(type_name)
        if not self.is_subtype(end1_type, rt.end1_type):
            raise TypeErrorInRepository(f"{type_name} end 1 must be a {rt.end1_type} (or subtype), not {end1_type}")
        if not self.is_subtype(end2_type, rt.end2_type):
            raise TypeErrorInRepository(f"{type_name} end 2 must be a {rt.end2_type} (or subtype), not {end2_type}")
        return self._relationship_allowed[type_name].validate(properties or {})

    def validate_classification(
        self, classification: str, entity_type: str, properties: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        cd = self.classification(classification)
        if not any(self.is_subtype(entity_type, valid) for valid in cd.valid_entity_types):
            raise TypeErrorInRepository(
                f"classification {classification} is not valid on {entity_type}; "
                f"valid on: {', '.join(cd.valid_entity_types)} (and subtypes)"
            )
        return self._classification_allowed[classification].validate(properties or {})
