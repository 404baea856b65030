"""The shapes of open metadata type definitions: element, relationship and classification types.

Each area module (files, database, api...) declares its types with these models; the registry flattens
inheritance once so that validation on the write path is a few dictionary look-ups per property.
Property kinds are deliberately simple (JSON-friendly): values are stored as JSON.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class PropertyKind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # a timezone-aware datetime or its ISO 8601 text; stored as text
    STRING_LIST = "string_list"
    STRING_MAP = "string_map"  # str -> str, as Egeria's additionalProperties
    ANY_MAP = "any_map"  # str -> any JSON value


class PropertyDef(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PropertyKind
    values: tuple[str, ...] | None = None  # for an enumerated STRING: the only values allowed


PropertySpec = PropertyKind | PropertyDef


def _normalise(properties: dict[str, PropertySpec]) -> dict[str, PropertyDef]:
    return {
        name: spec if isinstance(spec, PropertyDef) else PropertyDef(kind=spec) for name, spec in properties.items()
    }


class ElementTypeDef(BaseModel):
    """An entity type; it inherits the properties of its supertype chain."""

    model_config = ConfigDict(frozen=True)

    name: str
    supertype: str | None = None
    properties: dict[str, PropertyDef] = Field(default_factory=dict)
    description: str = ""

    @classmethod
    def of(
        cls, type_name: str, supertype: str | None, description: str = "", /, **properties: PropertySpec
    ) -> ElementTypeDef:
        """Positional: name, supertype, description; keywords: the properties (`name=STRING`...)."""
        return cls(name=type_name, supertype=supertype, properties=_normalise(properties), description=description)


class RelationshipTypeDef(BaseModel):
    """A relationship type; each end accepts the named element type and its subtypes."""

    model_config = ConfigDict(frozen=True)

    name: str
    end1_type: str
    end2_type: str
    end1_name: str = ""  # Egeria's attribute name of the end (e.g. parentFolder)
    end2_name: str = ""
    properties: dict[str, PropertyDef] = Field(default_factory=dict)
    description: str = ""

    @classmethod
    def of(
        cls,
        type_name: str,
        end1: tuple[str, str],
        end2: tuple[str, str],
        description: str = "",
        /,
        **properties: PropertySpec,
    ) -> RelationshipTypeDef:
        """`end1`/`end2` are (element type, attribute name) as Egeria lists them; keywords: the properties."""
        return cls(
            name=type_name,
            end1_type=end1[0],
            end1_name=end1[1],
            end2_type=end2[0],
            end2_name=end2[1],
            properties=_normalise(properties),
            description=description,
        )


class ClassificationDef(BaseModel):
    """A classification; valid on the named element types and their subtypes."""

    model_config = ConfigDict(frozen=True)

    name: str
    valid_entity_types: tuple[str, ...] = ("Referenceable",)
    properties: dict[str, PropertyDef] = Field(default_factory=dict)
    description: str = ""

    @classmethod
    def of(
        cls,
        type_name: str,
        valid_entity_types: tuple[str, ...],
        description: str = "",
        /,
        **properties: PropertySpec,
    ) -> ClassificationDef:
        return cls(
            name=type_name,
            valid_entity_types=valid_entity_types,
            properties=_normalise(properties),
            description=description,
        )


class TypeArea(BaseModel):
    """The types one area (one or more integration services) contributes to the registry."""

    model_config = ConfigDict(frozen=True)

    name: str
    element_types: tuple[ElementTypeDef, ...] = ()
    relationship_types: tuple[RelationshipTypeDef, ...] = ()
    classifications: tuple[ClassificationDef, ...] = ()
