"""`metaferry`: the user's command line for IntegrationConnectors.

Installed as `metaferry` and as `kubectl-metaferry`, so `kubectl metaferry ...` runs it as a kubectl plugin.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("metaferry")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0"
