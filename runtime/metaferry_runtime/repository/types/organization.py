"""People, teams, roles, identities and contact details (Egeria models 0110-0117): the organization service."""

from metaferry_runtime.repository.types.defs import ElementTypeDef, PropertyKind, RelationshipTypeDef, TypeArea

S, INT, B = PropertyKind.STRING, PropertyKind.INTEGER, PropertyKind.BOOLEAN

AREA = TypeArea(
    name="organization",
    element_types=(
        ElementTypeDef.of("ActorProfile", "Referenceable", "A person, team or engine that acts."),
        ElementTypeDef.of(
            "Person",
            "ActorProfile",
            fullName=S,
            givenNames=S,
            surname=S,
            title=S,
            initials=S,
            jobTitle=S,
            employeeNumber=S,
            employeeType=S,
            preferredLanguage=S,
            isPublic=B,
        ),
        ElementTypeDef.of("Team", "ActorProfile", teamType=S, identifier=S),
        ElementTypeDef.of(
            "PersonRole",
            "Referenceable",
            identifier=S,
            title=S,
            scope=S,
            headCount=INT,
            headCountLimitSet=B,
            domainIdentifier=INT,
        ),
        ElementTypeDef.of("UserIdentity", "Referenceable", userId=S, distinguishedName=S),
        ElementTypeDef.of(
            "ContactDetails",
            "Referenceable",
            contactType=S,
            contactMethodType=S,
            contactMethodService=S,
            contactMethodValue=S,
        ),
    ),
    relationship_types=(
        RelationshipTypeDef.of(
            "TeamStructure", ("Team", "superTeam"), ("Team", "subTeam"), delegationEscalationAuthority=B
        ),
        RelationshipTypeDef.of(
            "PersonRoleAppointment", ("Person", "rolePerformers"), ("PersonRole", "performsRoles"), isPublic=B
        ),
        RelationshipTypeDef.of("TeamMembership", ("PersonRole", "teamMembers"), ("Team", "teams"), position=S),
        RelationshipTypeDef.of("TeamLeadership", ("PersonRole", "teamLeaders"), ("Team", "leadsTeam"), position=S),
        RelationshipTypeDef.of("ProfileIdentity", ("ActorProfile", "profile"), ("UserIdentity", "userIdentities")),
        RelationshipTypeDef.of("ContactThrough", ("ActorProfile", "contacts"), ("ContactDetails", "contactDetails")),
    ),
)
