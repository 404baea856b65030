"""The conformance suite: the properties every connector must have, checked in one call.

`conformance(MyConnector, manifest)` lives the connector's life three times, as the runtime would:

1. configure (the engine's order), start, refresh, refresh again, disconnect: the lifecycle calls reach the
   SDK and nothing is written before start(); the second refresh writes nothing (idempotent);
2. a new instance over the same repository (a restart): its first refresh, and one engage() when the manifest
   uses blocking calls, write nothing (no writes on an unchanged source); after its disconnect no thread or
   file descriptor it opened is left; then the engine itself (`run --once`) and `check` run it, for the
   report;
3. a new instance over a fresh repository whose writes fail after half of those a first refresh makes: the
   refresh fails and leaves nothing (one transaction).

Throughout, the secrets (those the test gives, or a canary the suite adds) are looked for in every audit record, the
report, `check`'s steps, every log record as the connector emitted it (before the runtime's masking handler,
which is a safety net, not a licence), and the out-topic events. The source must be unchanged during the call
and hold something for a first refresh to catalogue, or idempotence would be proven on nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from metaferry_runtime.audit import AuditLog, SecretMasker
from metaferry_runtime.check import check_connector
from metaferry_runtime.lifecycle.engine import ConnectorRuntime
from metaferry_runtime.report import RefreshResult
from metaferry_runtime.repository import ChangeCounts, ChangeEvent, MetadataRepository
from metaferry_runtime.resource import ConnectorResource
from metaferry_runtime.sdk import IntegrationConnector
from metaferry_runtime.testing.evidence import (
    audit_texts,
    captured_logs,
    describe_failure,
    event_summary,
    event_texts,
    run_coroutine,
    secret_forms,
)
from metaferry_runtime.testing.faults import CountingRepository
from metaferry_runtime.testing.harness import AUDIT_RECORDS_KEPT, ConnectorHarness, OwnedRepository
from metaferry_runtime.testing.manifests import Manifest, build_manifest
from metaferry_runtime.testing.resources import ProcessResources

T = TypeVar("T")

#: The secured property the suite adds when the test gives no secrets, to see whether a secret leaks.
CANARY_KEY = "conformanceCanary"


class Property(StrEnum):
    """The properties, in the order they are checked; the value is how a failure names it."""

    #: Each configuration call reaches the SDK base class, nothing is written before start(), and the
    #: engine (`run --once`) and `check` run the connector as the harness does.
    LIFECYCLE = "lifecycle order respected"
    #: A second refresh of the same instance writes nothing and publishes no event.
    IDEMPOTENT = "refresh is idempotent"
    #: A new instance (a restart) writes nothing on the source it already catalogued, refreshing or engaged.
    UNCHANGED_SOURCE = "no writes on an unchanged source"
    #: After disconnect(), no thread and no file descriptor (file, socket, pipe, watch) the connector opened.
    RESOURCES = "disconnect releases resources"
    #: No secured property in audit records, the report, `check`'s steps, log records or out-topic events.
    SECRETS = "secrets never in audit records, report or logs"
    #: A refresh whose writes fail half-way raises, and leaves nothing committed.
    ONE_TRANSACTION = "refresh in one transaction"


@dataclass(frozen=True)
class PropertyResult:
    property: Property
    passed: bool
    detail: str


@dataclass
class ConformanceReport:
    """What was checked, in order, with what was found; `first_refresh` is what the first refresh wrote."""

    connector: str
    results: list[PropertyResult] = field(default_factory=list)
    first_refresh: ChangeCounts = field(default_factory=ChangeCounts)

    @property
    def failed(self) -> list[PropertyResult]:
        return [result for result in self.results if not result.passed]

    def result(self, prop: Property) -> PropertyResult:
        """The result of `prop`; KeyError if it was not reached (an earlier failure stopped the suite)."""
        for result in self.results:
            if result.property is prop:
                return result
        raise KeyError(f"{prop.value!r} was not checked")

    def __str__(self) -> str:
        lines = [f"conformance of {self.connector}:"]
        lines += [f"  {'ok  ' if r.passed else 'FAIL'} {r.property.value}: {r.detail}" for r in self.results]
        return "\n".join(lines)


class ConformanceFailure(AssertionError):
    """Raised with the report when a property fails; the message names every failed property."""

    def __init__(self, report: ConformanceReport) -> None:
        self.report = report
        names = ", ".join(result.property.value for result in report.failed)
        super().__init__(f"{report.connector} fails conformance ({names})\n{report}")


class _Stop(Exception):
    """A failure after which the remaining properties cannot be checked."""


def conformance(
    connector_class: type[IntegrationConnector[Any]],
    manifest: Manifest | None = None,
    *,
    repository_url: str | None = None,
    secrets: Mapping[str, str] | None = None,
    **spec_fields: Any,
) -> ConformanceReport:
    """Check every property; return the report, or raise ConformanceFailure (an AssertionError) naming the
    failed ones. `manifest` and `spec_fields` are as `build_manifest`'s; `repository_url` names the
    repository of lives 1 and 2 (fresh SQLite by default; give a fresh database); life 3 always uses a fresh
    SQLite repository of its own."""
    resource = build_manifest(connector_class, manifest, **spec_fields)
    secured = dict(secrets) if secrets else {CANARY_KEY: f"canary-{uuid.uuid4().hex}"}
    suite = _Suite(connector_class, resource, secured)
    with captured_logs() as logs, suppress(_Stop):
        suite.run(repository_url)
    suite.check_secrets(logs)
    report = suite.finish()
    if report.failed:
        raise ConformanceFailure(report)
    return report


class _Suite:
    def __init__(
        self, connector_class: type[IntegrationConnector[Any]], resource: ConnectorResource, secrets: dict[str, str]
    ) -> None:
        self.connector_class = connector_class
        self.resource = resource
        self.secrets = secrets
        self.report = ConformanceReport(connector=f"{connector_class.__module__}.{connector_class.__qualname__}")
        self.texts: list[tuple[str, str]] = []  # (where, text) to search for secrets
        self.first_writes = 0
        self._found: dict[Property, tuple[list[str], list[str]]] = {}  # property -> (problems, notes)

    def passed(self, prop: Property, detail: str) -> None:
        self._found.setdefault(prop, ([], []))[1].append(detail)

    def failed(self, prop: Property, detail: str, *, stop: bool = False) -> None:
        self._found.setdefault(prop, ([], []))[0].append(detail)
        if stop:
            raise _Stop()

    def finish(self) -> ConformanceReport:
        """One result per property checked, in the order of `Property`; a failure shows only its problems."""
        self.report.results = [
            PropertyResult(prop, not problems, "; ".join(problems or notes))
            for prop in Property
            if prop in self._found
            for problems, notes in [self._found[prop]]
        ]
        return self.report

    def run(self, repository_url: str | None) -> None:
        owned = OwnedRepository(repository_url)
        try:
            counting = CountingRepository(owned.repository)
            self.first_life(counting)
            self.second_life(counting)
            self.engine_and_check(owned.repository)
        finally:
            owned.close()
        self.third_life()

    def harness(self, repository: MetadataRepository) -> ConnectorHarness[Any]:
        return ConnectorHarness(
            self.connector_class, resource=self.resource, repository=repository, secrets=self.secrets
        )

    # --- life 1: the lifecycle, and idempotence -------------------------------------------------------------
    def first_life(self, repository: CountingRepository) -> None:
        harness = self.harness(repository)
        try:
            problems = self.configure_and_start(harness, repository)
            before = repository.writes
            counts = self.call(Property.LIFECYCLE, "the first refresh", harness.refresh)
            self.first_writes = repository.writes - before
            self.report.first_refresh = counts
            if not harness.last_events:
                self.failed(
                    Property.LIFECYCLE,
                    "the first refresh wrote nothing: give the suite a source with something to catalogue",
                    stop=True,
                )
            self.texts += event_texts("out-topic event", harness.last_events)
            try:
                harness.refresh()
            except Exception as error:
                self.failed(Property.IDEMPOTENT, f"the second refresh raised {describe_failure(error)}")
            else:
                self.writes_nothing(Property.IDEMPOTENT, "the second refresh", harness.last_counts, harness.last_events)
            self.texts += event_texts("out-topic event", harness.last_events)
        finally:
            problems_at_disconnect = self.disconnect(harness)
            self.texts += audit_texts(harness)
        for problem in problems + problems_at_disconnect:
            self.failed(Property.LIFECYCLE, problem)
        self.passed(
            Property.LIFECYCLE,
            "configured in the engine's order, nothing written before start(), started, refreshed, disconnected",
        )

    def configure_and_start(self, harness: ConnectorHarness[Any], repository: CountingRepository) -> list[str]:
        self.call(
            Property.LIFECYCLE,
            "configuring (initialize, set_audit_log, set_connector_name, set_context)",
            harness.configure,
        )
        problems = _unkept_configuration(harness)
        if repository.writes:
            problems.append(f"{repository.writes} writes were made while being configured, before start()")
        self.call(Property.LIFECYCLE, "start()", harness.start)
        return problems

    def disconnect(self, harness: ConnectorHarness[Any]) -> list[str]:
        try:
            harness.disconnect()
        except Exception as error:
            return [f"disconnect() raised {describe_failure(error)}"]
        return []

    # --- life 2: a restart over the unchanged source, and what disconnect leaves ------------------------------
    def second_life(self, repository: CountingRepository) -> None:
        before = ProcessResources.now()
        harness = self.harness(repository)
        try:
            harness.configure()
            harness.start()
            try:
                harness.refresh()
            except Exception as error:
                self.failed(
                    Property.UNCHANGED_SOURCE, f"a restarted connector's refresh raised {describe_failure(error)}"
                )
            else:
                self.texts += event_texts("out-topic event", harness.last_events)
                blocking = self.resource.spec.uses_blocking_calls
                what = "a restarted connector's first refresh"
                if (
                    self.writes_nothing(
                        Property.UNCHANGED_SOURCE,
                        what,
                        harness.last_counts,
                        harness.last_events,
                        report_pass=not blocking,
                    )
                    and blocking
                ):
                    events = harness.engage_once()
                    self.texts += event_texts("out-topic event", events)
                    self.writes_nothing(Property.UNCHANGED_SOURCE, f"{what}, then engage(),", None, events)
        except Exception as error:
            self.failed(Property.LIFECYCLE, f"a restart failed: {describe_failure(error)}", stop=True)
        finally:
            problems = self.disconnect(harness)
            self.texts += audit_texts(harness)
        for problem in problems:
            self.failed(Property.LIFECYCLE, problem)
        leaked = ProcessResources.now().leaked_since(before)
        if leaked:
            self.failed(Property.RESOURCES, "left after disconnect(): " + ", ".join(leaked))
        else:
            self.passed(Property.RESOURCES, "no thread or file descriptor left after disconnect()")

    def engine_and_check(self, repository: MetadataRepository) -> None:
        """`run --once` and `check` over the (now catalogued) repository: their report and audit records."""
        masker = SecretMasker(self.secrets.values())
        audit_log = AuditLog(
            "metaferry-runtime", connector_name=self.resource.metadata.name, masker=masker, keep=AUDIT_RECORDS_KEPT
        )
        runtime = ConnectorRuntime(
            resource=self.resource, repository=repository, secured_properties=self.secrets, audit_log=audit_log
        )
        record = run_coroutine(runtime.run_once)
        report = runtime.report()
        self.texts.append(("the runtime's report", report.model_dump_json()))
        self.texts += [
            (f"audit record {r.message_id}", json.dumps(r.__dict__, default=str)) for r in audit_log.records()
        ]
        if record is None or record.result is not RefreshResult.SUCCEEDED:
            self.failed(Property.LIFECYCLE, f"under the engine (run --once): {report.last_error or 'it never came up'}")
        else:
            written = {
                kind: count
                for kind, count in record.statistics.model_dump().items()
                if kind in ("created", "updated", "archived", "deleted") and count
            }
            if written:
                self.failed(Property.UNCHANGED_SOURCE, f"under the engine (run --once) a refresh wrote {written}")
            self.passed(Property.LIFECYCLE, "the engine (run --once) and check ran it too")
        steps = check_connector(self.resource, repository, self.secrets)
        self.texts += [(f"check step {step.name!r}", step.detail) for step in steps]
        for step in steps:
            if not step.ok:
                self.failed(Property.LIFECYCLE, f"check step {step.name!r} failed: {step.detail}")

    # --- life 3: a write fails half-way through the first refresh -------------------------------------------
    def third_life(self) -> None:
        fail_after = self.first_writes // 2
        owned = OwnedRepository()
        try:
            counting = CountingRepository(owned.repository)
            harness = self.harness(counting)
            try:
                harness.configure()
                harness.start()
                head = owned.repository.head_sequence()
                counting.fail_after = counting.writes + fail_after  # only the refresh's writes count
                try:
                    harness.refresh()
                except Exception:
                    raised = True
                else:
                    raised = False
            finally:
                self.disconnect(harness)
                self.texts += audit_texts(harness)
            left = list(owned.repository.events_since(head, limit=1000))
        finally:
            owned.close()
        where = f"a write failed after {fail_after} of the {self.first_writes} writes of a first refresh"
        if counting.injected == 0:
            self.failed(Property.ONE_TRANSACTION, f"{where}, but the refresh made no further write to fail")
        elif not raised:
            self.failed(
                Property.ONE_TRANSACTION, f"{where}, and the refresh went on as if it had not (the error was swallowed)"
            )
        elif left:
            shown = "; ".join(event_summary(event) for event in left[:5])
            self.failed(Property.ONE_TRANSACTION, f"{where}; the failed refresh left {len(left)} events: {shown}")
        else:
            self.passed(Property.ONE_TRANSACTION, f"{where}; the failed refresh left nothing")

    # --- secrets --------------------------------------------------------------------------------------------
    def check_secrets(self, logs: list[tuple[str, str]]) -> None:
        found = sorted(
            {
                f"{key} in {where}"
                for where, text in [*self.texts, *logs]
                for key, value in self.secrets.items()
                if any(form in text for form in secret_forms(value))
            }
        )
        if found:
            self.failed(Property.SECRETS, "; ".join(found[:10]))
        else:
            self.passed(
                Property.SECRETS,
                f"{', '.join(sorted(self.secrets))}: in none of {len(self.texts)} records and {len(logs)} log lines",
            )

    # --- helpers --------------------------------------------------------------------------------------------
    def call(self, prop: Property, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as error:
            self.failed(prop, f"{what} raised {describe_failure(error)}", stop=True)
            raise  # unreachable: failed(stop=True) raises

    def writes_nothing(
        self,
        prop: Property,
        what: str,
        counts: ChangeCounts | None,
        events: list[ChangeEvent],
        *,
        report_pass: bool = True,
    ) -> bool:
        written = {
            k: v
            for k, v in (counts or ChangeCounts()).model_dump().items()
            if k not in ("unchanged", "would_archive") and v
        }
        if written or events:
            shown = "; ".join(event_summary(event) for event in events[:5])
            self.failed(prop, f"{what} wrote {written or len(events)} ({len(events)} events: {shown})")
            return False
        if report_pass:
            self.passed(prop, f"{what} wrote nothing")
        return True


def _unkept_configuration(harness: ConnectorHarness[Any]) -> list[str]:
    """What the SDK base class was not given: an override of a lifecycle call that did not call super()."""
    connector = harness.connector
    expected: dict[str, tuple[Callable[[], object], object]] = {
        "initialize (its connection)": (lambda: connector.connection, harness.connection),
        "initialize (its instance id)": (lambda: connector.connector_instance_id, harness.instance_id),
        "set_audit_log": (lambda: connector.audit_log, harness.audit_log),
        "set_connector_name": (lambda: connector.connector_name, harness.resource.metadata.name),
        "set_context": (lambda: connector.context, harness.context),
    }
    problems = []
    for call, (read, value) in expected.items():
        try:
            kept = read()
        except Exception:
            kept = None
        if kept is not value and kept != value:
            problems.append(f"{call} did not reach IntegrationConnector (an override must call super())")
    return problems
