"""Governance rules and what they govern (Egeria models 0401, 0430): data quality tests, as dbt's tests are.

A dbt test (or a check of another data quality tool) is Egeria's GovernanceRule, a TechnicalControl, linked
by GovernedBy to the data set or column it checks; `scope` says "data quality".
"""

from metaferry_runtime.repository.types.defs import ElementTypeDef, PropertyKind, RelationshipTypeDef, TypeArea

S = PropertyKind.STRING

AREA = TypeArea(
    name="analytics",
    element_types=(
        ElementTypeDef.of(
            "GovernanceRule",
            "TechnicalControl",
            "A rule a tool checks automatically, such as a data quality test.",
            implementationDescription=S,
        ),
    ),
    relationship_types=(
        RelationshipTypeDef.of(
            "GovernedBy",
            ("GovernanceDefinition", "governedBy"),
            ("Referenceable", "governedElements"),
            "The governance definition (a rule, a policy) that applies to the element.",
        ),
    ),
)
