"""The openapi-monitor connector's audit messages (never renumber a published one)."""

from metaferry_runtime.sdk import MessageCatalogue, Severity, numbered


class OpenAPIMonitorMessages(MessageCatalogue):
    prefix = "METAFERRY-OPENAPI-MONITOR"

    STARTED = numbered(
        1,
        Severity.STARTUP,
        "Connector {connector_name} catalogues the OpenAPI documents of {targets}",
        "Each refresh fetches every document with a conditional request; an unchanged one costs one 304.",
        "No action is required.",
    )
    CATALOGUED = numbered(
        2,
        Severity.INFO,
        "Connector {connector_name} catalogued {api} from {url}: {operations} operations, {parameters} parameters",
        "The document changed (or was read for the first time) and was catalogued again.",
        "No action is required.",
    )
    UNCHANGED = numbered(
        3,
        Severity.INFO,
        "Connector {connector_name} found {count} documents unchanged ({not_modified} answered 304)",
        "Their elements were marked as seen without reading the documents again.",
        "No action is required.",
    )
    INVALID_DOCUMENT = numbered(
        4,
        Severity.WARNING,
        "The document {url} breaks {count} rules of {version}; the first: {problems}",
        "The document was catalogued as far as it could be read; what the problems touch may be missing.",
        "Correct the document at its source; the connector reads it again when it changes.",
    )
    TARGET_FAILED = numbered(
        5,
        Severity.ERROR,
        "Connector {connector_name} could not catalogue {target}: {reason}",
        "Nothing catalogued from this target was archived; the other targets were refreshed.",
        "Check that the address is right and reachable and that the Secret's credentials are accepted.",
    )
    UNREADABLE_PARTS = numbered(
        6,
        Severity.WARNING,
        "The document {url} has {count} parts that could not be read (left out): {problems}",
        "A $ref that does not resolve, or a value of the wrong shape, leaves that part out of the catalogue.",
        "Correct the document at its source.",
    )
