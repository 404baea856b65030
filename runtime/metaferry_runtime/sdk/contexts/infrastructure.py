"""Infrastructure integration service (Egeria's Infrastructure Integrator): hosts, platforms, servers.

The deployment chain is Egeria's: Host -SoftwareServerPlatformDeployment-> SoftwareServerPlatform
-SoftwareServerDeployment-> SoftwareServer, with SoftwareCapabilities (file systems, database managers,
event brokers) hanging off any of them by SupportedSoftwareCapability and Endpoints by ServerEndpoint.
"""

from __future__ import annotations

from metaferry_runtime.sdk.contexts._elements import ElementContext, ElementKind, RelationshipKind

HOST = ElementKind("Host", is_asset=True)
PLATFORM = ElementKind("SoftwareServerPlatform", is_asset=True)
SERVER = ElementKind("SoftwareServer", is_asset=True)
CAPABILITY = ElementKind("SoftwareCapability")
ENDPOINT = ElementKind("Endpoint")
PLATFORM_DEPLOYMENT = RelationshipKind("SoftwareServerPlatformDeployment", end1="host", end2="platform")
SERVER_DEPLOYMENT = RelationshipKind("SoftwareServerDeployment", end1="platform", end2="server")
SUPPORTED_CAPABILITY = RelationshipKind("SupportedSoftwareCapability", end1="infrastructure", end2="capability")
SERVER_ENDPOINT = RelationshipKind("ServerEndpoint", end1="infrastructure", end2="endpoint")
SERVER_ASSET_USE = RelationshipKind("ServerAssetUse", end1="capability", end2="asset")
DEPLOYED_ON = RelationshipKind("DeployedOn", end1="deployed element", end2="deployed to")


class InfrastructureIntegratorContext(ElementContext):
    """What an infrastructure connector may do: catalog hosts, platforms, servers, capabilities, endpoints."""

    integration_service = "infrastructure"

    create_host = HOST.create()
    upsert_host = HOST.upsert()
    upsert_hosts = HOST.upsert_many()
    update_host = HOST.update()
    publish_host = HOST.publish()
    withdraw_host = HOST.withdraw()
    remove_host = HOST.remove()
    find_hosts = HOST.find()
    get_hosts_by_name = HOST.get_by_name()
    get_my_hosts = HOST.get_mine()
    get_host_by_guid = HOST.get_by_guid()
    get_host_by_qualified_name = HOST.get_by_qualified_name()

    create_software_server_platform = PLATFORM.create()
    upsert_software_server_platform = PLATFORM.upsert()
    update_software_server_platform = PLATFORM.update()
    publish_software_server_platform = PLATFORM.publish()
    withdraw_software_server_platform = PLATFORM.withdraw()
    remove_software_server_platform = PLATFORM.remove()
    find_software_server_platforms = PLATFORM.find()
    get_software_server_platforms_by_name = PLATFORM.get_by_name()
    get_my_software_server_platforms = PLATFORM.get_mine()
    get_software_server_platform_by_guid = PLATFORM.get_by_guid()
    get_software_server_platform_by_qualified_name = PLATFORM.get_by_qualified_name()

    create_software_server = SERVER.create()
    upsert_software_server = SERVER.upsert()
    upsert_software_servers = SERVER.upsert_many()
    update_software_server = SERVER.update()
    publish_software_server = SERVER.publish()
    withdraw_software_server = SERVER.withdraw()
    remove_software_server = SERVER.remove()
    find_software_servers = SERVER.find()
    get_software_servers_by_name = SERVER.get_by_name()
    get_my_software_servers = SERVER.get_mine()
    get_software_server_by_guid = SERVER.get_by_guid()
    get_software_server_by_qualified_name = SERVER.get_by_qualified_name()

    create_software_capability = CAPABILITY.create()
    upsert_software_capability = CAPABILITY.upsert()
    upsert_software_capabilities = CAPABILITY.upsert_many()
    update_software_capability = CAPABILITY.update()
    remove_software_capability = CAPABILITY.remove()
    find_software_capabilities = CAPABILITY.find()
    get_software_capabilities_by_name = CAPABILITY.get_by_name()
    get_my_software_capabilities = CAPABILITY.get_mine()
    get_software_capability_by_guid = CAPABILITY.get_by_guid()
    get_software_capability_by_qualified_name = CAPABILITY.get_by_qualified_name()

    create_endpoint = ENDPOINT.create()
    upsert_endpoint = ENDPOINT.upsert()
    upsert_endpoints = ENDPOINT.upsert_many()
    update_endpoint = ENDPOINT.update()
    remove_endpoint = ENDPOINT.remove()
    find_endpoints = ENDPOINT.find()
    get_endpoints_by_name = ENDPOINT.get_by_name()
    get_my_endpoints = ENDPOINT.get_mine()
    get_endpoint_by_guid = ENDPOINT.get_by_guid()
    get_endpoint_by_qualified_name = ENDPOINT.get_by_qualified_name()

    deploy_software_server_platform = PLATFORM_DEPLOYMENT.link()
    remove_software_server_platform_deployment = PLATFORM_DEPLOYMENT.unlink()
    get_platforms_on_host = PLATFORM_DEPLOYMENT.end2_elements()
    deploy_software_server = SERVER_DEPLOYMENT.link()
    remove_software_server_deployment = SERVER_DEPLOYMENT.unlink()
    get_servers_on_platform = SERVER_DEPLOYMENT.end2_elements()
    add_supported_software_capability = SUPPORTED_CAPABILITY.link()
    remove_supported_software_capability = SUPPORTED_CAPABILITY.unlink()
    get_supported_software_capabilities = SUPPORTED_CAPABILITY.end2_elements()
    add_server_endpoint = SERVER_ENDPOINT.link()
    remove_server_endpoint = SERVER_ENDPOINT.unlink()
    get_server_endpoints = SERVER_ENDPOINT.end2_elements()
    add_server_asset_use = SERVER_ASSET_USE.link()
    remove_server_asset_use = SERVER_ASSET_USE.unlink()
    get_assets_used_by_capability = SERVER_ASSET_USE.end2_elements()
    add_deployed_on = DEPLOYED_ON.link()
    remove_deployed_on = DEPLOYED_ON.unlink()
    get_deployed_to = DEPLOYED_ON.end2_elements()
