"""The foundation every area builds on (Egeria models 0010-0017, 0020-0026, 0201-0205, 0501-0505, 0330):
Referenceable, Asset, DataSet, DataStore, glossaries, connections, endpoints, schemas, external identifiers.

Deviation from Egeria, on purpose: `name`, `displayName` and `description` are allowed on every
Referenceable (Egeria spreads them over the subtypes), so search and display work for every type.
"""

from metaferry_runtime.repository.types.defs import (
    ClassificationDef,
    ElementTypeDef,
    PropertyKind,
    RelationshipTypeDef,
    TypeArea,
)

S, INT, F, B, T = (
    PropertyKind.STRING,
    PropertyKind.INTEGER,
    PropertyKind.FLOAT,
    PropertyKind.BOOLEAN,
    PropertyKind.DATETIME,
)
L, M, A = PropertyKind.STRING_LIST, PropertyKind.STRING_MAP, PropertyKind.ANY_MAP

_SCHEMA_ATTRIBUTE = {
    "position": INT,
    "minCardinality": INT,
    "maxCardinality": INT,
    "allowsDuplicateValues": B,
    "orderedValues": B,
    "defaultValueOverride": S,
    "sortOrder": S,
    "minimumLength": INT,
    "length": INT,
    "precision": INT,
    "isNullable": B,
    "nativeClass": S,
    "aliases": L,
    "dataType": S,
    "defaultValue": S,
    "fixedValue": S,
}

AREA = TypeArea(
    name="catalog",
    element_types=(
        ElementTypeDef.of(
            "Referenceable",
            None,
            "Anything with a unique qualified name.",
            qualifiedName=S,
            name=S,
            displayName=S,
            description=S,
            additionalProperties=M,
        ),
        ElementTypeDef.of(
            "Asset",
            "Referenceable",
            "Something of value to the organization: data, software, infrastructure.",
            versionIdentifier=S,
            deployedImplementationType=S,
            owner=S,
            resourceName=S,
        ),
        ElementTypeDef.of("DataAsset", "Asset", "An asset that holds or moves data.", isReferenceData=B),
        ElementTypeDef.of("DataSet", "DataAsset", "A collection of related data.", formula=S, formulaType=S),
        ElementTypeDef.of(
            "DataStore",
            "DataAsset",
            "Physical storage of data.",
            storeCreateTime=T,
            storeUpdateTime=T,
            encodingType=S,
            encodingLanguage=S,
            encodingDescription=S,
        ),
        ElementTypeDef.of("Glossary", "Referenceable", language=S, usage=S),
        ElementTypeDef.of("GlossaryCategory", "Referenceable"),
        ElementTypeDef.of("GlossaryTerm", "Referenceable", summary=S, examples=S, abbreviation=S, usage=S),
        ElementTypeDef.of(
            "Connection",
            "Referenceable",
            "How to reach a resource; never holds secrets (they come from Secret references).",
            configurationProperties=A,
            userId=S,
        ),
        ElementTypeDef.of(
            "ConnectorType",
            "Referenceable",
            connectorProviderClassName=S,
            supportedAssetTypeName=S,
            expectedDataFormat=S,
            connectorFrameworkName=S,
            connectorInterfaceLanguage=S,
        ),
        ElementTypeDef.of("Endpoint", "Referenceable", networkAddress=S, protocol=S, encryptionMethod=S),
        ElementTypeDef.of("SchemaElement", "Referenceable", isDeprecated=B),
        ElementTypeDef.of(
            "SchemaType",
            "SchemaElement",
            versionNumber=S,
            author=S,
            usage=S,
            encodingStandard=S,
            namespace=S,
        ),
        ElementTypeDef.of("ComplexSchemaType", "SchemaType"),
        ElementTypeDef.of("SchemaAttribute", "SchemaElement", **_SCHEMA_ATTRIBUTE),
        ElementTypeDef.of(
            "ExternalIdentifier",
            "Referenceable",
            "The identifier of an element in a third-party technology.",
            identifier=S,
            keyPattern=S,
            externalIdentifierSource=S,
        ),
    ),
    relationship_types=(
        RelationshipTypeDef.of("TermAnchor", ("Glossary", "anchor"), ("GlossaryTerm", "terms")),
        RelationshipTypeDef.of("CategoryAnchor", ("Glossary", "anchor"), ("GlossaryCategory", "categories")),
        RelationshipTypeDef.of(
            "TermCategorization", ("GlossaryCategory", "categories"), ("GlossaryTerm", "terms"), description=S
        ),
        RelationshipTypeDef.of(
            "SemanticAssignment",
            ("Referenceable", "assignedElements"),
            ("GlossaryTerm", "meaning"),
            expression=S,
            description=S,
            status=S,
            confidence=INT,
            createdBy=S,
            steward=S,
            source=S,
        ),
        RelationshipTypeDef.of("ConnectionEndpoint", ("Endpoint", "connectionEndpoint"), ("Connection", "connections")),
        RelationshipTypeDef.of(
            "ConnectionConnectorType", ("Connection", "connections"), ("ConnectorType", "connectorType")
        ),
        RelationshipTypeDef.of("ConnectionToAsset", ("Connection", "connections"), ("Asset", "asset"), assetSummary=S),
        RelationshipTypeDef.of("AssetSchemaType", ("Asset", "describesAssetWithSchema"), ("SchemaType", "schema")),
        RelationshipTypeDef.of(
            "AttributeForSchema",
            ("ComplexSchemaType", "parentSchemas"),
            ("SchemaAttribute", "attributes"),
            position=INT,
        ),
        RelationshipTypeDef.of(
            "NestedSchemaAttribute",
            ("SchemaAttribute", "parentAttribute"),
            ("SchemaAttribute", "nestedAttributes"),
            position=INT,
        ),
        RelationshipTypeDef.of("SchemaAttributeType", ("SchemaAttribute", "usedInSchemas"), ("SchemaType", "type")),
        RelationshipTypeDef.of("DataContentForDataSet", ("Asset", "dataContent"), ("DataSet", "supportedDataSets")),
        RelationshipTypeDef.of(
            "ExternalIdLink",
            ("Referenceable", "resource"),
            ("ExternalIdentifier", "alsoKnownAs"),
            "Links an element to its identifier in a third-party technology.",
            description=S,
            usage=S,
            source=S,
            lastSynchronized=T,
            mappingProperties=M,
        ),
        RelationshipTypeDef.of(
            "ExternalIdScope",
            ("Referenceable", "scopedBy"),
            ("ExternalIdentifier", "managedResources"),
            description=S,
            permittedSynchronization=S,
        ),
    ),
    classifications=(
        ClassificationDef.of("Anchors", ("Referenceable",), anchorGUID=S, anchorTypeName=S),
        ClassificationDef.of("Memento", ("Referenceable",), archiveDate=T, archiveUser=S, archiveProcess=S),
        ClassificationDef.of("ReferenceData", ("Asset",)),
        ClassificationDef.of("TypeEmbeddedAttribute", ("SchemaAttribute",), schemaTypeName=S, dataType=S),
        ClassificationDef.of(
            "CalculatedValue",
            ("SchemaAttribute",),
            "A value computed from others (e.g. a view column).",
            formula=S,
        ),
    ),
)
