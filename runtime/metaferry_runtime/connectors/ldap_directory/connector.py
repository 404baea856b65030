"""The `ldap-directory` connector: catalogues the people and groups of an LDAP directory as an organization.

start() binds with the DN and password from the Secret (a refused bind or a missing base DN is
CONFIG_FAILED; an unreachable server is FAILED and retried). Each refresh reads the directory under the
base DNs with paged searches (`reading.py`), turns the entries into a plan of Person, UserIdentity,
ContactDetails and Team elements with their links (`model.py`) and writes what differs from the repository
(`catalog.py`). After the first refresh, reads are incremental where the server keeps modify timestamps:
only changed entries are read in full, and a DN listing finds the deleted ones.

The previous read and plan are kept in memory, and trusted only while they match the repository: a
refresh that fails forgets them; one element the previous refresh wrote is looked up first, and if the
repository does not hold it as written (that refresh's commit was lost) the refresh starts from scratch;
an element they name that the repository lacks (a purge) makes the refresh write its whole plan. After a
restart the first refresh reads and writes everything; unchanged elements cost a comparison, no event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metaferry_runtime.connectors.ldap_directory.catalog import Outcome, was_committed, write_plan
from metaferry_runtime.connectors.ldap_directory.directory import Directory, MissingBaseDn
from metaferry_runtime.connectors.ldap_directory.model import Naming, Plan, plan_organization
from metaferry_runtime.connectors.ldap_directory.reading import (
    ReadResult,
    Snapshot,
    change_attributes,
    read_changes,
    read_full,
)
from metaferry_runtime.connectors.ldap_directory.settings import LdapDirectorySettings
from metaferry_runtime.sdk import (
    ConnectorConfigurationError,
    ConnectorError,
    Diagnosis,
    IntegrationConnector,
    MessageCatalogue,
    Severity,
    numbered,
)
from metaferry_runtime.sdk.contexts.organization import OrganizationIntegratorContext


class LdapDirectoryMessages(MessageCatalogue):
    prefix = "METAFERRY-LDAP-DIRECTORY"

    CONNECTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} catalogues {base_dns} of {server} ({vendor}; paged search {paged})",
        "The connector bound to the directory and found every base DN.",
        "No action is required.",
    )
    CATALOGUED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} catalogued {people} people and {teams} teams of {server}"
        " ({read} read, {entries} entries read; {changed} elements changed, {added} links added,"
        " {removed} links removed, {archived} archived)",
        "The directory's people and groups were brought into the repository in one transaction.",
        "No action is required.",
    )
    NO_TIMESTAMPS = numbered(
        3,
        Severity.INFO,
        "Connector {connector_name} reads {server} in full on every refresh: its entries carry no {attribute}",
        "Incremental refresh needs each entry's modify timestamp; without it every entry is read each time.",
        "Set modifyTimestampAttribute to the attribute this directory keeps (whenChanged on Active Directory).",
    )


@dataclass
class _State:
    snapshot: Snapshot
    plan: Plan
    guids: dict[str, str]
    probe: tuple[str, str, dict[str, Any]] | None
    wrote: bool


class LdapDirectoryConnector(IntegrationConnector[OrganizationIntegratorContext]):
    """Catalogues an LDAP directory's people and groups: Person, UserIdentity, ContactDetails, Team and links."""

    integration_service = "organization"
    configuration_model = LdapDirectorySettings

    def __init__(self) -> None:
        super().__init__()
        self._settings = LdapDirectorySettings()
        self._directory: Directory | None = None
        self._state: _State | None = None
        self._told_no_timestamps = False

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        directory = self._configure()
        directory.connect()
        missing = [base_dn for base_dn in self.base_dns if not directory.exists(base_dn)]
        if missing:
            raise ConnectorConfigurationError(
                f"the base DNs {'; '.join(missing)} are not in {directory.address} (or the bind cannot read them):"
                " check catalogTargets and baseDns"
            )
        if self._audit_log is not None:
            self.audit_log.log_message(
                "start",
                LdapDirectoryMessages.CONNECTED,
                connector_name=self.connector_name,
                base_dns="; ".join(self.base_dns),
                server=str(directory.address),
                vendor=directory.server_description,
                paged="on" if directory.paged else "not offered by the server",
            )

    def refresh(self) -> None:
        """Read what changed (or everything), plan the organization, write the difference in one transaction."""
        directory = self.directory
        previous, self._state = self._state, None  # forgotten unless this refresh succeeds
        if previous is not None and not was_committed(self.context, previous.probe, wrote=previous.wrote):
            previous = None  # the last refresh's transaction did not commit: start again from the directory
        try:
            result = self._read(directory, previous)
        except MissingBaseDn as error:
            raise ConnectorError(
                f"the base DN {error.base_dn} is no longer in {directory.address}; nothing was archived"
            ) from None
        naming = Naming(directory.address)
        if result.unchanged and previous is not None:
            plan = previous.plan
        else:
            snapshot = result.snapshot
            plan = plan_organization(
                people=snapshot.people,
                groups=snapshot.groups,
                people_mapping=self._settings.people_mapping,
                groups_mapping=self._settings.groups_mapping,
                naming=naming,
                manager_teams=self._settings.manager_teams,
            )
        outcome = write_plan(
            self.context,
            plan,
            previous=previous.plan if previous is not None else None,
            guids=previous.guids if previous is not None else {},
            prefix=naming.prefix,
        )
        if self._settings.incremental:
            self._state = _State(
                snapshot=result.snapshot, plan=plan, guids=outcome.guids, probe=outcome.probe, wrote=outcome.wrote
            )
        self._report(result, outcome)

    def disconnect(self) -> None:
        if self._directory is not None:
            self._directory.close()
        self._state = None

    def diagnose(self) -> list[Diagnosis]:
        """connect and bind, the server and its paging, each base DN."""
        try:
            directory = self._configure()
            directory.connect()
        except ConnectorError as error:
            return [Diagnosis("connect", False, str(error))]
        try:
            steps = [
                Diagnosis("connect", True, f"bound to {directory.address}"),
                Diagnosis("server", True, directory.server_description),
                Diagnosis(
                    "paged search",
                    True,
                    "offered (RFC 2696)"
                    if directory.paged
                    else "not offered: each search returns up to the size limit",
                ),
            ]
            if not self.base_dns:
                steps.append(Diagnosis("base DNs", False, "none given: set catalogTargets or baseDns"))
            for base_dn in self.base_dns:
                found = directory.exists(base_dn)
                steps.append(
                    Diagnosis(f"base DN {base_dn}", found, "readable" if found else "not found or not readable")
                )
        finally:
            directory.close()
        return steps

    # --- helpers ----------------------------------------------------------------------------------------------
    @property
    def directory(self) -> Directory:
        if self._directory is None:
            raise ConnectorError("ldap-directory is not configured yet: start() has not run")
        return self._directory

    @property
    def base_dns(self) -> tuple[str, ...]:
        """The resource's catalogTargets and the `baseDns` property, in that order, without repeats."""
        return tuple(dict.fromkeys([*_catalog_target_names(self.context), *self._settings.base_dns]))

    def _configure(self) -> Directory:
        self._settings = self.configuration
        if self._directory is not None:
            self._directory.close()
        self._directory = Directory(self.connection, self._settings)
        if not self.base_dns:
            raise ConnectorConfigurationError("ldap-directory needs a base DN: set catalogTargets or baseDns")
        return self._directory

    def _read(self, directory: Directory, previous: _State | None) -> ReadResult:
        if previous is None or not self._settings.incremental:
            result = read_full(directory, self._settings, self.base_dns)
        else:
            result = read_changes(directory, self._settings, self.base_dns, previous.snapshot)
        if not result.snapshot.timestamps and not self._told_no_timestamps and self._audit_log is not None:
            self._told_no_timestamps = True
            self.audit_log.log_message(
                "refresh",
                LdapDirectoryMessages.NO_TIMESTAMPS,
                connector_name=self.connector_name,
                server=str(directory.address),
                attribute=" or ".join(change_attributes(self._settings)),
            )
        return result

    def _report(self, result: ReadResult, outcome: Outcome) -> None:
        if self._audit_log is None:
            return
        self.audit_log.log_message(
            "refresh",
            LdapDirectoryMessages.CATALOGUED,
            connector_name=self.connector_name,
            people=outcome.people,
            teams=outcome.teams,
            server=str(self.directory.address),
            read="incremental" if result.incremental else "full",
            entries=result.changed_entries,
            changed=outcome.changed,
            added=outcome.links_added,
            removed=outcome.links_removed,
            archived=outcome.archived,
        )


def _catalog_target_names(context: OrganizationIntegratorContext) -> list[str]:
    """The resource's catalog targets as base DNs. The one place that reads them, so a change of their type
    (names today, objects with a `.name` later) is made here alone."""
    return [
        target if isinstance(target, str) else str(getattr(target, "name", target))
        for target in context.get_catalog_targets()
    ]
