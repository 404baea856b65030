"""The API server refuses invalid IntegrationConnectors with messages a user can act on."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.operator.conftest import Kubectl

pytestmark = pytest.mark.cluster


def _connector(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "integrationService": "files",
        "connector": "directory-monitor",
        "connection": {"endpoint": "/data"},
    }
    base.update(spec)
    return {
        "apiVersion": "metaferry.io/v1alpha1",
        "kind": "IntegrationConnector",
        "metadata": {"name": "bad"},
        "spec": base,
    }


def _without(field: str) -> dict[str, Any]:
    manifest = _connector()
    del manifest["spec"][field]
    return manifest


def _with_pod(**pod: Any) -> dict[str, Any]:
    return _connector(pod=pod)


INVALID: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "unknown integration service",
        _connector(integrationService="filez"),
        ["spec.integrationService", 'Unsupported value: "filez"', '"files"'],
    ),
    ("missing integration service", _without("integrationService"), ["spec.integrationService", "Required value"]),
    ("missing connector", _without("connector"), ["spec.connector", "Required value"]),
    ("connector name with spaces", _connector(connector="my connector"), ["spec.connector", "should match"]),
    ("refresh interval without unit", _connector(refreshInterval="30"), ["spec.refreshInterval", "should match"]),
    (
        "refresh interval too short",
        _connector(refreshInterval="1s"),
        ["refreshInterval must be 0 or between 10s and 168h (7 days)"],
    ),
    (
        "refresh interval too long",
        _connector(refreshInterval="200h"),
        ["refreshInterval must be 0 or between 10s and 168h (7 days)"],
    ),
    ("refresh timeout too long", _connector(refreshTimeout="25h"), ["refreshTimeout must be between 1s and 24h"]),
    (
        "repeated catalog target",
        _connector(catalogTargets=["/a", "/a"]),
        ["spec.catalogTargets", "catalogTargets must not name the same target twice"],
    ),
    (
        "catalog target repeated in both forms",
        _connector(catalogTargets=["/a", {"name": "/a", "configurationProperties": {"depth": 1}}]),
        ["catalogTargets must not name the same target twice"],
    ),
    (
        "catalog target neither name nor object",
        _connector(catalogTargets=[7]),
        ["spec.catalogTargets: a catalogTargets entry must be a name or an object {name, configurationProperties}"],
    ),
    ("empty catalog target name", _connector(catalogTargets=[""]), ["a catalogTargets name must have 1 to 2048"]),
    (
        "catalog target object without a name",
        _connector(catalogTargets=[{"configurationProperties": {}}]),
        ["a catalogTargets object needs a name of 1 to 2048 characters"],
    ),
    (
        "catalog target object with an unknown key",
        _connector(catalogTargets=[{"name": "/a", "properties": {}}]),
        ["a catalogTargets object takes only name and configurationProperties"],
    ),
    (
        "catalog target properties not an object",
        _connector(catalogTargets=[{"name": "/a", "configurationProperties": ["x"]}]),
        ["a catalogTargets object's configurationProperties must be an object"],
    ),
    (
        "unknown permitted synchronization",
        _connector(permittedSynchronization="SIDEWAYS"),
        ["spec.permittedSynchronization", 'Unsupported value: "SIDEWAYS"'],
    ),
    (
        "negative max archive percent",
        _connector(deletionDetection={"maxArchivePercent": 150}),
        ["spec.deletionDetection.maxArchivePercent", "should be less than or equal to 100"],
    ),
    (
        "secretRef without name",
        _connector(connection={"secretRef": {}}),
        ["spec.connection.secretRef.name", "Required value"],
    ),
    (
        "env with value and valueFrom",
        _with_pod(env=[{"name": "A", "value": "1", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]),
        ["set value or valueFrom, not both"],
    ),
    (
        "volume with two sources",
        _with_pod(volumes=[{"name": "v", "emptyDir": {}, "secret": {"secretName": "s"}}]),
        ["a volume needs exactly one of configMap, secret, emptyDir, persistentVolumeClaim"],
    ),
    ("bad image pull policy", _with_pod(imagePullPolicy="Sometimes"), ["spec.pod.imagePullPolicy", "should match"]),
    ("listener port on the runtime API's", _connector(listenerPort=8080), ["listenerPort 8080 is the runtime API's"]),
    (
        "privileged listener port",
        _connector(listenerPort=80),
        ["spec.listenerPort", "should be greater than or equal to 1024"],
    ),
    (
        "spec missing",
        {"apiVersion": "metaferry.io/v1alpha1", "kind": "IntegrationConnector", "metadata": {"name": "bad"}},
        ["spec", "Required value"],
    ),
]


@pytest.mark.parametrize(("manifest", "messages"), [pytest.param(m, msgs, id=name) for name, m, msgs in INVALID])
def test_an_invalid_connector_is_refused_with_a_clear_message(
    kubectl: Kubectl, crd: str, namespace: str, manifest: dict[str, Any], messages: list[str]
) -> None:
    manifest = copy.deepcopy(manifest)
    manifest["metadata"]["namespace"] = namespace
    result = kubectl.apply(manifest, check=False)
    assert result.returncode != 0, f"accepted: {manifest}"
    for message in messages:
        assert message in result.stderr, result.stderr


def test_a_valid_connector_with_defaults_is_accepted_and_defaulted(kubectl: Kubectl, crd: str, namespace: str) -> None:
    manifest = _connector(
        refreshInterval="10m", connection={"configurationProperties": {"depth": 2, "nested": {"a": [1]}}}
    )
    manifest["metadata"]["namespace"] = namespace
    kubectl.apply(manifest)
    stored = kubectl.json("get", "ic", "bad", "-n", namespace)
    assert stored["spec"]["refreshTimeout"] == "30m"
    assert stored["spec"]["permittedSynchronization"] == "FROM_THIRD_PARTY"
    assert stored["spec"]["connection"]["configurationProperties"] == {"depth": 2, "nested": {"a": [1]}}
    names = kubectl.run("get", "metaferry", "-n", namespace).stdout
    assert "bad" in names


def test_catalog_targets_in_both_forms_are_accepted_and_kept_as_written(
    kubectl: Kubectl, crd: str, namespace: str
) -> None:
    targets = ["/a", {"name": "/b", "configurationProperties": {"maxDepth": 0, "nested": {"x": [1]}}}, {"name": "/c"}]
    manifest = _connector(catalogTargets=targets)
    manifest["metadata"]["namespace"] = namespace
    kubectl.apply(manifest)
    stored = kubectl.json("get", "ic", "bad", "-n", namespace)
    assert stored["spec"]["catalogTargets"] == targets
