"""ldap-directory refreshes on a directory of 50,000 people and 2,000 nested groups, beside a floor measured in
the same run.

Starts a throw-away OpenLDAP slapd (tests/ldap_server.py: installed by scripts/install-slapd.sh when
missing, loaded offline by slapadd, size limit 500 so only paged searches read it whole) and drives the
connector the way the runtime does: configured through the test kit's harness (the runtime's own
configuration path), each refresh inside `context.refresh_batch(...)`, so the real path is measured: the
paged searches, the planning, the context, the repository (embedded SQLite), deletion detection, the commit.

1. Floor: a bare ldap3 script (connection already bound) reading the same entries with the same attributes
   by the same paged searches (RFC 2696, 500 a page), keeping each entry's attributes. Target: the first
   refresh takes at most 3x the floor.
2. A refresh with nothing changed (incremental: the entries changed since the last refresh, none, and a
   DN listing for deletions). Target: at most 2 s.
3. A refresh after 100 people changed their title (incremental), for information.

Run: python benchmarks/ldap_directory.py [--people N] [--groups G] [--changed C]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ldap3
from _common import stopwatch, table

from metaferry_runtime.connectors.ldap_directory import LdapDirectoryConnector
from metaferry_runtime.connectors.ldap_directory.reading import change_attributes
from metaferry_runtime.connectors.ldap_directory.settings import (
    PROFILE_GROUPS,
    PROFILE_PEOPLE,
    LdapDirectorySettings,
    Profile,
)
from metaferry_runtime.repository import ChangeCounts
from metaferry_runtime.testing import ConnectorHarness
from tests.ldap_server import PASSWORD, READER_DN, ROOT_DN, SUFFIX, Organization, start_slapd

PAGE_SIZE = 500
PAGED_RESULTS = "1.2.840.113556.1.4.319"


def attributes_read() -> list[tuple[str, list[str]]]:
    """(filter, attributes) of the connector's default OpenLDAP mapping: what the floor reads too."""
    people, groups = PROFILE_PEOPLE[Profile.OPENLDAP], PROFILE_GROUPS[Profile.OPENLDAP]
    people_attributes = [value for key, value in people.model_dump().items() if key != "filter" and value]
    group_attributes = [groups.name, groups.description, *(groups.member_attributes or ())]
    group_attributes += [groups.member_uid_attribute, groups.leader_attribute]
    assert people.filter is not None and groups.filter is not None
    return [
        (people.filter, [*people_attributes, *change_attributes(LdapDirectorySettings())]),
        (groups.filter, [*(a for a in group_attributes if a), *change_attributes(LdapDirectorySettings())]),
    ]


def floor(url: str) -> tuple[float, int]:
    """Seconds for a bare paged read of the same entries, and how many entries it read."""
    connection = ldap3.Connection(
        ldap3.Server(url, get_info=ldap3.NONE), READER_DN, PASSWORD, auto_bind=True, read_only=True
    )
    kept: list[dict[str, Any]] = []
    with stopwatch() as elapsed:
        for search_filter, attributes in attributes_read():
            cookie: Any = None
            while True:
                connection.search(
                    SUFFIX, search_filter, attributes=attributes, paged_size=PAGE_SIZE, paged_cookie=cookie
                )
                kept += [
                    {"dn": item["dn"], **item["attributes"]}
                    for item in connection.response
                    if item.get("type") == "searchResEntry"
                ]
                cookie = connection.result["controls"][PAGED_RESULTS]["value"]["cookie"]
                if not cookie:
                    break
    connection.unbind()
    return elapsed[0], len(kept)


def timed_refresh(harness: ConnectorHarness[LdapDirectoryConnector], refresh_id: str) -> tuple[float, ChangeCounts]:
    with stopwatch() as elapsed, harness.context.refresh_batch(refresh_id) as batch:
        harness.connector.refresh()
    return elapsed[0], batch.transaction.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--changed", type=int, default=100)
    arguments = parser.parse_args()
    organization = Organization(people=arguments.people, groups=arguments.groups).build()
    with stopwatch() as loading:
        server = start_slapd(organization.entries)
    try:
        floor_seconds, entries = floor(server.url)
        with tempfile.TemporaryDirectory(prefix="metaferry-bench-") as work:
            harness = ConnectorHarness.create(
                LdapDirectoryConnector,
                endpoint=server.url,
                catalog_targets=[SUFFIX],
                configuration_properties={"pageSize": PAGE_SIZE},
                secrets={"bindDn": READER_DN, "password": PASSWORD},
                repository_url=f"sqlite:///{Path(work) / 'repository.db'}",
            )
            with harness:
                first, first_counts = timed_refresh(harness, "first")
                unchanged, unchanged_counts = timed_refresh(harness, "unchanged")
                admin = ldap3.Connection(server.url, ROOT_DN, PASSWORD, auto_bind=True)
                step = max(1, arguments.people // arguments.changed)
                for index in range(0, arguments.people, step)[: arguments.changed]:
                    admin.modify(organization.person_dn(index), {"title": [(ldap3.MODIFY_REPLACE, ["Architect"])]})
                admin.unbind()
                changed, changed_counts = timed_refresh(harness, "changed")
    finally:
        server.stop()
    ratio = first / floor_seconds
    print(f"slapd loaded with {len(organization.entries):,} entries in {loading[0]:.1f}s")
    print(
        table(
            ["measure", "ldap-directory", "floor (bare ldap3 paged search)", "ratio / target"],
            [
                [
                    f"first refresh: {arguments.people:,} people, {arguments.groups:,} groups"
                    f" ({first_counts.created:,} elements created)",
                    f"{first:.2f}s",
                    f"{floor_seconds:.2f}s ({entries:,} entries)",
                    f"{ratio:.1f}x " + ("ok (<= 3x)" if ratio <= 3 else "ABOVE 3x"),
                ],
                [
                    f"no-change refresh ({unchanged_counts.created + unchanged_counts.updated} written)",
                    f"{unchanged:.2f}s",
                    "-",
                    "ok (<= 2 s)" if unchanged <= 2 else "ABOVE 2 s",
                ],
                [
                    f"refresh after {arguments.changed} people changed ({changed_counts.updated} updated)",
                    f"{changed:.2f}s",
                    "-",
                    "-",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
