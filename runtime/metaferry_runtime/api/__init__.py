"""The runtime's HTTP API (aiohttp): health, readiness, status, refresh, restart, metrics, audit."""

from metaferry_runtime.api.server import API_TOKEN_ENV, API_TOKEN_FILE_ENV, RuntimeApi, load_api_token

__all__ = ["API_TOKEN_ENV", "API_TOKEN_FILE_ENV", "RuntimeApi", "load_api_token"]
