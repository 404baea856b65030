"""Fetching from Grafana's HTTP API and from dashboard files, through the SDK's conditional fetcher.

The SDK (`sdk/http.py`) sends the Secret's credentials (a service account token or API key as a bearer
token, or basic auth) only to the Grafana the target names, never to a host a redirect points at, and
makes a dashboard fetch conditional when the last answer had an ETag or Last-Modified (a proxy in front
of Grafana may add them); otherwise the body's digest tells an unchanged dashboard.
"""

from __future__ import annotations

import json
from typing import Any

from metaferry_runtime.connectors.grafana_dashboards.settings import GrafanaDashboardsSettings
from metaferry_runtime.sdk import Connection
from metaferry_runtime.sdk.http import ConditionalFetcher, Fetched, SourceUnavailable

USER_AGENT = "metaferry-grafana-dashboards"


def new_fetcher(
    *, settings: GrafanaDashboardsSettings, connection: Connection, origins: set[str]
) -> ConditionalFetcher:
    return ConditionalFetcher(
        connection,
        origins=origins,
        timeout_seconds=settings.timeout_seconds,
        max_megabytes=settings.max_dashboard_megabytes,
        limit_setting="maxDashboardMegabytes",
        verify_tls=settings.verify_tls,
        ca_file=settings.ca_file,
        user_agent=USER_AGENT,
        refused_hint="check the Secret's token, or username and password, and its permissions",
    )


def parsed(fetched: Fetched) -> Any:
    """The answer's JSON; SourceUnavailable naming the URL when it is not JSON."""
    try:
        return json.loads(fetched.body or b"")
    except ValueError as error:
        raise SourceUnavailable(
            f"{fetched.url} is not JSON: {' '.join(str(error).split())[:160]}", status=200
        ) from None
