"""Operator settings: environment variables, flags over them, and errors that name the variable."""

from __future__ import annotations

import pytest

from metaferry_operator.cli import liveness_endpoint
from metaferry_operator.config import ConfigError, load_config, parse_args


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
