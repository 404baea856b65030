"""The opa-publisher's parts that need no OPA: the JSON patch, its configuration's checks, the install's failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaferry_runtime.connectors.opa_publisher import OpaPublisherConnector
from metaferry_runtime.connectors.opa_publisher.document import empty_document, patch_between
from metaferry_runtime.sdk import ConnectorConfigurationError, InvalidConfiguration
from metaferry_runtime.testing import ConnectorHarness
from tests.opa_server import OpaUnavailable, install_opa


def test_the_patch_has_one_operation_per_changed_entry_with_keys_escaped() -> None:
    before = empty_document()
    before["assets"] = {"postgres://h:5432/db.s.orders": {"zones": ["a"]}, "file:///gone~1": {"zones": []}}
    before["users"] = {"alice": {"groups": ["g"]}}
    after = empty_document()
    after["assets"] = {"postgres://h:5432/db.s.orders": {"zones": ["b"]}}
    after["users"] = {"alice": {"groups": ["g"]}, "bob": {"groups": []}}
    assert patch_between(before, after) == [
        {"op": "add", "path": "/users/bob", "value": {"groups": []}},
        {"op": "remove", "path": "/assets/file:~1~1~1gone~01"},
        {"op": "add", "path": "/assets/postgres:~1~1h:5432~1db.s.orders", "value": {"zones": ["b"]}},
    ]
    assert patch_between(after, after) == []


@pytest.mark.parametrize("path", ["", "access/my-rules", "9lives", "a//b", "system/x y"])
def test_a_document_path_that_is_not_a_rego_reference_is_refused(path: str) -> None:
    with pytest.raises(InvalidConfiguration, match="documentPath: each segment must be a Rego identifier"):
        ConnectorHarness.create(
            OpaPublisherConnector, endpoint="http://127.0.0.1:1", configuration_properties={"documentPath": path}
        )


def test_a_document_path_under_opas_system_data_is_refused() -> None:
    with pytest.raises(InvalidConfiguration, match=r"documentPath: OPA keeps data\.system for its own"):
        ConnectorHarness.create(
            OpaPublisherConnector, endpoint="http://127.0.0.1:1", configuration_properties={"documentPath": "system/a"}
        )


def test_an_endpoint_holding_credentials_is_refused_before_any_request() -> None:
    with pytest.raises(ConnectorConfigurationError, match="put the bearer token in the Secret") as raised:
        ConnectorHarness.create(OpaPublisherConnector, endpoint="http://admin:hunter22@127.0.0.1:1")
    assert "hunter22" not in str(raised.value)


def test_an_endpoint_that_is_not_http_is_refused() -> None:
    with pytest.raises(ConnectorConfigurationError, match="is not an OPA server address"):
        ConnectorHarness.create(OpaPublisherConnector, endpoint="127.0.0.1:8181")


def test_an_opa_that_cannot_be_built_fails_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Go toolchain that fails (here /bin/false, no network needed) makes the fixture fail, never skip."""
    monkeypatch.setenv("METAFERRY_OPA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GO", "/bin/false")
    with pytest.raises(OpaUnavailable, match=r"run `bash scripts/install-opa\.sh`") as raised:
        install_opa()
    assert "go install github.com/open-policy-agent/opa@" in str(raised.value)
