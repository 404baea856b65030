"""What one reconcile pass records as its steps run, and what the last pass settled on.

The record starts from the connector's body and the status the pass begins with; each step of
:class:`~metaferry_operator.reconciler.ConnectorReconciler` fills in what it observed, and
:meth:`Pass.observed` hands it all, once, to the status rules (``status.compute``).
"""

from __future__ import annotations

import dataclasses

from metaferry_operator import rendering, status_rules
from metaferry_operator.json_types import Json
from metaferry_operator.observation import DeploymentObservation, PodObservation
from metaferry_runtime.report import ConnectorReport
from metaferry_runtime.resource import ConnectorResource


@dataclasses.dataclass(frozen=True)
class Settled:
    """What the last pass found and applied: while the connector still matches it, a refresh may go ahead."""

    generation: int
    desired_hash: str
    secret_digest: str | None


@dataclasses.dataclass
class Pass:
    """One pass's record: what it started from, then what each step observed (the fields of
    :class:`status_rules.Observed` a step did not reach keep their defaults)."""

    body: Json
    previous: Json  # the status the pass starts from
    generation: int
    suspended: bool
    spec_error: str | None = None
    connector: ConnectorResource | None = None
    secret_digest: str | None = None
    secret_missing: str | None = None
    repository_error: str | None = None
    children: rendering.Children | None = None
    apply_error: str | None = None
    pod: PodObservation | None = None
    handled: dict[str, str] = dataclasses.field(default_factory=dict)
    deployment: DeploymentObservation | None = None
    report: ConnectorReport | None = None
    runtime_error: str | None = None
    requested_refresh: Json | None = None  # status.lastRequestedRefresh to write; None: keep the previous one

    @property
    def desired_hash(self) -> str | None:
        return self.children.config_hash if self.children is not None else None

    def observed(self) -> status_rules.Observed:
        return status_rules.Observed(
            generation=self.generation,
            suspended=self.suspended,
            desired_hash=self.desired_hash,
            spec_error=self.spec_error,
            secret_missing=self.secret_missing,
            repository_error=self.repository_error,
            apply_error=self.apply_error,
            deployment=self.deployment,
            pod=self.pod,
            report=self.report,
            runtime_error=self.runtime_error,
            handled=self.handled,
            requested_refresh=self.requested_refresh,
        )


def ready_for(pod: PodObservation | None, desired_hash: str | None) -> bool:
    """The runtime can take a request: its pod is ready, staying, and runs the configuration last applied."""
    return (
        pod is not None
        and pod.ready
        and pod.ip is not None
        and not pod.deleting
        and desired_hash is not None
        and pod.config_hash == desired_hash
    )
