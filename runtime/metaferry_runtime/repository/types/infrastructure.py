"""Hosts, platforms, servers and their capabilities (Egeria models 0030-0057): the infrastructure service."""

from metaferry_runtime.repository.types.defs import ElementTypeDef, PropertyKind, RelationshipTypeDef, TypeArea

S, INT, T = PropertyKind.STRING, PropertyKind.INTEGER, PropertyKind.DATETIME

AREA = TypeArea(
    name="infrastructure",
    element_types=(
        ElementTypeDef.of("ITInfrastructure", "Asset", "Hardware or software that runs things."),
        ElementTypeDef.of("Host", "ITInfrastructure", operatingSystem=S, operatingSystemPatchLevel=S, architecture=S),
        ElementTypeDef.of("SoftwareServerPlatform", "ITInfrastructure", platformVersion=S, userId=S),
        ElementTypeDef.of("SoftwareServer", "ITInfrastructure", serverVersion=S, userId=S),
        ElementTypeDef.of(
            "SoftwareCapability",
            "Referenceable",
            "A function a server offers (a database manager, a file system, an event broker...).",
            deployedImplementationType=S,
            version=S,
            patchLevel=S,
            source=S,
        ),
        ElementTypeDef.of(
            "Process",
            "Asset",
            "Something that runs and transforms data; lineage hangs off it.",
            formula=S,
            formulaType=S,
            implementationLanguage=S,
        ),
        ElementTypeDef.of("DeployedSoftwareComponent", "Process", "A deployed unit of code."),
    ),
    relationship_types=(
        RelationshipTypeDef.of(
            "DeployedOn",
            ("ITInfrastructure", "deployedElement"),
            ("ITInfrastructure", "deployedTo"),
            deploymentTime=T,
            deployer=S,
            deploymentStatus=S,
        ),
        RelationshipTypeDef.of(
            "SoftwareServerPlatformDeployment",
            ("Host", "host"),
            ("SoftwareServerPlatform", "deployedPlatforms"),
            deploymentTime=T,
            deployer=S,
        ),
        RelationshipTypeDef.of(
            "SoftwareServerDeployment",
            ("SoftwareServerPlatform", "platform"),
            ("SoftwareServer", "deployedServers"),
            deploymentTime=T,
            deployer=S,
        ),
        RelationshipTypeDef.of(
            "SupportedSoftwareCapability",
            ("ITInfrastructure", "hostedByDeployedITInfrastructure"),
            ("SoftwareCapability", "capabilities"),
            deploymentStatus=S,
        ),
        RelationshipTypeDef.of("ServerEndpoint", ("ITInfrastructure", "servers"), ("Endpoint", "endpoints")),
        RelationshipTypeDef.of(
            "ServerAssetUse",
            ("SoftwareCapability", "consumedBy"),
            ("Asset", "consumes"),
            "A capability that hosts or uses an asset (a file system its folders, a broker its topics).",
            useType=S,
            description=S,
            minimumInstances=INT,
            maximumInstances=INT,
        ),
        RelationshipTypeDef.of(
            "HostedComponent",
            ("SoftwareServer", "hostedBy"),
            ("DeployedSoftwareComponent", "components"),
        ),
    ),
)
