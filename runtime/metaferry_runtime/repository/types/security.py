"""Security groups, governance zones and security tags (Egeria models 0401-0424): the security service.

UserIdentity is declared with the organization types; both services use it.
"""

from metaferry_runtime.repository.types.defs import (
    ClassificationDef,
    ElementTypeDef,
    PropertyKind,
    RelationshipTypeDef,
    TypeArea,
)

S, INT, L, M, A = (
    PropertyKind.STRING,
    PropertyKind.INTEGER,
    PropertyKind.STRING_LIST,
    PropertyKind.STRING_MAP,
    PropertyKind.ANY_MAP,
)

AREA = TypeArea(
    name="security",
    element_types=(
        ElementTypeDef.of(
            "GovernanceDefinition", "Referenceable", title=S, summary=S, scope=S, domainIdentifier=INT, importance=S
        ),
        ElementTypeDef.of("TechnicalControl", "GovernanceDefinition"),
        ElementTypeDef.of("SecurityGroup", "TechnicalControl", distinguishedName=S),
        ElementTypeDef.of("GovernanceZone", "GovernanceDefinition", "A zone assets are published to.", criteria=S),
    ),
    relationship_types=(
        RelationshipTypeDef.of(
            "ZoneHierarchy", ("GovernanceZone", "inheritsFromZone"), ("GovernanceZone", "controlsZone")
        ),
        RelationshipTypeDef.of("SecurityGroupMembership", ("SecurityGroup", "groups"), ("UserIdentity", "members")),
    ),
    classifications=(
        ClassificationDef.of(
            "SecurityTags",
            ("Referenceable",),
            "Labels and properties that drive access decisions.",
            securityLabels=L,
            securityProperties=A,
            accessGroups=A,
        ),
        ClassificationDef.of("Confidentiality", ("Referenceable",), level=INT, status=S, steward=S, source=S, notes=S),
    ),
)
