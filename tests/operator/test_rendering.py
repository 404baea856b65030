"""Child manifests follow the runtime pod contract; no cluster needed."""

from __future__ import annotations

import base64

import yaml

from metaferry_operator import naming, rendering
from metaferry_operator.config import OperatorConfig
from tests.operator.builders import connector

CONFIG = OperatorConfig(runtime_image="example/metaferry:1", operator_namespace="metaferry-system")
TOKEN = "t0ken"


def _deployment(**spec: object) -> dict:
    return rendering.deployment(connector(**spec), config=CONFIG, token=TOKEN, secret_digest=None)


def _container(**spec: object) -> dict:
    return _deployment(**spec)["spec"]["template"]["spec"]["containers"][0]


def test_every_child_is_owned_by_the_connector_and_labelled() -> None:
    children = rendering.children(connector(), config=CONFIG, token=TOKEN, secret_digest=None)
    assert [child["kind"] for child in children] == ["ConfigMap", "Secret", "Deployment", "Service", "NetworkPolicy"]
    for child in children:
        meta = child["metadata"]
        assert meta["name"] == "files-runtime"
        assert meta["namespace"] == "data"
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "metaferry.io/v1alpha1",
                "kind": "IntegrationConnector",
                "name": "files",
                "uid": "0000-1111",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert meta["labels"] == {
            "app.kubernetes.io/name": "metaferry-connector",
            "app.kubernetes.io/instance": "files",
            "app.kubernetes.io/component": "connector",
            "app.kubernetes.io/managed-by": "metaferry-operator",
            "app.kubernetes.io/part-of": "metaferry",
        }


def test_the_config_map_holds_the_manifest_without_status_or_annotations() -> None:
    document = rendering.config_map(connector())["data"]["connector.yaml"]
    assert "apiVersion: metaferry.io/v1alpha1" in document
    assert "uid: 0000-1111" in document
    assert "status" not in document
    assert "annotations" not in document


def test_the_runtime_runs_restricted_with_probes_and_defaults() -> None:
    deployment = _deployment()
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["metaferry-runtime", "run", "/etc/metaferry/connector/connector.yaml"]
    assert container["image"] == "example/metaferry:1"
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"] == rendering.DEFAULT_RESOURCES
    assert {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]} == {
        "/etc/metaferry/connector": True,
        "/etc/metaferry/token": True,
        "/tmp": False,
        "/var/lib/metaferry": False,
    }


def test_without_a_repository_url_each_pod_gets_its_own_sqlite_file() -> None:
    secret = rendering.runtime_secret(connector(), token=TOKEN, config=CONFIG)
    assert base64.b64decode(secret["data"]["repository-url"]).decode() == "sqlite:////var/lib/metaferry/metaferry.db"
    assert base64.b64decode(secret["data"]["token"]).decode() == TOKEN
    env = {item["name"]: item for item in _container()["env"]}
    assert env["METAFERRY_REPOSITORY_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "files-runtime",
        "key": "repository-url",
    }
    assert env["METAFERRY_API_TOKEN_FILE"]["value"] == "/etc/metaferry/token/token"


def test_with_a_repository_url_no_local_data_volume_is_mounted() -> None:
    config = CONFIG.model_copy(update={"repository_url": "postgresql://u:p@db/metaferry"})
    deployment = rendering.deployment(connector(), config=config, token=TOKEN, secret_digest=None)
    mounts = [m["mountPath"] for m in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]]
    assert "/var/lib/metaferry" not in mounts
    assert "postgresql" not in str(deployment)  # the URL travels only in the Secret


def test_a_secret_ref_is_mounted_read_only_and_announced() -> None:
    deployment = _deployment(connection={"endpoint": "/d", "secretRef": {"name": "creds"}})
    pod_spec = deployment["spec"]["template"]["spec"]
    assert {"name": "metaferry-secrets", "secret": {"secretName": "creds"}} in pod_spec["volumes"]
    env = {item["name"]: item.get("value") for item in pod_spec["containers"][0]["env"]}
    assert env["METAFERRY_SECRETS_DIR"] == "/etc/metaferry/secrets"


def test_the_config_hash_follows_spec_and_secret_but_not_annotations() -> None:
    def config_hash(ic: object, digest: str | None = None) -> str:
        return rendering.config_hash(ic, config=CONFIG, token=TOKEN, secret_digest=digest)  # type: ignore[arg-type]

    base = connector()
    annotated = connector()
    annotated.metadata.annotations[naming.REFRESH_ANNOTATION] = "now"
    assert config_hash(base) == config_hash(annotated)
    assert config_hash(base) != config_hash(connector(catalogTargets=["/x"]))
    assert config_hash(base, "digest-1") != config_hash(base, "digest-2")
    assert rendering.secret_digest({"a": "YQ=="}) != rendering.secret_digest({"a": "Yg=="})
    pod_annotations = _deployment()["spec"]["template"]["metadata"]["annotations"]
    assert pod_annotations[naming.CONFIG_HASH_ANNOTATION] == config_hash(base)


def test_suspend_scales_to_zero() -> None:
    assert _deployment(suspend=True)["spec"]["replicas"] == 0


def test_pod_overrides_apply_but_the_contract_wins() -> None:
    pod = {
        "image": "mine:2",
        "resources": {"limits": {"memory": "1Gi"}},
        "env": [{"name": "EXTRA", "value": "1"}, {"name": "METAFERRY_API_TOKEN_FILE", "value": "/evil"}],
        "nodeSelector": {"disk": "ssd"},
        "labels": {"team": "a"},
        "annotations": {"note": "x"},
        "serviceAccountName": "reader",
    }
    deployment = _deployment(pod=pod)
    template = deployment["spec"]["template"]
    container = template["spec"]["containers"][0]
    assert container["image"] == "mine:2"
    assert container["resources"]["limits"] == {"memory": "1Gi"}
    assert container["resources"]["requests"] == rendering.DEFAULT_RESOURCES["requests"]
    env = [(item["name"], item.get("value")) for item in container["env"]]
    assert ("EXTRA", "1") in env
    assert ("METAFERRY_API_TOKEN_FILE", "/etc/metaferry/token/token") in env
    assert ("METAFERRY_API_TOKEN_FILE", "/evil") not in env
    assert template["spec"]["nodeSelector"] == {"disk": "ssd"}
    assert template["spec"]["serviceAccountName"] == "reader"
    assert template["metadata"]["labels"]["team"] == "a"
    assert template["metadata"]["annotations"]["note"] == "x"
    assert deployment["spec"]["selector"]["matchLabels"] == naming.selector_labels("files")


def test_only_the_operator_pods_may_reach_the_runtime() -> None:
    policy = rendering.network_policy(connector(), config=CONFIG)["spec"]
    assert policy["podSelector"] == {"matchLabels": naming.selector_labels("files")}
    assert policy["ingress"] == [
        {
            "from": [
                {
                    "podSelector": {
                        "matchLabels": {
                            "app.kubernetes.io/name": "metaferry",
                            "app.kubernetes.io/component": "operator",
                        }
                    },
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "metaferry-system"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]


def test_a_listener_port_is_opened_in_the_pod_the_service_and_the_network_policy_to_any_client() -> None:
    declared = connector(listenerPort=5000)
    assert _container(listenerPort=5000)["ports"][1] == {"name": "listener", "containerPort": 5000, "protocol": "TCP"}
    assert rendering.service(declared)["spec"]["ports"][1] == {
        "name": "listener",
        "port": 5000,
        "targetPort": "listener",
        "protocol": "TCP",
    }
    ingress = rendering.network_policy(declared, config=CONFIG)["spec"]["ingress"]
    assert ingress[1] == {"ports": [{"protocol": "TCP", "port": 5000}]}  # no "from": every pod may connect
    assert ingress[0]["ports"] == [{"protocol": "TCP", "port": 8080}]  # the runtime API stays the operator's


def test_without_a_listener_port_only_the_runtime_port_is_opened() -> None:
    assert [port["name"] for port in _container()["ports"]] == ["http"]
    assert [port["name"] for port in rendering.service(connector())["spec"]["ports"]] == ["http"]
    assert len(rendering.network_policy(connector(), config=CONFIG)["spec"]["ingress"]) == 1


def test_the_manifest_text_is_what_pyyaml_writes_so_a_new_emitter_rolls_no_pod() -> None:
    # the config hash covers this text: a different emitter output would restart every runtime on upgrade
    properties = {
        "long": "word " * 60,
        "unicode": "Zürich – 東京",
        "lines": "first\nsecond\n",
        "looks like yaml": ["yes", "0777", "a: b", "- x", "#c", "", "  lead"],
        "nested": {"n": 1, "f": 1.5, "t": True, "none": None},
    }
    body = connector(connection={"endpoint": "/data", "configurationProperties": properties})
    document = yaml.safe_load(rendering.connector_document(body))
    assert document["spec"]["connection"]["configurationProperties"] == properties
    assert rendering.connector_document(body) == yaml.safe_dump(document, sort_keys=False)
