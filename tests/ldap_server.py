"""A throw-away OpenLDAP slapd for the ldap-directory tests and benchmark, and the directory they load into it.

slapd comes from the Debian packages, installed by scripts/install-slapd.sh when missing (the fixture runs
it; a slapd that cannot be had fails the tests with the command to run). Each server gets its own
directory with a slapd.conf (back_mdb, one suffix), is filled offline by `slapadd` (50,000 entries in
seconds, where ldapadd takes minutes), and listens on a free loopback port. The readers the connector binds
as are ordinary entries, so the server's size limit applies to them (the root DN has none): a search
that returns more than `size_limit` entries succeeds only when paged (RFC 2696).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.local_servers import (
    REPO_ROOT,
    ServerProcess,
    ServerUnavailable,
    accepts_connections,
    free_port,
    install_tool,
)

INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-slapd.sh"
INSTALL_COMMAND = f"bash {INSTALL_SCRIPT}  (or: DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils)"

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
READER_DN = f"cn=reader,{SUFFIX}"
PASSWORD = "directory-secret-7f3a"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


class SlapdUnavailable(ServerUnavailable):
    """slapd is not installed and could not be: the message says which command to run."""


def install_slapd() -> Path:
    """The slapd binary, installed by scripts/install-slapd.sh when missing."""
    return install_tool(
        INSTALL_SCRIPT,
        unavailable=SlapdUnavailable,
        timeout=900,
        advice=f"OpenLDAP slapd is required for the ldap-directory tests; install it with: {INSTALL_COMMAND}",
    )


@dataclass
class Slapd:
    """A running slapd; `url` is ldap://127.0.0.1:<port>."""

    binary: Path
    directory: Path
    port: int
    server: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _config(directory: Path, *, size_limit: int) -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {directory}/slapd.pid
argsfile {directory}/slapd.args
sizelimit size.soft={size_limit} size.hard={size_limit} size.prtotal=unlimited
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
database mdb
maxsize 4294967296
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {PASSWORD}
directory {directory}/data
index objectClass eq
index uid,cn eq
"""


def base_entries() -> list[dict[str, list[str]]]:
    """The suffix, the two organizational units and the reader the connector binds as."""
    return [
        {"dn": [SUFFIX], "objectClass": ["dcObject", "organization"], "dc": ["example"], "o": ["Example"]},
        {"dn": [PEOPLE], "objectClass": ["organizationalUnit"], "ou": ["people"]},
        {"dn": [GROUPS], "objectClass": ["organizationalUnit"], "ou": ["groups"]},
        {
            "dn": [READER_DN],
            "objectClass": ["organizationalRole", "simpleSecurityObject"],
            "cn": ["reader"],
            "userPassword": [PASSWORD],
        },
    ]


def ldif(entries: Iterable[dict[str, list[str]]]) -> Iterator[str]:
    """LDIF text of the entries (values are plain ASCII here, so none needs base64)."""
    for entry in entries:
        lines = [f"dn: {entry['dn'][0]}"]
        lines += [f"{key}: {value}" for key, values in entry.items() if key != "dn" for value in values]
        yield "\n".join(lines) + "\n\n"


def start_slapd(
    entries: Iterable[dict[str, list[str]]], *, size_limit: int = 500, startup_timeout: float = 30.0
) -> Slapd:
    """A slapd on a free loopback port, loaded with the base entries and `entries` (slapadd, offline)."""
    binary = install_slapd()
    directory = Path(tempfile.mkdtemp(prefix="metaferry-slapd-"))
    (directory / "data").mkdir()
    config = directory / "slapd.conf"
    config.write_text(_config(directory, size_limit=size_limit))
    data = directory / "directory.ldif"
    with data.open("w") as out:
        for chunk in ldif([*base_entries(), *entries]):
            out.write(chunk)
    slapadd = binary.with_name("slapadd")
    loaded = subprocess.run(
        [str(slapadd), "-q", "-f", str(config), "-l", str(data)], capture_output=True, text=True, check=False
    )
    if loaded.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"slapadd failed: {loaded.stderr.strip()[-2000:]}")
    port = free_port()
    server = Slapd(binary=binary, directory=directory, port=port)
    server.server = ServerProcess("slapd", directory / "slapd.log", unavailable=SlapdUnavailable)
    # -d 0: stay in the foreground (so the fixture owns the process) and log nothing but failures.
    try:
        server.server.start(
            [str(binary), "-f", str(config), "-h", f"ldap://127.0.0.1:{port}/", "-d", "0"],
            answers=lambda: accepts_connections(port),
            deadline=startup_timeout,
        )
    except SlapdUnavailable:
        server.stop()
        raise
    return server


# --- the directory the tests and the benchmark load ---------------------------------------------------------
@dataclass
class Organization:
    """People and nested groups, generated: what the connector should find is computed from the same data."""

    people: int
    groups: int
    entries: list[dict[str, list[str]]] = field(default_factory=list)

    def person_dn(self, index: int) -> str:
        return f"uid=user{index:05d},{PEOPLE}"

    def group_dn(self, index: int) -> str:
        return f"cn=team{index:04d},{GROUPS}"

    def parent_group(self, index: int) -> int | None:
        """Groups form a tree of fan-out 4: group 0 is the root."""
        return None if index == 0 else (index - 1) // 4

    def manager(self, index: int) -> int | None:
        """Every tenth person manages the nine after them, and every hundredth the nine tenths after them:
        person 0 has no manager, 10 reports to 0, 11 to 10."""
        if index % 10:
            return index - index % 10
        return index - index % 100 if index % 100 else None

    def group_kind(self, index: int) -> str:
        """Every kind the default filters know: groupOfNames, groupOfUniqueNames and (leaves only) posixGroup."""
        if index % 7 == 3 and not self.sub_groups(index):
            return "posixGroup"
        return "groupOfUniqueNames" if index % 3 == 1 else "groupOfNames"

    def sub_groups(self, index: int) -> list[int]:
        return [child for child in range(4 * index + 1, 4 * index + 5) if child < self.groups]

    def members(self, index: int) -> list[int]:
        """The people directly in a group: a contiguous slice, so every person is in exactly one group."""
        per_group = max(1, self.people // self.groups)
        start = index * per_group
        end = self.people if index == self.groups - 1 else min(self.people, start + per_group)
        return list(range(start, end))

    def build(self) -> Organization:
        self.entries = [self.person(index) for index in range(self.people)]
        self.entries += [self.group(index) for index in range(self.groups)]
        return self

    def person(self, index: int) -> dict[str, list[str]]:
        given, surname = f"Given{index}", f"Surname{index}"
        entry = {
            "dn": [self.person_dn(index)],
            "objectClass": ["inetOrgPerson"],
            "uid": [f"user{index:05d}"],
            "cn": [f"{given} {surname}"],
            "givenName": [given],
            "sn": [surname],
            "mail": [f"user{index:05d}@example.org"],
            "title": ["Engineer" if index % 10 else "Manager"],
            "employeeNumber": [str(100000 + index)],
            "telephoneNumber": [f"+1 555 {index:07d}"],
        }
        manager = self.manager(index)
        if manager is not None:
            entry["manager"] = [self.person_dn(manager)]
        return entry

    def group(self, index: int) -> dict[str, list[str]]:
        kind = self.group_kind(index)
        entry: dict[str, list[str]] = {
            "dn": [self.group_dn(index)],
            "objectClass": [kind],
            "cn": [f"team{index:04d}"],
            "description": [f"Team number {index}"],
        }
        if kind == "posixGroup":
            entry["gidNumber"] = [str(10000 + index)]
            entry["memberUid"] = [f"user{person:05d}" for person in self.members(index)]
            return entry
        attribute = "uniqueMember" if kind == "groupOfUniqueNames" else "member"
        values = [self.person_dn(person) for person in self.members(index)]
        values += [self.group_dn(child) for child in self.sub_groups(index)]
        entry[attribute] = values or [self.person_dn(0)]
        entry["owner"] = [self.person_dn(self.members(index)[0] if self.members(index) else 0)]
        return entry
