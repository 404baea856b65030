"""Security integration service (Egeria's Security Integrator): security groups, user identities, zones, tags.

Egeria's default for this service is TO_THIRD_PARTY (open metadata is the source of security definitions
and the connector pushes them to, say, a policy engine); the context enforces whatever the resource says.
Actor profiles are readable here but are the organization service's to write, and so are assets (of any
service): a security connector reads their zones and security classifications to publish access rules.
"""

from __future__ import annotations

from metaferry_runtime.repository import Element
from metaferry_runtime.sdk.contexts._elements import (
    MAX_PAGE_SIZE,
    ClassificationKind,
    ElementContext,
    ElementKind,
    RelationshipKind,
    page_of,
)

SECURITY_GROUP = ElementKind("SecurityGroup")
USER_IDENTITY = ElementKind("UserIdentity")
GOVERNANCE_ZONE = ElementKind("GovernanceZone")
ACTOR_PROFILE = ElementKind("ActorProfile")
ASSET = ElementKind("Asset", is_asset=True)
SECURITY_GROUP_MEMBERSHIP = RelationshipKind("SecurityGroupMembership", end1="security group", end2="user identity")
ZONE_HIERARCHY = RelationshipKind("ZoneHierarchy", end1="inherited-from zone", end2="controlled zone")
SECURITY_TAGS = ClassificationKind("SecurityTags")
CONFIDENTIALITY = ClassificationKind("Confidentiality")


class SecurityIntegratorContext(ElementContext):
    """What a security connector may do: manage groups, identities, zones and security classifications."""

    integration_service = "security"

    create_security_group = SECURITY_GROUP.create()
    upsert_security_group = SECURITY_GROUP.upsert()
    update_security_group = SECURITY_GROUP.update()
    remove_security_group = SECURITY_GROUP.remove()
    find_security_groups = SECURITY_GROUP.find()
    get_security_groups_by_name = SECURITY_GROUP.get_by_name()
    get_my_security_groups = SECURITY_GROUP.get_mine()
    get_security_group_by_guid = SECURITY_GROUP.get_by_guid()
    add_user_to_security_group = SECURITY_GROUP_MEMBERSHIP.link()
    remove_user_from_security_group = SECURITY_GROUP_MEMBERSHIP.unlink()
    get_security_group_members = SECURITY_GROUP_MEMBERSHIP.end2_elements()
    get_security_groups_of_user = SECURITY_GROUP_MEMBERSHIP.end1_elements()

    create_user_identity = USER_IDENTITY.create()
    upsert_user_identity = USER_IDENTITY.upsert()
    update_user_identity = USER_IDENTITY.update()
    remove_user_identity = USER_IDENTITY.remove()
    find_user_identities = USER_IDENTITY.find()
    get_user_identities_by_name = USER_IDENTITY.get_by_name()
    get_my_user_identities = USER_IDENTITY.get_mine()
    get_user_identity_by_guid = USER_IDENTITY.get_by_guid()

    create_governance_zone = GOVERNANCE_ZONE.create()
    upsert_governance_zone = GOVERNANCE_ZONE.upsert()
    update_governance_zone = GOVERNANCE_ZONE.update()
    remove_governance_zone = GOVERNANCE_ZONE.remove()
    find_governance_zones = GOVERNANCE_ZONE.find()
    get_governance_zones_by_name = GOVERNANCE_ZONE.get_by_name()
    get_my_governance_zones = GOVERNANCE_ZONE.get_mine()
    get_governance_zone_by_guid = GOVERNANCE_ZONE.get_by_guid()
    link_zone_hierarchy = ZONE_HIERARCHY.link()
    unlink_zone_hierarchy = ZONE_HIERARCHY.unlink()

    add_security_tags = SECURITY_TAGS.set()
    clear_security_tags = SECURITY_TAGS.clear()
    set_confidentiality = CONFIDENTIALITY.set()
    clear_confidentiality = CONFIDENTIALITY.clear()

    find_actor_profiles = ACTOR_PROFILE.find()
    get_actor_profiles_by_name = ACTOR_PROFILE.get_by_name()
    get_actor_profile_by_guid = ACTOR_PROFILE.get_by_guid()

    find_assets = ASSET.find()
    get_asset_by_guid = ASSET.get_by_guid()

    def get_security_groups_for_distinguished_name(self, distinguished_name: str) -> list[Element]:
        """The security groups whose distinguishedName is exactly this one."""
        with self.read_transaction() as transaction:
            found = transaction.find_elements(type_name=SECURITY_GROUP.type_name, page=page_of(0, MAX_PAGE_SIZE))
        return [e for e in found if e.effective_properties.get("distinguishedName") == distinguished_name]
