"""Processes, ports and lineage links (Egeria models 0215, 0217, 0750-0770): the lineage service.

Process itself is declared with the infrastructure types (DeployedSoftwareComponent extends it). The tabular
schema (model 0530) gives the data sets a lineage source reports their columns, for column-level lineage.
"""

from metaferry_runtime.repository.types.defs import (
    ElementTypeDef,
    PropertyDef,
    PropertyKind,
    RelationshipTypeDef,
    TypeArea,
)

S, INT = PropertyKind.STRING, PropertyKind.INTEGER

AREA = TypeArea(
    name="lineage",
    element_types=(
        ElementTypeDef.of("TabularSchemaType", "ComplexSchemaType", "The columns of a tabular data set."),
        ElementTypeDef.of("TabularColumn", "SchemaAttribute", "A column of a tabular data set."),
        ElementTypeDef.of(
            "Port",
            "Referenceable",
            "A process's input or output.",
            portType=PropertyDef(
                kind=PropertyKind.STRING, values=("NONE", "INPUT_PORT", "OUTPUT_PORT", "INOUT_PORT", "OUTIN_PORT")
            ),
        ),
    ),
    relationship_types=(
        RelationshipTypeDef.of(
            "ProcessHierarchy",
            ("Process", "parentProcess"),
            ("Process", "childProcess"),
            containmentType=PropertyDef(kind=PropertyKind.STRING, values=("OWNED", "USED", "OTHER")),
        ),
        RelationshipTypeDef.of("ProcessPort", ("Process", "process"), ("Port", "port")),
        RelationshipTypeDef.of("PortDelegation", ("Port", "delegatingFrom"), ("Port", "delegatingTo")),
        RelationshipTypeDef.of(
            "DataFlow", ("Referenceable", "dataSupplier"), ("Referenceable", "dataConsumer"), formula=S, formulaType=S
        ),
        RelationshipTypeDef.of(
            "ControlFlow", ("Referenceable", "currentStep"), ("Referenceable", "nextStep"), guard=S, mandatoryGuard=S
        ),
        RelationshipTypeDef.of(
            "ProcessCall", ("Referenceable", "calledBy"), ("Referenceable", "calls"), formula=S, lineNumber=INT
        ),
        RelationshipTypeDef.of(
            "LineageMapping",
            ("Referenceable", "sourceElement"),
            ("Referenceable", "targetElement"),
            label=S,
            description=S,
        ),
    ),
)
