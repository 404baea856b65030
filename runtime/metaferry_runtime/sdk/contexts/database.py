"""Database integration service (Egeria's Database Integrator): databases, schemas, tables, views, columns.

The shape is Egeria's: Database -DataContentForDataSet-> DeployedDatabaseSchema -AssetSchemaType->
RelationalDBSchemaType -AttributeForSchema-> RelationalTable -NestedSchemaAttribute-> RelationalColumn.
Connectors pass the parent's GUID when they create a child (`create_database_table(..., parent_guid=schema)`)
and the context inserts the schema type and the links, as Egeria's service does.
"""

from __future__ import annotations

from metaferry_runtime.sdk.contexts._elements import (
    ClassificationKind,
    ElementContext,
    ElementKind,
    ParentLink,
    RelationshipKind,
)

DATABASE = ElementKind("Database", is_asset=True)
DATABASE_SCHEMA = ElementKind("DeployedDatabaseSchema", is_asset=True, parent=ParentLink("DataContentForDataSet"))
_IN_SCHEMA = ParentLink("AttributeForSchema", via_schema_type="RelationalDBSchemaType")
DATABASE_TABLE = ElementKind("RelationalTable", parent=_IN_SCHEMA)
DATABASE_VIEW = ElementKind("RelationalView", parent=_IN_SCHEMA)
DATABASE_COLUMN = ElementKind("RelationalColumn", parent=ParentLink("NestedSchemaAttribute"))
#: primaryKey column (end 1) -> foreignKey column (end 2).
FOREIGN_KEY = RelationshipKind("ForeignKey", end1="primary key column", end2="foreign key column")
PRIMARY_KEY = ClassificationKind("PrimaryKey")


class DatabaseIntegratorContext(ElementContext):
    """What a database connector may do: catalog a database's schemas, tables, views, columns and keys."""

    integration_service = "database"

    create_database = DATABASE.create()
    upsert_database = DATABASE.upsert()
    update_database = DATABASE.update()
    publish_database = DATABASE.publish()
    withdraw_database = DATABASE.withdraw()
    remove_database = DATABASE.remove()
    find_databases = DATABASE.find()
    get_databases_by_name = DATABASE.get_by_name()
    get_my_databases = DATABASE.get_mine()
    get_database_by_guid = DATABASE.get_by_guid()

    create_database_schema = DATABASE_SCHEMA.create()
    upsert_database_schema = DATABASE_SCHEMA.upsert()
    upsert_database_schemas = DATABASE_SCHEMA.upsert_many()
    update_database_schema = DATABASE_SCHEMA.update()
    publish_database_schema = DATABASE_SCHEMA.publish()
    withdraw_database_schema = DATABASE_SCHEMA.withdraw()
    remove_database_schema = DATABASE_SCHEMA.remove()
    find_database_schemas = DATABASE_SCHEMA.find()
    get_database_schemas_by_name = DATABASE_SCHEMA.get_by_name()
    get_my_database_schemas = DATABASE_SCHEMA.get_mine()
    get_database_schema_by_guid = DATABASE_SCHEMA.get_by_guid()
    get_schemas_for_database = DATABASE_SCHEMA.children()

    create_database_table = DATABASE_TABLE.create()
    upsert_database_table = DATABASE_TABLE.upsert()
    upsert_database_tables = DATABASE_TABLE.upsert_many()
    update_database_table = DATABASE_TABLE.update()
    remove_database_table = DATABASE_TABLE.remove()
    find_database_tables = DATABASE_TABLE.find()
    get_database_tables_by_name = DATABASE_TABLE.get_by_name()
    get_my_database_tables = DATABASE_TABLE.get_mine()
    get_database_table_by_guid = DATABASE_TABLE.get_by_guid()
    get_database_table_by_qualified_name = DATABASE_TABLE.get_by_qualified_name()
    get_tables_for_database_schema = DATABASE_TABLE.children()

    create_database_view = DATABASE_VIEW.create()
    upsert_database_view = DATABASE_VIEW.upsert()
    update_database_view = DATABASE_VIEW.update()
    remove_database_view = DATABASE_VIEW.remove()
    find_database_views = DATABASE_VIEW.find()
    get_database_views_by_name = DATABASE_VIEW.get_by_name()
    get_my_database_views = DATABASE_VIEW.get_mine()
    get_database_view_by_guid = DATABASE_VIEW.get_by_guid()
    get_views_for_database_schema = DATABASE_VIEW.children()

    create_database_column = DATABASE_COLUMN.create()
    upsert_database_column = DATABASE_COLUMN.upsert()
    upsert_database_columns = DATABASE_COLUMN.upsert_many()
    update_database_column = DATABASE_COLUMN.update()
    remove_database_column = DATABASE_COLUMN.remove()
    find_database_columns = DATABASE_COLUMN.find()
    get_database_columns_by_name = DATABASE_COLUMN.get_by_name()
    get_my_database_columns = DATABASE_COLUMN.get_mine()
    get_database_column_by_guid = DATABASE_COLUMN.get_by_guid()
    get_database_column_by_qualified_name = DATABASE_COLUMN.get_by_qualified_name()
    get_columns_for_database_table = DATABASE_COLUMN.children()

    set_primary_key_on_column = PRIMARY_KEY.set()
    remove_primary_key_from_column = PRIMARY_KEY.clear()
    add_foreign_key_relationship = FOREIGN_KEY.link()
    remove_foreign_key_relationship = FOREIGN_KEY.unlink()
    get_foreign_key_columns = FOREIGN_KEY.end2_elements()
    get_primary_key_columns = FOREIGN_KEY.end1_elements()
