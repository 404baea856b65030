"""Errors raised to connectors by the runtime's SDK."""

from __future__ import annotations


class ConnectorError(Exception):
    """Raised by a connector to report a failure with a message meant for users."""


class ConnectorConfigurationError(ConnectorError):
    """The connection or configuration is wrong; restarting will not help until the resource changes."""


class InvalidConfiguration(ConnectorConfigurationError):
    """The configuration properties do not match the connector's `configuration_model`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration properties: " + "; ".join(problems))
        self.problems = problems


class EngageNotImplemented(ConnectorError):
    """usesBlockingCalls is true but the connector does not implement engage()."""


class ContextDisconnected(ConnectorError):
    """The connector was disconnected (or its refresh abandoned); its context refuses every call."""


class SynchronizationNotPermitted(ConnectorError):
    """A write that the connector's permittedSynchronization forbids (Egeria's UserNotAuthorizedException)."""
