"""metaferry connector runtime: the SDK connector authors import, and the process that runs one connector."""

__version__ = "0.1.0"
