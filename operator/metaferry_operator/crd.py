"""The IntegrationConnector CustomResourceDefinition, generated from the runtime's pydantic models.

The models are the one source of truth (descriptions, bounds, enums, CEL rules, list types); this module
only translates pydantic's JSON Schema into the structural OpenAPI subset the API server accepts:
``$ref`` inlined, ``anyOf [X, null]`` collapsed to X, titles and ``additionalProperties: false`` dropped,
free-form maps marked ``x-kubernetes-preserve-unknown-fields`` (only where the model says so), and
defaults rendered in wire form through each field's own serializer (durations as ``5s``, not ``PT5S``).

``python -m metaferry_operator.crd`` (or ``metaferry-operator crd``) prints the YAML that lives in
``crds/integrationconnectors.metaferry.io.yaml``; a test fails when the two differ.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import pydantic_core
import yaml
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from metaferry_operator import admission, naming
from metaferry_runtime.resource import IntegrationConnectorSpec, IntegrationConnectorStatus

Schema = dict[str, Any]

_DROPPED_KEYS = {"title", "$defs"}

#: Messages of model rules that the API server cannot evaluate (filled during generation).
UNENFORCEABLE_RULES: list[str] = []


class _WireDefaults(GenerateJsonSchema):
    """Render a field's default with the field's serializer, so a Duration default reads ``5s``."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if "default" in json_schema and json_schema["default"] is not None:
            try:
                serializer = pydantic_core.SchemaSerializer(schema["schema"])
                json_schema["default"] = serializer.to_python(schema["default"], mode="json", by_alias=True)
            except Exception:
                pass
        return json_schema


def _untyped(node: object) -> bool:
    return (
        isinstance(node, dict)
        and bool(node.get("x-kubernetes-preserve-unknown-fields"))
        and ("properties" not in node and not isinstance(node.get("additionalProperties"), dict))
    )


def _model_schema(model: type[Any]) -> Schema:
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_WireDefaults)
    schema: Schema = _structural(raw, raw.get("$defs", {}))
    return schema


def _structural(node: Any, defs: Schema) -> Any:
    """Rewrite one JSON Schema node (recursively) into the API server's structural form."""
    if isinstance(node, list):
        return [_structural(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = copy.deepcopy(defs[node.pop("$ref").rsplit("/", 1)[-1]])
        node = {**target, **node}  # the field's own description and default win over the class docstring
    variants = node.get("anyOf")
    if variants is not None:
        real = [item for item in variants if item != {"type": "null"}]
        if len(real) != 1:
            raise ValueError(f"cannot express a union of {len(real)} types structurally: {variants}")
        del node["anyOf"]
        node = {**real[0], **node}
        if "$ref" in node:
            return _structural(node, defs)
    if node.get("default", 0) is None:
        del node["default"]
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if node.get("additionalProperties") is True or node.get("additionalProperties") == {}:
        del node["additionalProperties"]
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            raise ValueError(f"free-form object without x-kubernetes-preserve-unknown-fields: {node}")
    if _untyped(node) or _untyped(node.get("additionalProperties")):
        # CEL needs a type for everything a rule can reach; the API server refuses to compile rules
        # over free-form values (even rules that look only at a map's keys). The models' pydantic
        # validators still enforce them: in the operator (status Stalled, reason InvalidSpec) and in
        # the runtime. UNENFORCEABLE_RULES lists them so the gap is visible, not silent.
        for rule in node.pop("x-kubernetes-validations", []):
            if rule["message"] not in UNENFORCEABLE_RULES:
                UNENFORCEABLE_RULES.append(rule["message"])
    if (
        node.get("type") == "object"
        and "properties" not in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        raise ValueError(f"object without properties: {node}")
    out: Schema = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "properties":
            out[key] = {name: _structural(child, defs) for name, child in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _structural(value, defs)
        else:
            out[key] = value
    return out


PRINTER_COLUMNS: list[Schema] = [
    {"name": "Service", "type": "string", "jsonPath": ".spec.integrationService"},
    {"name": "Connector", "type": "string", "jsonPath": ".status.connectorStatus"},
    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Last Refresh", "type": "date", "jsonPath": ".status.lastRefreshTime"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Reason", "type": "string", "priority": 1, "jsonPath": '.status.conditions[?(@.type=="Ready")].reason'},
    {"name": "Pod", "type": "string", "priority": 1, "jsonPath": ".status.podName"},
]


def openapi_schema() -> Schema:
    """The version's ``openAPIV3Schema``: spec and status from the models, the usual envelope around them."""
    schema: Schema = {
        "type": "object",
        "description": "An open-metadata integration connector run by metaferry: one pod running the "
        "connector runtime, refreshed on an interval, at start and on request "
        f"(annotation {naming.REFRESH_ANNOTATION}).",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": _model_schema(IntegrationConnectorSpec),
            "status": _model_schema(IntegrationConnectorStatus),
        },
    }
    return schema


def custom_resource_definition() -> Schema:
    """The whole CRD manifest (apiextensions.k8s.io/v1)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": naming.CRD_NAME,
            "labels": {naming.LABEL_NAME: "metaferry", naming.LABEL_PART_OF: "metaferry"},
        },
        "spec": {
            "group": naming.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": naming.RESOURCE_KIND,
                "listKind": f"{naming.RESOURCE_KIND}List",
                "plural": naming.RESOURCE_PLURAL,
                "singular": naming.RESOURCE_KIND.lower(),
                "shortNames": ["ic"],
                "categories": ["metaferry"],
            },
            "versions": [
                {
                    "name": naming.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


HEADER = (
    "# Generated by `python -m metaferry_operator.crd` from the pydantic models in\n"
    "# runtime/metaferry_runtime/resource/. Do not edit: change the models and regenerate.\n"
)


def render_yaml() -> str:
    """The CRD as committed in ``crds/``."""
    return HEADER + yaml.safe_dump(custom_resource_definition(), sort_keys=False, width=120)


def manifest_files() -> dict[str, str]:
    """What `crds/` holds: the CRD, and the admission policy (with its binding) that checks what the CRD's
    schema cannot (module `admission`)."""
    return {
        f"{naming.CRD_NAME}.yaml": render_yaml(),
        f"{naming.CRD_NAME}-policy.yaml": admission.render_yaml(admission.policy()),
        f"{naming.CRD_NAME}-policy-binding.yaml": admission.render_yaml(admission.binding()),
    }


def main() -> None:
    sys.stdout.write(render_yaml())


if __name__ == "__main__":
    main()
