"""The grafana-dashboards connector's audit messages (never renumber a published one)."""

from metaferry_runtime.sdk import MessageCatalogue, Severity, numbered


class GrafanaDashboardsMessages(MessageCatalogue):
    prefix = "METAFERRY-GRAFANA-DASHBOARDS"

    STARTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} catalogues the Grafana dashboards of {targets}",
        "Each refresh lists every target's dashboards and catalogues those whose JSON changed.",
        "No action is required.",
    )
    CATALOGUED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} catalogued {count} dashboards of {target} ({unchanged} unchanged):"
        " {panels} panels, {queries} queries, {tables} links to tables",
        "Changed dashboards were catalogued again; unchanged ones (same digest) were only marked as seen.",
        "No action is required.",
    )
    DASHBOARD_FAILED = numbered(
        3,
        Severity.WARNING,
        "The dashboard {dashboard} of {target} could not be catalogued: {reason}",
        "That dashboard alone was left as it was (nothing of it archived); the others were refreshed.",
        "Correct the dashboard's JSON in Grafana or in its file; the next refresh reads it again.",
    )
    TARGET_FAILED = numbered(
        4,
        Severity.ERROR,
        "Connector {connector_name} could not list the dashboards of {target}: {reason}",
        "Nothing catalogued from this target was archived; the other targets were refreshed.",
        "Check that the address is right and reachable and that the Secret's credentials are accepted.",
    )
    DATASOURCES_UNREADABLE = numbered(
        5,
        Severity.WARNING,
        "Connector {connector_name} could not read the data sources of {target}: {reason}",
        "SQL queries are linked to tables only for the data sources named in the datasources property.",
        "Give the token permission to read data sources, or set the datasources property, or readDatasources false.",
    )
    UNPARSED_SQL = numbered(
        6,
        Severity.INFO,
        "{count} SQL queries of {dashboard} could not be parsed to find their tables; the first: {queries}",
        "Those queries are catalogued with their SQL, without links to the tables they read.",
        "No action is required; a query built from template variables may name no table until it runs.",
    )
