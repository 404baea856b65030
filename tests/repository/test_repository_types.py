"""The type registry: Egeria's type names, inheritance, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from metaferry_runtime.repository import TypeErrorInRepository
from metaferry_runtime.repository.types import default_registry

types = default_registry()


@pytest.mark.parametrize(
    "type_name",
    [
        "FileSystem",
        "FileFolder",
        "DataFile",
        "CSVFile",
        "JSONFile",
        "AvroFile",
        "ParquetFile",
        "DatabaseManager",
        "Database",
        "DeployedDatabaseSchema",
        "RelationalTable",
        "RelationalView",
        "RelationalColumn",
        "DeployedAPI",
        "APIOperation",
        "APIParameterList",
        "APIParameter",
        "EventBroker",
        "Topic",
        "KafkaTopic",
        "EventType",
        "EventSchemaAttribute",
        "Form",
        "Report",
        "Query",
        "DataContainer",
        "DataField",
        "Process",
        "Port",
        "Host",
        "SoftwareServerPlatform",
        "SoftwareServer",
        "SoftwareCapability",
        "Endpoint",
        "DeployedSoftwareComponent",
        "Person",
        "Team",
        "PersonRole",
        "UserIdentity",
        "ContactDetails",
        "SecurityGroup",
        "GovernanceZone",
        "Referenceable",
        "Asset",
        "DataSet",
        "Glossary",
        "GlossaryTerm",
        "Connection",
        "SchemaType",
        "SchemaAttribute",
        "ExternalIdentifier",
    ],
)
def test_every_element_type_the_services_need_is_registered(type_name: str) -> None:
    assert types.is_subtype(type_name, "Referenceable")


@pytest.mark.parametrize(
    "relationship",
    [
        "FolderHierarchy",
        "NestedFile",
        "ForeignKey",
        "AssetSchemaType",
        "AttributeForSchema",
        "NestedSchemaAttribute",
        "APIHeader",
        "APIRequest",
        "APIResponse",
        "ProcessHierarchy",
        "DataFlow",
        "ControlFlow",
        "ProcessCall",
        "LineageMapping",
        "TeamStructure",
        "TeamMembership",
        "TeamLeadership",
        "SemanticAssignment",
        "ExternalIdLink",
        "ServerAssetUse",
        "SoftwareServerDeployment",
    ],
)
def test_every_relationship_type_the_services_need_is_registered(relationship: str) -> None:
    assert types.relationship_type(relationship).name == relationship


def test_subtypes_inherit_the_properties_of_their_supertypes() -> None:
    assert types.is_subtype("CSVFile", "DataFile")
    assert types.is_subtype("CSVFile", "Asset")
    assert not types.is_subtype("DataFile", "CSVFile")
    assert {"qualifiedName", "name", "pathName", "delimiterCharacter"} <= set(types.allowed_properties("CSVFile"))
    assert {"DataFile", "CSVFile", "JSONFile", "AvroFile", "ParquetFile"} <= types.subtypes("DataFile")


def test_relational_column_carries_data_type_nullability_and_position() -> None:
    assert types.validate_element("RelationalColumn", {"dataType": "integer", "isNullable": False, "position": 2}) == {
        "dataType": "integer",
        "isNullable": False,
        "position": 2,
    }


def test_a_property_not_allowed_on_a_type_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(
        TypeErrorInRepository, match=r"property 'colour' is not allowed on DataFile; allowed: .*pathName"
    ):
        types.validate_element("DataFile", {"colour": "blue"})


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(TypeErrorInRepository, match="unknown element type 'Spreadsheet'"):
        types.validate_element("Spreadsheet", {})


def test_a_value_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(TypeErrorInRepository, match="'size' of DataFile must be of kind integer"):
        types.validate_element("DataFile", {"size": "big"})
    with pytest.raises(TypeErrorInRepository, match="must be one of header, request, response"):
        types.validate_element("APIParameterList", {"parameterListType": "body"})


def test_datetimes_are_stored_as_iso_text() -> None:
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert types.validate_element("DataFile", {"modifiedTime": moment}) == {"modifiedTime": moment.isoformat()}


def test_a_relationship_between_wrong_end_types_is_refused() -> None:
    assert types.validate_relationship("NestedFile", "FileFolder", "CSVFile") == {}
    with pytest.raises(TypeErrorInRepository, match="NestedFile end 2 must be a DataFile"):
        types.validate_relationship("NestedFile", "FileFolder", "FileFolder")


def test_a_classification_is_refused_on_types_it_is_not_valid_for() -> None:
    assert types.validate_classification("PrimaryKey", "RelationalColumn", {"name": "pk"}) == {"name": "pk"}
    with pytest.raises(TypeErrorInRepository, match="PrimaryKey is not valid on DataFile"):
        types.validate_classification("PrimaryKey", "DataFile")
