"""The CRD is generated from the models, is structural, and is what `crds/` holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from metaferry_operator import admission, crd
from metaferry_runtime.resource.catalog_target import ENTRY_RULES

COMMITTED = Path(__file__).parents[2] / "crds" / "integrationconnectors.metaferry.io.yaml"


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    found = [(path, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _walk(value, f"{path}[{index}]")
    return found


def _schema_nodes(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Only the nodes that are schemas (reached through properties, items, additionalProperties)."""
    found = [(path, node)]
    for name, child in (node.get("properties") or {}).items():
        found += _schema_nodes(child, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += _schema_nodes(node[key], f"{path}[{key}]")
    return found


def _schema() -> dict[str, Any]:
    return crd.custom_resource_definition()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_the_committed_crd_is_what_the_generator_prints() -> None:
    assert COMMITTED.read_text() == crd.render_yaml(), "crds/ is stale: run `make crds`"


def test_crds_holds_exactly_the_generated_crd_policy_and_binding() -> None:
    generated = crd.manifest_files()
    committed = {path.name: path.read_text() for path in COMMITTED.parent.glob("*.yaml")}
    assert committed == generated, "crds/ is stale: run `make crds`"


def test_the_schema_has_no_constructs_the_api_server_refuses() -> None:
    forbidden = {"$ref", "$defs", "anyOf", "allOf", "oneOf", "title", "const", "uniqueItems"}
    for path, node in _walk(_schema()):
        if isinstance(node, dict) and not path.endswith(".properties"):
            assert not forbidden & set(node), f"{path} has {forbidden & set(node)}"
            assert node.get("additionalProperties") not in (True, False), path


def test_every_schema_node_has_a_type() -> None:
    for path, node in _schema_nodes(_schema()):
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), path
        assert "default" not in node or node["default"] is not None, path


def test_only_configuration_properties_and_catalog_target_entries_preserve_unknown_fields() -> None:
    preserving = [
        path
        for path, node in _walk(_schema())
        if isinstance(node, dict) and node.get("x-kubernetes-preserve-unknown-fields")
    ]
    assert preserving == [
        ".properties.spec.properties.connection.properties.configurationProperties",
        ".properties.spec.properties.catalogTargets.items",
    ]


def test_the_admission_policy_checks_every_catalog_target_rule_and_binds_to_itself() -> None:
    messages = [validation["message"] for validation in admission.policy()["spec"]["validations"]]
    assert messages == [f"spec.catalogTargets: {rule['message']}" for rule in ENTRY_RULES] + [
        "spec.catalogTargets: catalogTargets must not name the same target twice"
    ]
    assert admission.binding()["spec"] == {"policyName": admission.POLICY_NAME, "validationActions": ["Deny"]}


def test_rules_over_free_form_values_are_dropped_and_listed() -> None:
    """The API server cannot compile CEL over preserved fields; pydantic still enforces such rules."""

    class Free(BaseModel):
        settings: dict[str, Any] = Field(
            default_factory=dict,
            json_schema_extra={
                "x-kubernetes-preserve-unknown-fields": True,
                "x-kubernetes-validations": [{"rule": "self.all(k, k != 'x')", "message": "no x"}],
            },
        )

    schema = crd._model_schema(Free)
    assert schema["properties"]["settings"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert "no x" in crd.UNENFORCEABLE_RULES


def test_duration_defaults_are_written_as_users_write_them() -> None:
    spec = _schema()["properties"]["spec"]["properties"]
    assert spec["refreshTimeout"]["default"] == "30m"
    assert spec["autoRestart"]["properties"]["initialBackoff"]["default"] == "5s"
    assert spec["autoRestart"]["properties"]["maxBackoff"]["default"] == "10m"


def test_cel_rules_and_list_types_come_from_the_models() -> None:
    spec = _schema()["properties"]["spec"]["properties"]
    assert "10s" in spec["refreshInterval"]["x-kubernetes-validations"][0]["rule"]
    # catalogTargets entries are names or objects: their rules are the admission policy's, not the CRD's.
    assert "x-kubernetes-list-type" not in spec["catalogTargets"]
    conditions = _schema()["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]


def test_names_subresources_and_printer_columns() -> None:
    document = yaml.safe_load(COMMITTED.read_text())
    names = document["spec"]["names"]
    assert names["shortNames"] == ["ic"]
    assert names["categories"] == ["metaferry"]
    version = document["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = {column["name"]: column["jsonPath"] for column in version["additionalPrinterColumns"]}
    assert columns["Service"] == ".spec.integrationService"
    assert columns["Connector"] == ".status.connectorStatus"
    assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Status"] == ".status.phase"
    assert columns["Last Refresh"] == ".status.lastRefreshTime"
    assert "Age" in columns
