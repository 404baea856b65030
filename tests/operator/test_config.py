"""Operator settings: environment variables, flags over them, and errors that name the variable."""

from __future__ import annotations

import kopf
import pytest

from metaferry_operator.cli import liveness_endpoint
from metaferry_operator.config import ConfigError, load_config, parse_args
from metaferry_operator.handlers import configure_kopf
from metaferry_operator.leader import lease_settings


def test_defaults() -> None:
    config = load_config(environ={})
    assert config.watch_namespaces == ()
    assert config.status_poll_interval == 10
    assert config.http_timeout == 5
    assert config.max_workers == 20
    assert (config.health_port, config.metrics_port) == (8081, 9090)
    assert config.operator_pod_labels == {
        "app.kubernetes.io/name": "metaferry",
        "app.kubernetes.io/component": "operator",
    }


def test_environment_then_flags() -> None:
    environ = {
        "METAFERRY_WATCH_NAMESPACES": "a, b,",
        "METAFERRY_STATUS_POLL_INTERVAL": "2.5",
        "METAFERRY_OPERATOR_POD_LABELS": "app=op",
        "METAFERRY_LOG_FORMAT": "json",
    }
    config = load_config(environ=environ, flags=parse_args(["--status-poll-interval", "1"]))
    assert config.watch_namespaces == ("a", "b")
    assert config.status_poll_interval == 1
    assert config.operator_pod_labels == {"app": "op"}
    assert config.log_format == "json"


def test_the_repository_url_is_never_shown_in_the_settings_repr() -> None:
    config = load_config(environ={"METAFERRY_REPOSITORY_URL": "postgresql://u:secret@db/x"})
    assert "secret" not in repr(config)


@pytest.mark.parametrize(
    ("name", "value"),
    [("METAFERRY_HTTP_TIMEOUT", "0"), ("METAFERRY_LOG_FORMAT", "xml"), ("METAFERRY_OPERATOR_POD_LABELS", "novalue")],
)
def test_bad_values_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config(environ={name: value})


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://0.0.0.0:8081/healthz"),
        ("127.0.1.7", "http://127.0.1.7:8081/healthz"),  # the test pod runner's METAFERRY_LISTEN_HOST
        ("::", "http://[::]:8081/healthz"),  # operator.listenHost for IPv6-only clusters
    ],
)
def test_liveness_endpoint_listens_on_the_listen_host(host: str, url: str) -> None:
    assert liveness_endpoint(load_config(environ={"METAFERRY_LISTEN_HOST": host})) == url
    assert liveness_endpoint(load_config(environ={"METAFERRY_HEALTH_PORT": "0"})) is None


def test_leader_election_takes_the_operator_namespace_and_client_go_timings() -> None:
    config = load_config(environ={"METAFERRY_LEADER_ELECTION": "true", "METAFERRY_OPERATOR_NAMESPACE": "ops"})
    settings = lease_settings(config)
    assert (settings.namespace, settings.name) == ("ops", "metaferry-operator")
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (15, 10, 2)
    assert settings.identity != lease_settings(config).identity  # two replicas on one host never collide


def test_leader_election_without_a_namespace_is_refused() -> None:
    with pytest.raises(ConfigError, match="leader election needs METAFERRY_OPERATOR_NAMESPACE"):
        load_config(environ={"METAFERRY_LEADER_ELECTION": "true"})


def test_a_renew_deadline_not_shorter_than_the_lease_is_refused() -> None:
    environ = {
        "METAFERRY_LEADER_ELECTION": "true",
        "METAFERRY_OPERATOR_NAMESPACE": "ops",
        "METAFERRY_LEASE_DURATION": "10",
        "METAFERRY_LEASE_RENEW_DEADLINE": "10",
    }
    with pytest.raises(ConfigError, match="gives up before a standby may take over"):
        load_config(environ=environ)


def test_kopf_keeps_its_state_under_our_domain_and_drops_idle_workers_quickly() -> None:
    settings = kopf.OperatorSettings()
    configure_kopf(settings, load_config(environ={"METAFERRY_MAX_WORKERS": "7"}))
    assert settings.persistence.finalizer == "metaferry.io/finalizer"
    assert settings.execution.max_workers == 7
    # a worker (and the last body it holds) per object outlives a burst by this long; kopf's default is 5 s
    assert settings.queueing.idle_timeout <= 1
