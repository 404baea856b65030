"""The `ldap-directory` connector of the organization integration service (see `connector.py`)."""

from metaferry_runtime.connectors.ldap_directory.connector import LdapDirectoryConnector, LdapDirectoryMessages

__all__ = ["LdapDirectoryConnector", "LdapDirectoryMessages"]
