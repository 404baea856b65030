"""Reaching the directory: the address from the endpoint, the bind from the Secret, paged searches, errors.

The bind DN and its password come only from the Secret (keys `bindDn` and `password`; neither for an
anonymous bind): an endpoint that carries credentials is refused, so they never sit in a manifest. The
connection is ldap3's synchronous strategy (no thread of its own), read-only, with a timeout on the
connect and on every response.

Searches are paged (RFC 2696, the simple paged results control) whenever the server advertises the control,
so a directory larger than the server's size limit is read whole, a page at a time; a server without it
gets plain searches. Errors are sorted the way the runtime acts on them: the server refused our credentials
or our base DN does not exist (ConnectorConfigurationError at start: a retry will not help), or the
server could not be reached or answered too slowly (ConnectorError: retried with backoff).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as ldap_errors

from metaferry_runtime.connectors.ldap_directory.settings import LdapDirectorySettings
from metaferry_runtime.sdk import Connection, ConnectorConfigurationError, ConnectorError

PAGED_RESULTS_CONTROL = "1.2.840.113556.1.4.319"
DEFAULT_PORTS = {"ldap": 389, "ldaps": 636}
#: Ask for no attributes: the DN alone (RFC 4511 section 4.5.1.8).
NO_ATTRIBUTES = ["1.1"]


@dataclass(frozen=True)
class DirectoryAddress:
    """Where, without who: for messages, audit records and qualified names."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.authority}"

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Entry:
    """One search result: its DN and attributes, attribute names in lower case."""

    dn: str
    attributes: dict[str, list[str]]

    def first(self, attribute: str | None) -> str | None:
        if not attribute:
            return None
        values = self.attributes.get(attribute.lower())
        return values[0] if values else None

    def all(self, attribute: str | None) -> list[str]:
        return self.attributes.get(attribute.lower(), []) if attribute else []


def directory_address(endpoint: str | None) -> DirectoryAddress:
    """The endpoint as an address; a missing, non-LDAP or credential-holding endpoint is a configuration error."""
    if not endpoint:
        raise ConnectorConfigurationError("ldap-directory needs connection.endpoint: ldap://host:port or ldaps://host")
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ConnectorConfigurationError(
            f"connection.endpoint must be an ldap:// or ldaps:// URL, not {scheme or 'a bare address'}"
        )
    if "@" in parts.netloc:
        raise ConnectorConfigurationError(
            "connection.endpoint holds credentials: remove them and put the bind DN and password in the Secret"
            " named by secretRef (keys bindDn and password)"
        )
    if parts.path not in ("", "/"):
        raise ConnectorConfigurationError(
            "connection.endpoint must not name a base DN: list base DNs in catalogTargets or baseDns"
        )
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConnectorConfigurationError(f"connection.endpoint has an invalid port: {parts.netloc}") from None
    if not parts.hostname:
        raise ConnectorConfigurationError("connection.endpoint names no host")
    return DirectoryAddress(scheme=scheme, host=parts.hostname, port=port)


class Directory:
    """A bound, read-only connection to the directory, with the searches the connector makes."""

    def __init__(self, connection: Connection, settings: LdapDirectorySettings) -> None:
        self.address = directory_address(connection.endpoint)
        self._settings = settings
        self._bind_dn = connection.secret("bindDn")
        self._password = connection.secret("password")
        if (self._bind_dn is None) != (self._password is None):
            raise ConnectorConfigurationError(
                "the Secret must hold both bindDn and password (or neither, for an anonymous bind)"
            )
        self._link: ldap3.Connection | None = None
        self.paged = True

    # --- connecting -----------------------------------------------------------------------------------------
    def connect(self) -> None:
        """Bind (again, when the connection is gone); learn whether the server pages."""
        if self._link is not None and self._link.bound and not self._link.closed:
            return
        self.close()
        settings = self._settings
        tls = None
        if self.address.scheme == "ldaps":
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED if settings.validate_certificate else ssl.CERT_NONE,
                ca_certs_file=settings.ca_certificates_file,
            )
        server = ldap3.Server(
            self.address.host,
            port=self.address.port,
            use_ssl=self.address.scheme == "ldaps",
            tls=tls,
            get_info=ldap3.DSA,
            connect_timeout=settings.connect_timeout_seconds,
        )
        link = ldap3.Connection(
            server,
            user=self._bind_dn,
            password=self._password,
            authentication=ldap3.SIMPLE if self._bind_dn else ldap3.ANONYMOUS,
            read_only=True,
            receive_timeout=settings.search_timeout_seconds,
            raise_exceptions=True,
            return_empty_attributes=False,
        )
        try:
            link.open()
            link.bind()
        except ldap_errors.LDAPInvalidCredentialsResult:
            link.unbind()
            raise ConnectorConfigurationError(
                f"{self.address} refused the bind DN and password from the Secret: check its bindDn and password"
            ) from None
        except (
            ldap_errors.LDAPSocketOpenError,
            ldap_errors.LDAPSocketReceiveError,
            ldap_errors.LDAPSessionTerminatedByServerError,
        ) as error:
            link.unbind()
            raise ConnectorError(f"cannot reach the directory at {self.address}: {_reason(error)}") from None
        except ldap_errors.LDAPException as error:
            link.unbind()
            raise ConnectorConfigurationError(f"{self.address} refused the bind: {_reason(error)}") from None
        controls = server.info.supported_controls if server.info is not None else []
        self.paged = any(control[0] == PAGED_RESULTS_CONTROL for control in controls or [])
        self._link = link

    @property
    def server_description(self) -> str:
        """The vendor and version the root DSE gives, when it gives them."""
        info = self._link.server.info if self._link is not None else None
        if info is None:
            return "unknown server"
        vendor = " ".join(str(value) for value in (info.vendor_name or []))
        version = " ".join(str(value) for value in (info.vendor_version or []))
        return " ".join(part for part in (vendor, version) if part) or "an LDAP v3 server"

    def close(self) -> None:
        link, self._link = self._link, None
        if link is not None and not link.closed:
            # A server that is gone already: the socket is closed either way.
            with contextlib.suppress(ldap_errors.LDAPException):
                link.unbind()

    # --- searching ------------------------------------------------------------------------------------------
    def search(self, base_dn: str, search_filter: str, attributes: Sequence[str]) -> Iterator[Entry]:
        """Every entry under base_dn that matches, a page at a time when the server pages."""
        self.connect()
        link = self._link
        assert link is not None
        cookie: Any = None
        size = self._settings.page_size
        try:
            while True:
                if self.paged:
                    link.search(
                        base_dn,
                        search_filter,
                        ldap3.SUBTREE,
                        attributes=list(attributes),
                        paged_size=size,
                        paged_cookie=cookie,
                        time_limit=self._settings.search_timeout_seconds,
                    )
                else:
                    link.search(
                        base_dn,
                        search_filter,
                        ldap3.SUBTREE,
                        attributes=list(attributes),
                        time_limit=self._settings.search_timeout_seconds,
                    )
                for item in link.response or ():
                    if item.get("type") == "searchResEntry":
                        yield Entry(item["dn"], _lowered(item["attributes"]))
                if not self.paged:
                    return
                cookie = link.result.get("controls", {}).get(PAGED_RESULTS_CONTROL, {}).get("value", {}).get("cookie")
                if not cookie:
                    return
        except ldap_errors.LDAPNoSuchObjectResult:
            raise MissingBaseDn(base_dn) from None
        except ldap_errors.LDAPInvalidFilterError as error:
            raise ConnectorConfigurationError(
                f"the filter {search_filter} is not a valid LDAP filter: {error}"
            ) from None
        except (
            ldap_errors.LDAPCommunicationError,
            ldap_errors.LDAPSessionTerminatedByServerError,
            ldap_errors.LDAPResponseTimeoutError,
            ldap_errors.LDAPSocketReceiveError,
        ) as error:
            self.close()
            raise ConnectorError(f"the directory at {self.address} stopped answering: {_reason(error)}") from None
        except ldap_errors.LDAPOperationResult as error:
            raise ConnectorError(f"searching {base_dn} at {self.address} failed: {_reason(error)}") from None

    def exists(self, base_dn: str) -> bool:
        """True when the base DN is an entry this bind can read."""
        self.connect()
        assert self._link is not None
        try:
            self._link.search(base_dn, "(objectClass=*)", ldap3.BASE, attributes=NO_ATTRIBUTES)
        except ldap_errors.LDAPNoSuchObjectResult:
            return False
        return bool(self._link.response)


class MissingBaseDn(ConnectorError):
    """A base DN to read is not in the directory (or not visible to the bind)."""

    def __init__(self, base_dn: str) -> None:
        super().__init__(base_dn)
        self.base_dn = base_dn


def _lowered(attributes: dict[str, Any]) -> dict[str, list[str]]:
    return {
        name.lower(): [str(value) for value in values] if isinstance(values, list) else [str(values)]
        for name, values in attributes.items()
    }


def _reason(error: Exception) -> str:
    """ldap3's message without the connection parameters some exceptions carry."""
    description = getattr(error, "description", None)
    message = getattr(error, "message", None)
    text = " ".join(str(part) for part in (description, message) if part) or type(error).__name__
    return " ".join(text.split())
