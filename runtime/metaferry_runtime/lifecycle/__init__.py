"""The lifecycle engine: drives one connector through Egeria's lifecycle, schedules refreshes, restarts on failure."""

from metaferry_runtime.lifecycle.engine import ConnectorRuntime
from metaferry_runtime.lifecycle.steps import RuntimeSettings

__all__ = ["ConnectorRuntime", "RuntimeSettings"]
