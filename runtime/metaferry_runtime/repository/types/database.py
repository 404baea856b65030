"""Databases, schemas, tables, views and columns (Egeria models 0224, 0534-0535): the database service.

As Egeria: Database --DataContentForDataSet--> DeployedDatabaseSchema --AssetSchemaType-->
RelationalDBSchemaType --AttributeForSchema--> RelationalTable --NestedSchemaAttribute--> RelationalColumn.
A view is a RelationalView (a RelationalTable with the defining query in `formula`).
"""

from metaferry_runtime.repository.types.defs import (
    ClassificationDef,
    ElementTypeDef,
    PropertyKind,
    RelationshipTypeDef,
    TypeArea,
)

S, INT, B = PropertyKind.STRING, PropertyKind.INTEGER, PropertyKind.BOOLEAN

AREA = TypeArea(
    name="database",
    element_types=(
        ElementTypeDef.of("DatabaseManager", "SoftwareCapability", "A relational database server's engine."),
        ElementTypeDef.of(
            "Database", "DataStore", databaseType=S, databaseVersion=S, databaseInstance=S, databaseImportedFrom=S
        ),
        ElementTypeDef.of("DeployedDatabaseSchema", "DataSet", "A schema deployed in a database."),
        ElementTypeDef.of("RelationalDBSchemaType", "ComplexSchemaType"),
        ElementTypeDef.of("RelationalTable", "SchemaAttribute", tableType=S),
        ElementTypeDef.of(
            "RelationalView", "RelationalTable", "A view; `formula` holds its defining query.", formula=S
        ),
        ElementTypeDef.of("RelationalColumn", "SchemaAttribute", "A column; dataType, isNullable, position."),
    ),
    relationship_types=(
        RelationshipTypeDef.of(
            "ForeignKey",
            ("RelationalColumn", "primaryKey"),
            ("RelationalColumn", "foreignKey"),
            name=S,
            description=S,
            confidence=INT,
            steward=S,
            source=S,
        ),
    ),
    classifications=(
        ClassificationDef.of("PrimaryKey", ("RelationalColumn",), name=S, keyPattern=S),
        ClassificationDef.of("DatabaseView", ("RelationalTable",), formula=S),
    ),
)
