"""The lifecycle engine: drives one connector through Egeria's lifecycle, schedules refreshes, restarts on failure."""

from metaferry_runtime.lifecycle.engine import ConnectorRuntime, RuntimeSettings

__all__ = ["ConnectorRuntime", "RuntimeSettings"]
