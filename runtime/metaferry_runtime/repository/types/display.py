"""Forms, reports, queries and their data containers/fields (Egeria models 0239, 0503): the display service."""

from metaferry_runtime.repository.types.defs import ElementTypeDef, PropertyKind, RelationshipTypeDef, TypeArea

S, T = PropertyKind.STRING, PropertyKind.DATETIME

AREA = TypeArea(
    name="display",
    element_types=(
        ElementTypeDef.of("Form", "DataSet", "A screen or page for entering data."),
        ElementTypeDef.of(
            "Report", "DataSet", id=S, author=S, url=S, createdTime=T, lastModifiedTime=T, lastModifier=S
        ),
        ElementTypeDef.of("Query", "DataSet", "A stored query that retrieves data.", queryType=S, queryId=S),
        ElementTypeDef.of("DataContainer", "ComplexSchemaType", "A group of fields on a form or report."),
        ElementTypeDef.of("DataField", "SchemaAttribute", "One field on a form, report or query."),
    ),
    relationship_types=(RelationshipTypeDef.of("DashboardQuery", ("DataSet", "usedInDisplays"), ("Query", "queries")),),
)
