"""Every audit message the runtime emits, in one place (Egeria keeps an AuditCode enum per component).

Ids are `METAFERRY-RUNTIME-NNNN`; a connector author may define more with their own prefix. Templates use
`{name}` placeholders filled from keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Egeria's audit log severities."""

    INFO = "Information"
    EVENT = "Event"
    DECISION = "Decision"
    ACTION = "Action"
    WARNING = "Warning"  # a problem in the source that the connector worked around (not in Egeria's list)
    ERROR = "Error"
    EXCEPTION = "Exception"
    SECURITY = "Security"
    STARTUP = "Startup"
    SHUTDOWN = "Shutdown"
    TRACE = "Trace"


@dataclass(frozen=True)
class AuditMessage:
    message_id: str
    severity: Severity
    template: str
    system_action: str
    user_action: str

    def format(self, **params: object) -> str:
        return self.template.format(**params)


def _message(number: int, severity: Severity, template: str, system_action: str, user_action: str) -> AuditMessage:
    return AuditMessage(f"METAFERRY-RUNTIME-{number:04d}", severity, template, system_action, user_action)


class RuntimeMessages:
    """The runtime's message catalogue."""

    RUNTIME_STARTING = _message(
        1,
        Severity.STARTUP,
        "The metaferry runtime is starting connector {connector_name} ({connector}) for the {service}"
        " integration service",
        "The runtime loads the connector and drives it through its lifecycle.",
        "No action is required.",
    )
    CONNECTOR_INITIALIZING = _message(
        2,
        Severity.STARTUP,
        "Connector {connector_name} is initializing with instance id {instance_id}; permitted synchronization is"
        " {permitted_synchronization}",
        "The connector broker creates the connector and the runtime passes it its audit log, name and context.",
        "No action is required.",
    )
    CONNECTOR_NOT_FOUND = _message(
        3,
        Severity.ERROR,
        "Connector {connector} could not be loaded: {reason}",
        "The connector is not started; its status is CONFIG_FAILED until the resource is changed.",
        "Correct spec.connector: use an installed entry-point name of group metaferry.connectors or module:Class.",
    )
    NOT_AN_INTEGRATION_CONNECTOR = _message(
        4,
        Severity.ERROR,
        "{connector} resolved to {resolved}, which is not a metaferry IntegrationConnector",
        "The connector is not started; its status is CONFIG_FAILED until the resource is changed.",
        "Name a class that subclasses metaferry_runtime.sdk.IntegrationConnector.",
    )
    CONNECTOR_STARTED = _message(
        5,
        Severity.STARTUP,
        "Connector {connector_name} has started",
        "The connector will be refreshed at start, every {interval} and on request.",
        "No action is required.",
    )
    REFRESH_STARTING = _message(
        6,
        Severity.INFO,
        "Connector {connector_name} is starting refresh {refresh_id} ({trigger})",
        "The runtime calls refresh() on a worker thread inside one repository transaction.",
        "No action is required.",
    )
    REFRESH_COMPLETED = _message(
        7,
        Severity.INFO,
        "Connector {connector_name} completed refresh {refresh_id} in {elapsed_ms} ms: {created} created,"
        " {updated} updated, {archived} archived",
        "The refresh's changes are committed to the open metadata repository.",
        "No action is required.",
    )
    REFRESH_FAILED = _message(
        8,
        Severity.EXCEPTION,
        "Connector {connector_name} failed in refresh {refresh_id}: {error_class}: {error_message}",
        "Every change the refresh made is rolled back; the connector is FAILED and will be restarted.",
        "Look at the error; if it persists, check the connection and the third-party technology.",
    )
    REFRESH_TIMED_OUT = _message(
        9,
        Severity.ERROR,
        "Connector {connector_name} did not finish refresh {refresh_id} within {timeout}",
        "The refresh is abandoned and rolled back; the connector is FAILED and will be restarted.",
        "Raise spec.refreshTimeout if the technology is slow, or investigate why the refresh hangs.",
    )
    CONNECTOR_FAILED = _message(
        10,
        Severity.EXCEPTION,
        "Connector {connector_name} failed during {method}: {error_class}: {error_message}",
        "The connector is FAILED; the runtime restarts it after {backoff}.",
        "Look at the error; the restart is automatic.",
    )
    CONNECTOR_RESTARTING = _message(
        11,
        Severity.ACTION,
        "Connector {connector_name} is restarting ({reason}); restart number {restart_count}",
        "The runtime disconnects the connector and initializes it again.",
        "No action is required.",
    )
    RESTARTS_EXHAUSTED = _message(
        12,
        Severity.ERROR,
        "Connector {connector_name} failed {restart_count} times in a row and will not be restarted again",
        "The connector stays FAILED until it is restarted by request or its resource changes.",
        "Fix the cause, then request a restart (metaferry.io/restart-requested-at).",
    )
    ENGAGE_RETURNED = _message(
        13,
        Severity.TRACE,
        "Connector {connector_name} returned from engage(); it is called again after {pause}",
        "The engage thread pauses, then calls engage() again.",
        "No action is required.",
    )
    DISCONNECTING = _message(
        14,
        Severity.SHUTDOWN,
        "Connector {connector_name} is disconnecting ({reason})",
        "Running calls are given {grace} to finish, then the context refuses every call and disconnect() runs.",
        "No action is required.",
    )
    DISCONNECTED = _message(
        15,
        Severity.SHUTDOWN,
        "Connector {connector_name} is disconnected",
        "No more calls are made to the connector.",
        "No action is required.",
    )
    DISCONNECT_TIMED_OUT = _message(
        16,
        Severity.ERROR,
        "Connector {connector_name} did not finish {method} within {grace} of shutdown",
        "The runtime stops waiting; the abandoned work is rolled back.",
        "Connectors should use timeouts on every external call so that they return promptly.",
    )
    REFRESH_REQUESTED = _message(
        17,
        Severity.EVENT,
        "A refresh of connector {connector_name} was requested ({refresh_id}){queued}",
        "The refresh runs now, or once after the refresh in progress.",
        "No action is required.",
    )
    INITIALIZE_FAILED = _message(
        18,
        Severity.ERROR,
        "Connector {connector_name} could not be initialized: {error_class}: {error_message}",
        "The connector is INITIALIZE_FAILED; the runtime retries after {backoff}.",
        "Check that the repository and the third-party technology are reachable.",
    )
    API_UNAUTHORIZED = _message(
        19,
        Severity.SECURITY,
        "A {method} request to {path} from {peer} was refused: {reason}",
        "The request is answered with 401 and has no effect.",
        "Send the bearer token from the connector's Secret.",
    )
    API_LISTENING = _message(
        20,
        Severity.STARTUP,
        "The runtime API is listening on {address}",
        "Health, status, refresh, restart and metrics are served there.",
        "No action is required.",
    )
    SECRETS_NOT_MOUNTED = _message(
        22,
        Severity.ERROR,
        "Connector {connector_name} cannot start: {reason}",
        "The connector is not started; its status is CONFIG_FAILED until the runtime is given the Secret's keys.",
        "In a cluster, check that the Secret exists in the connector's namespace; standalone, pass the directory"
        " that holds one file per key of the Secret.",
    )
    ARCHIVE_REFUSED = _message(
        23,
        Severity.DECISION,
        "The deletion fail-safe of connector {connector_name} refused to archive {would_archive} of the {in_scope}"
        " {scope} it owns ({percent}%, above maxArchivePercent {limit}%); confirm with the annotation"
        " metaferry.io/confirm-archive-requested-at or raise spec.deletionDetection.maxArchivePercent",
        "Nothing is archived; the refresh's creates and updates are committed and the connector keeps running."
        " Every refresh asks again until the archive is confirmed or the elements reappear.",
        "Check the source. If the elements are really gone, confirm the archive once (annotate the connector with"
        " metaferry.io/confirm-archive-requested-at=<new value>, or POST /refresh with confirmArchive: true), or"
        " raise spec.deletionDetection.maxArchivePercent.",
    )
    ARCHIVE_CONFIRMED = _message(
        24,
        Severity.DECISION,
        "Connector {connector_name} archived {archived} of the {in_scope} {scope} it owns ({percent}%), above"
        " maxArchivePercent {limit}%, because the archive was confirmed",
        "The archived elements can be restored; the next refresh is held to the fail-safe again.",
        "No action is required.",
    )
