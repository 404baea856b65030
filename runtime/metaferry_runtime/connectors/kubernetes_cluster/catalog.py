"""Writing a Catalogue into the repository, in the caller's transaction (a refresh's, or a watch's change batch).

Elements go in with one bulk upsert per type. Links are written only for elements the upsert created or
changed: a workload's links are mirrored in its properties, so an unchanged workload has unchanged links.
A changed workload's DeployedOn and ServerEndpoint links are compared with the repository's and the stale
ones removed (only links to elements of this cluster: another connector's are left alone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from metaferry_runtime.connectors.kubernetes_cluster.model import Catalogue
from metaferry_runtime.sdk import ChangeKind, Element, ElementUpsert
from metaferry_runtime.sdk.contexts.infrastructure import InfrastructureIntegratorContext

#: The types deletion detection looks at, under the cluster's prefix (the platform itself is never archived).
CATALOGUED_TYPES = ("Host", "SoftwareCapability", "SoftwareServer", "Endpoint")


@dataclass
class WriteOutcome:
    """What one write changed, for the audit message."""

    elements: int = 0
    changed: int = 0
    archived: list[str] = field(default_factory=list)
    #: qualified name -> GUID of every element written, and of those `known` to the write
    guids: dict[str, str] = field(default_factory=dict)


def _changed(results: Sequence[tuple[str, ChangeKind]]) -> list[int]:
    return [index for index, (_, change) in enumerate(results) if change is not ChangeKind.UNCHANGED]


def write_catalogue(
    context: InfrastructureIntegratorContext, catalogue: Catalogue, *, known: Mapping[str, str] | None = None
) -> WriteOutcome:
    """Upsert everything the catalogue holds and link what changed; deletions are the caller's. `known` holds
    the GUIDs of elements an earlier write made that this catalogue leaves out (a watch writes only what
    changed), so what changed can still be linked to them."""
    outcome = WriteOutcome(elements=1)  # the platform
    platform, change = context.upsert_software_server_platform(
        catalogue.platform.qualified_name, catalogue.platform.properties, type_name=catalogue.platform.type_name
    )
    outcome.changed += change is not ChangeKind.UNCHANGED

    def upsert(upserts: list[ElementUpsert], call: Callable[..., list[tuple[str, ChangeKind]]]) -> dict[str, str]:
        results = call(upserts) if upserts else []
        outcome.elements += len(upserts)
        changed = _changed(results)
        outcome.changed += len(changed)
        guids = {upsert.qualified_name: guid for upsert, (guid, _) in zip(upserts, results, strict=True)}
        fresh.update(upserts[index].qualified_name for index in changed)
        created.update(upserts[i].qualified_name for i in changed if results[i][1] is ChangeKind.ELEMENT_CREATED)
        return guids

    fresh: set[str] = set()
    created: set[str] = set()  # these have no links yet: nothing to compare
    hosts = upsert(catalogue.hosts, context.upsert_hosts)
    namespaces = upsert(catalogue.namespaces, context.upsert_software_capabilities)
    endpoints = upsert(catalogue.endpoints, context.upsert_endpoints)
    servers = upsert(catalogue.servers, context.upsert_software_servers)
    platform_changed = change is not ChangeKind.UNCHANGED
    guids = outcome.guids = {**(known or {}), **hosts, **namespaces, **endpoints, **servers}
    in_cluster = set(guids.values())

    for name, guid in hosts.items():
        if name in fresh or platform_changed:
            context.deploy_software_server_platform(guid, platform.guid)
    for name, guid in namespaces.items():
        if name in fresh or platform_changed:
            context.add_supported_software_capability(platform.guid, guid)
    for name, guid in servers.items():
        if name not in fresh and not platform_changed:
            continue
        context.deploy_software_server(platform.guid, guid)
        namespace = guids.get(catalogue.server_namespace[name])
        if namespace is not None:
            context.add_server_asset_use(namespace, guid, {"useType": "OWNS"})
        _link(
            guid,
            current=[] if name in created else [e.guid for e in context.get_deployed_to(guid) if e.guid in in_cluster],
            wanted=[guids[host] for host in catalogue.deployed_on[name] if host in guids],
            add=context.add_deployed_on,
            remove=context.remove_deployed_on,
        )
        _link(
            guid,
            current=[]
            if name in created
            else [e.guid for e in context.get_server_endpoints(guid) if e.guid in in_cluster],
            wanted=[guids[endpoint] for endpoint in catalogue.server_endpoints[name] if endpoint in guids],
            add=context.add_server_endpoint,
            remove=context.remove_server_endpoint,
        )
    return outcome


def _link(
    server: str,
    *,
    current: list[str],
    wanted: list[str],
    add: Callable[[str, str], object],
    remove: Callable[[str, str], object],
) -> None:
    """Make the server's links of one type exactly `wanted`."""
    for target in sorted(set(wanted) - set(current)):
        add(server, target)
    for target in sorted(set(current) - set(wanted)):
        remove(server, target)


def archive_missing(
    context: InfrastructureIntegratorContext, *, previous: dict[str, str], current: dict[str, str]
) -> list[str]:
    """Outside a refresh (no deletion detection there): archive what the last write had and this one has not."""
    getters: dict[str, Callable[[str], Element | None]] = {
        "Host": context.get_host_by_qualified_name,
        "SoftwareCapability": context.get_software_capability_by_qualified_name,
        "SoftwareServer": context.get_software_server_by_qualified_name,
        "Endpoint": context.get_endpoint_by_qualified_name,
    }
    removers: dict[str, Callable[[str], object]] = {
        "Host": context.remove_host,
        "SoftwareCapability": context.remove_software_capability,
        "SoftwareServer": context.remove_software_server,
        "Endpoint": context.remove_endpoint,
    }
    archived = []
    for name in sorted(set(previous) - set(current)):
        element = getters[previous[name]](name)
        if element is not None and element.metadata_collection == context.get_metadata_source_qualified_name():
            removers[previous[name]](element.guid)
            archived.append(name)
    return archived
