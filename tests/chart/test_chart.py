"""The chart renders what the design asks for, valid for Kubernetes 1.37, in each supported shape.

No cluster: ``helm lint`` and ``helm template`` only; objects are validated offline against the
Kubernetes 1.37 OpenAPI schemas (PyPI ``kubernetes-validate``, strict: unknown fields are errors).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from metaferry_operator.config import ENV_PREFIX, OperatorConfig, load_config
from tests.chart.conftest import (
    CHART,
    KUBE_VERSION,
    RELEASE,
    RELEASE_NAMESPACE,
    REPO,
    SERVICE_MONITOR_API,
    VALUE_SETS,
    Helm,
    Manifest,
    documents,
    find,
    one,
)

Render = Callable[[Sequence[str]], list[Manifest]]
CRD_FILE = "integrationconnectors.metaferry.io.yaml"
# Kinds with no schema in kubernetes-validate: CRD-defined objects, checked field by field below.
CUSTOM_KINDS = {"ServiceMonitor"}
OPERATOR = f"{RELEASE}-operator"


def operator_container(manifests: list[Manifest]) -> Manifest:
    deployment = one(manifests, "Deployment", OPERATOR)
    containers: list[Manifest] = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["operator"]
    return containers[0]


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {item["name"]: item for item in container["env"]}


def rules_by_resource(rules: list[Manifest]) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault(f"{group}/{resource}" if group else resource, set()).update(rule["verbs"])
    return granted


# ---------------------------------------------------------------- lint, schemas, values


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_helm_lint_strict_passes(helm: Helm, value_set: str) -> None:
    args = [a for a in VALUE_SETS[value_set] if not a.startswith("--api-versions") and a != SERVICE_MONITOR_API]
    result = helm.run(
        "lint",
        "--strict",
        str(CHART),
        "--namespace",
        RELEASE_NAMESPACE,
        "--kube-version",
        KUBE_VERSION,
        *args,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_rendered_object_is_valid_kubernetes(render: Render, value_set: str) -> None:
    manifests = render(VALUE_SETS[value_set])
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "ServiceAccount", "CustomResourceDefinition", "Pod"} <= kinds
    for manifest in manifests:
        if manifest["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(
                f"{manifest['kind']}/{manifest['metadata']['name']}: {error.message} "
                f"at {'.'.join(map(str, error.path))}"
            ) from None


def test_values_schema_rejects_an_unknown_key_naming_it(helm: Helm) -> None:
    result = helm.template("--set", "operator.pollInterval=5", check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert "at '/operator': additional properties 'pollInterval' not allowed" in result.stderr


def test_values_schema_rejects_an_unknown_top_level_key(helm: Helm) -> None:
    result = helm.template("--set", "replicaCount=2", check=False)
    assert result.returncode != 0
    assert "additional properties 'replicaCount' not allowed" in result.stderr


def test_values_schema_rejects_a_wrong_type_naming_the_key(helm: Helm) -> None:
    result = helm.template("--set", "operator.maxWorkers=many", check=False)
    assert result.returncode != 0
    assert "at '/operator/maxWorkers': got string, want integer" in result.stderr


def test_values_schema_rejects_a_value_outside_its_enum(helm: Helm) -> None:
    result = helm.template("--set", "operator.logFormat=xml", check=False)
    assert result.returncode != 0
    assert "/operator/logFormat" in result.stderr


def _leaf_paths(values: object, prefix: str = "") -> set[str]:
    if isinstance(values, dict) and values:
        paths: set[str] = set()
        for key, value in values.items():
            paths |= _leaf_paths(value, f"{prefix}.{key}" if prefix else key)
        return paths
    return {prefix}


def _schema_paths(schema: dict[str, object], prefix: str = "") -> set[str]:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return {prefix}
    paths: set[str] = set()
    for key, sub in properties.items():
        paths |= _schema_paths(sub, f"{prefix}.{key}" if prefix else key)
    return paths


def _closed_objects(schema: dict[str, object], path: str = "(root)") -> list[str]:
    """Schema objects with named properties that still accept unknown keys."""
    open_ones = []
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        if schema.get("additionalProperties") is not False:
            open_ones.append(path)
        for key, sub in properties.items():
            open_ones += _closed_objects(sub, f"{path}.{key}")
    return open_ones


def test_values_schema_covers_every_value_and_closes_every_object() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    value_paths = _leaf_paths(values)
    schema_paths = _schema_paths(schema)
    missing = {p for p in value_paths if not any(p == s or p.startswith(s + ".") for s in schema_paths)}
    assert not missing, f"values without a schema: {sorted(missing)}"
    assert _closed_objects(schema) == []


def test_every_value_is_documented_by_a_comment() -> None:
    """Each key of values.yaml has a comment right above it, or sits inside a commented value (a probe,
    resources, a security context: one documented object); section headers need none."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    ancestors: list[tuple[int, bool]] = []  # (indent, commented) of the enclosing keys
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z]\w*):", line)
        if not match:
            continue
        indent = len(match.group(1))
        while ancestors and ancestors[-1][0] >= indent:
            ancestors.pop()
        commented = number > 0 and lines[number - 1].strip().startswith("#")
        is_section = line.rstrip().endswith(":")
        if not (commented or is_section or any(c for _, c in ancestors)):
            undocumented.append(f"{number + 1}: {line.strip()}")
        ancestors.append((indent, commented))
    assert undocumented == []


# ---------------------------------------------------------------- the CRDs


def test_chart_crd_files_are_byte_copies_of_the_generated_ones() -> None:
    assert (REPO / "crds" / CRD_FILE).exists(), "crds/ has no generated CRD: run `make crds`"
    for generated in (REPO / "crds").glob("*.yaml"):
        copy = CHART / "files" / "crds" / generated.name
        assert copy.exists() and copy.read_bytes() == generated.read_bytes(), (
            f"charts/metaferry/files/crds/{generated.name} differs from crds/{generated.name}: run `make crds`"
        )
    assert sorted(p.name for p in (CHART / "files" / "crds").glob("*.yaml")) == sorted(
        p.name for p in (REPO / "crds").glob("*.yaml")
    )


def test_rendered_crd_is_the_generated_crd_with_release_labels_and_keep_policy(render: Render) -> None:
    generated = yaml.safe_load((REPO / "crds" / CRD_FILE).read_text())
    rendered = one(render([]), "CustomResourceDefinition", generated["metadata"]["name"])
    metadata = rendered["metadata"]
    assert metadata["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert metadata["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    for key, value in (generated["metadata"].get("labels") or {}).items():
        assert metadata["labels"][key] == value
    assert {k: v for k, v in rendered.items() if k != "metadata"} == {
        k: v for k, v in generated.items() if k != "metadata"
    }


def test_the_catalog_targets_policy_and_its_binding_are_rendered_as_generated(render: Render) -> None:
    rendered = render([])
    kinds = (("ValidatingAdmissionPolicy", "policy"), ("ValidatingAdmissionPolicyBinding", "policy-binding"))
    for kind, suffix in kinds:
        generated = yaml.safe_load((REPO / "crds" / CRD_FILE.replace(".yaml", f"-{suffix}.yaml")).read_text())
        manifest = one(rendered, kind, generated["metadata"]["name"])
        assert manifest["spec"] == generated["spec"]
    assert find(render(["--set", "crds.enabled=false"]), "ValidatingAdmissionPolicy") == []


def test_crd_keep_and_enable_switches(render: Render) -> None:
    unkept = one(render(["--set", "crds.keep=false"]), "CustomResourceDefinition")
    assert "helm.sh/resource-policy" not in (unkept["metadata"].get("annotations") or {})
    assert find(render(["--set", "crds.enabled=false"]), "CustomResourceDefinition") == []


def test_the_chart_ships_no_plain_crds_directory() -> None:
    # The IntegrationConnector CRD is a template (so upgrades update it); a crds/ copy would clash with it.
    assert not (CHART / "crds").exists()


# ---------------------------------------------------------------- the operator Deployment


def test_default_install_runs_one_operator_that_is_never_doubled(render: Render) -> None:
    deployment = one(render([]), "Deployment", OPERATOR)
    assert deployment["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = operator_container(render([]))
    assert container["command"] == ["metaferry-operator"]
    assert container["args"] == ["run"]
    assert container["image"] == "ghcr.io/metaferry/metaferry:0.1.0"


def test_operator_pod_meets_the_restricted_pod_security_standard(render: Render) -> None:
    for manifests in (render([]), render(VALUE_SETS["high-availability"])):
        pods = [one(manifests, "Deployment", OPERATOR)["spec"]["template"]["spec"], one(manifests, "Pod")["spec"]]
        for pod in pods:
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert isinstance(pod["securityContext"]["runAsUser"], int) and pod["securityContext"]["runAsUser"] > 0
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
            for volume in pod.get("volumes", []):
                assert set(volume) - {"name"} <= {"emptyDir", "configMap", "secret", "projected", "downwardAPI"}
            for container in pod["containers"]:
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False
                assert context["readOnlyRootFilesystem"] is True
                assert context["capabilities"] == {"drop": ["ALL"]}
                assert context["runAsNonRoot"] is True
                assert context["runAsUser"] == 10001
                assert context["seccompProfile"] == {"type": "RuntimeDefault"}
                assert "limits" in container["resources"] and "requests" in container["resources"]


def test_operator_liveness_probe_checks_healthz_on_the_health_port(render: Render) -> None:
    container = operator_container(render([]))
    probe = container["livenessProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": "health"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 8081, "metrics": 9090}
    assert "readinessProbe" not in container  # kopf: readiness means nothing for an operator


def test_operator_environment_carries_every_setting(render: Render) -> None:
    manifests = render([])
    env = env_of(operator_container(manifests))
    assert env["METAFERRY_WATCH_NAMESPACES"]["value"] == ""
    assert env["METAFERRY_OPERATOR_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["METAFERRY_RUNTIME_IMAGE"]["value"] == "ghcr.io/metaferry/metaferry:0.1.0"
    assert env["METAFERRY_RUNTIME_IMAGE_PULL_POLICY"]["value"] == "IfNotPresent"
    assert env["METAFERRY_STATUS_POLL_INTERVAL"]["value"] == "10"
    assert env["METAFERRY_HTTP_TIMEOUT"]["value"] == "5"
    assert env["METAFERRY_MAX_WORKERS"]["value"] == "20"
    assert env["METAFERRY_LEADER_ELECTION"]["value"] == "false"
    assert env["METAFERRY_LEADER_ELECTION_NAMESPACE"]["value"] == RELEASE_NAMESPACE
    lease_timings = [env[f"METAFERRY_LEASE_{name}"]["value"] for name in ("DURATION", "RENEW_DEADLINE", "RETRY_PERIOD")]
    assert lease_timings == ["15", "10", "2"]
    assert env["METAFERRY_HEALTH_PORT"]["value"] == "8081"
    assert env["METAFERRY_METRICS_PORT"]["value"] == "9090"
    assert env["METAFERRY_LOG_FORMAT"]["value"] == "json"
    # The default repository is the bundled PostgreSQL: its URL comes from the chart's generated Secret.
    assert env["METAFERRY_REPOSITORY_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": f"{RELEASE}-postgresql", "key": "url"}
    }
    assert "METAFERRY_LISTEN_HOST" not in env  # the operator's default, 0.0.0.0
    selector = one(manifests, "Deployment", OPERATOR)["spec"]["selector"]["matchLabels"]
    pairs = dict(item.split("=", 1) for item in env["METAFERRY_OPERATOR_POD_LABELS"]["value"].split(","))
    assert pairs == selector  # the connectors' NetworkPolicy admits exactly the operator pods


def test_operator_environment_is_exactly_the_operators_settings(render: Render) -> None:
    """The chart-operator contract: one variable per OperatorConfig field, and the operator accepts them."""
    env = env_of(
        operator_container(render([*VALUE_SETS["postgresql-servicemonitor"], "--set", "operator.listenHost=::"]))
    )
    assert set(env) == {ENV_PREFIX + field.upper() for field in OperatorConfig.model_fields}
    plain = {name: item["value"] for name, item in env.items() if "value" in item}
    settings = load_config(
        environ={
            **plain,
            "METAFERRY_OPERATOR_NAMESPACE": RELEASE_NAMESPACE,
            "METAFERRY_REPOSITORY_URL": "postgresql://u:p@db:5432/m",
        }
    )
    assert settings.log_format == "json" and settings.health_port == 8081 and settings.listen_host == "::"
    assert settings.operator_pod_labels == dict(
        item.split("=", 1) for item in plain["METAFERRY_OPERATOR_POD_LABELS"].split(",")
    )


def test_operator_settings_follow_values(render: Render) -> None:
    env = env_of(
        operator_container(
            render(
                [
                    "--set",
                    "operator.statusPollInterval=2.5",
                    "--set",
                    "operator.logFormat=text",
                    "--set",
                    "runtime.image.repository=registry.example/connectors",
                    "--set",
                    "runtime.image.tag=7",
                    "--set",
                    "runtime.image.pullPolicy=Always",
                    "--set",
                    "operator.listenHost=::",
                    "--set",
                    "image.tag=1.2.3",
                ]
            )
        )
    )
    assert env["METAFERRY_STATUS_POLL_INTERVAL"]["value"] == "2.5"
    assert env["METAFERRY_LOG_FORMAT"]["value"] == "text"
    assert env["METAFERRY_RUNTIME_IMAGE"]["value"] == "registry.example/connectors:7"
    assert env["METAFERRY_RUNTIME_IMAGE_PULL_POLICY"]["value"] == "Always"
    assert env["METAFERRY_LISTEN_HOST"]["value"] == "::"
    runtime_default = env_of(operator_container(render(["--set", "image.tag=1.2.3"])))
    assert runtime_default["METAFERRY_RUNTIME_IMAGE"]["value"] == "ghcr.io/metaferry/metaferry:1.2.3"


def test_repository_url_comes_from_the_named_secret(render: Render) -> None:
    env = env_of(operator_container(render(VALUE_SETS["postgresql-servicemonitor"])))
    assert env["METAFERRY_REPOSITORY_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "metaferry-repository", "key": "url"}
    }
    assert "value" not in env["METAFERRY_REPOSITORY_URL"]


def test_high_availability_runs_replicas_electing_a_leader_with_rolling_updates(render: Render) -> None:
    manifests = render(VALUE_SETS["high-availability"])
    deployment = one(manifests, "Deployment", OPERATOR)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    environment = env_of(operator_container(manifests))
    assert environment["METAFERRY_LEADER_ELECTION"]["value"] == "true"
    assert environment["METAFERRY_OPERATOR_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    role = one(manifests, "Role", f"{OPERATOR}-leader-election", RELEASE_NAMESPACE)
    assert [(r["resources"], r.get("resourceNames"), set(r["verbs"])) for r in role["rules"]] == [
        (["leases"], None, {"create"}),
        (["leases"], ["metaferry-operator"], {"get", "patch"}),
    ]
    binding = one(manifests, "RoleBinding", f"{OPERATOR}-leader-election", RELEASE_NAMESPACE)
    pod_spec = deployment["spec"]["template"]["spec"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": pod_spec["serviceAccountName"], "namespace": RELEASE_NAMESPACE}
    ]
    pdb = one(manifests, "PodDisruptionBudget", OPERATOR)
    assert pdb["spec"]["minAvailable"] == 1


def test_a_single_replica_has_no_leader_election(render: Render) -> None:
    manifests = render([])
    assert env_of(operator_container(manifests))["METAFERRY_LEADER_ELECTION"]["value"] == "false"
    assert find(manifests, "Role", f"{OPERATOR}-leader-election") == []


def test_namespaced_high_availability_keeps_the_lease_in_the_release_namespace(render: Render) -> None:
    manifests = render([*VALUE_SETS["namespaced-rbac"], "--set", "highAvailability.enabled=true"])
    assert one(manifests, "Role", f"{OPERATOR}-leader-election", RELEASE_NAMESPACE)
    for namespace in ("team-a", "team-b"):
        rules = one(manifests, "Role", OPERATOR, namespace)["rules"]
        assert "coordination.k8s.io/leases" not in rules_by_resource(rules)


def test_high_availability_needs_at_least_two_replicas(helm: Helm) -> None:
    result = helm.template(
        "--set", "highAvailability.enabled=true", "--set", "highAvailability.replicas=1", check=False
    )
    assert result.returncode != 0
    assert "/highAvailability/replicas" in result.stderr


# ---------------------------------------------------------------- RBAC

# What the operator touches (the operator's contract), and nothing more.
OPERATOR_NAMESPACED_RIGHTS = {
    "metaferry.io/integrationconnectors": {"list", "watch"},
    "metaferry.io/integrationconnectors/status": {"patch"},
    "metaferry.io/integrationconnectors/finalizers": {"update"},
    "configmaps": {"create", "patch", "list", "watch"},
    "secrets": {"create", "patch", "get", "list", "watch"},
    "services": {"create", "patch", "list", "watch"},
    "apps/deployments": {"create", "patch", "list", "watch"},
    "networking.k8s.io/networkpolicies": {"create", "patch", "list", "watch"},
    "pods": {"list", "watch"},
    "events": {"create"},
}
CRD_READ = {"apiextensions.k8s.io/customresourcedefinitions": {"list", "watch"}}


def test_cluster_wide_rbac_grants_exactly_the_operator_contract(render: Render) -> None:
    manifests = render([])
    role = one(manifests, "ClusterRole", OPERATOR)
    assert rules_by_resource(role["rules"]) == {**OPERATOR_NAMESPACED_RIGHTS, **CRD_READ}
    binding = one(manifests, "ClusterRoleBinding", OPERATOR)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": OPERATOR}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": RELEASE, "namespace": RELEASE_NAMESPACE}]
    assert find(manifests, "Role", OPERATOR) == []


def test_namespaced_rbac_grants_rights_only_in_the_watched_namespaces(render: Render) -> None:
    manifests = render(VALUE_SETS["namespaced-rbac"])
    for namespace in ("team-a", "team-b"):
        role = one(manifests, "Role", OPERATOR, namespace)
        assert rules_by_resource(role["rules"]) == OPERATOR_NAMESPACED_RIGHTS
        binding = one(manifests, "RoleBinding", OPERATOR, namespace)
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": RELEASE, "namespace": RELEASE_NAMESPACE}]
    assert find(manifests, "ClusterRole", OPERATOR) == []
    read = one(manifests, "ClusterRole", f"{OPERATOR}-cluster-read")
    assert rules_by_resource(read["rules"]) == {**CRD_READ, "namespaces": {"list", "watch"}}
    operator_account = {"kind": "ServiceAccount", "name": RELEASE, "namespace": RELEASE_NAMESPACE}
    bindings = [b for b in find(manifests, "ClusterRoleBinding") if operator_account in b["subjects"]]
    assert [b["roleRef"]["name"] for b in bindings] == [f"{OPERATOR}-cluster-read"]
    env = env_of(operator_container(manifests))
    assert env["METAFERRY_WATCH_NAMESPACES"]["value"] == "team-a,team-b"


@pytest.mark.parametrize("value_set", ["default", "namespaced-rbac", "high-availability"])
def test_every_verb_granted_to_the_operator_says_why(helm: Helm, value_set: str) -> None:
    text = helm.template(*VALUE_SETS[value_set]).stdout
    for document in text.split("\n---"):
        if not re.search(r"^kind: (Cluster)?Role$", document, re.M) or f"name: {OPERATOR}" not in document:
            continue
        verb_lines = [
            line
            for line in document.splitlines()
            if re.match(r"^\s+- (get|list|watch|create|update|patch|delete)\b", line)
        ]
        assert verb_lines, document
        unexplained = [line for line in verb_lines if "#" not in line]
        assert unexplained == [], "verbs without a reason:\n" + "\n".join(unexplained)


def test_namespace_users_get_connectors_through_the_aggregated_roles(render: Render) -> None:
    manifests = render([])
    expected = {
        f"{RELEASE}-view": ("aggregate-to-view", {"get", "list", "watch"}),
        f"{RELEASE}-edit": (
            "aggregate-to-edit",
            {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
        ),
        f"{RELEASE}-admin": (
            "aggregate-to-admin",
            {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
        ),
    }
    for name, (label, verbs) in expected.items():
        role = one(manifests, "ClusterRole", name)
        assert role["metadata"]["labels"][f"rbac.authorization.k8s.io/{label}"] == "true"
        granted = rules_by_resource(role["rules"])
        assert granted["metaferry.io/integrationconnectors"] == verbs
        assert granted["metaferry.io/integrationconnectors/status"] == {"get", "list", "watch"}
    none = render(["--set", "rbac.aggregateToDefaultRoles=false"])
    assert find(none, "ClusterRole", f"{RELEASE}-view") == []


def test_rbac_create_false_leaves_rbac_to_the_user(render: Render) -> None:
    manifests = [
        m
        for m in render(["--set", "rbac.create=false", "--set", "rbac.aggregateToDefaultRoles=false"])
        if "helm.sh/hook" not in (m["metadata"].get("annotations") or {})
    ]
    assert not {m["kind"] for m in manifests} & {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def test_the_cluster_reader_role_grants_what_the_kubernetes_cluster_connector_reads(render: Render) -> None:
    """The chart's ClusterRole for kubernetes-cluster connectors covers every collection the connector lists
    and watches, read only, as the example manifest's does; bound to the ServiceAccounts the values name."""
    from metaferry_runtime.connectors.kubernetes_cluster.resources import RESOURCES

    assert find(render([]), "ClusterRole", f"{RELEASE}-cluster-reader") == []
    accounts = ["--set", "rbac.clusterReader.serviceAccounts[0].name=catalogue"]
    accounts += ["--set", "rbac.clusterReader.serviceAccounts[0].namespace=connectors"]
    manifests = render(["--set", "rbac.clusterReader.create=true", *accounts])
    granted = rules_by_resource(one(manifests, "ClusterRole", f"{RELEASE}-cluster-reader")["rules"])
    # /api/v1/pods -> pods (the core group); /apis/apps/v1/deployments -> apps/deployments
    paths = [r.path.strip("/").split("/") for r in RESOURCES]
    needed = {f"{p[1]}/{p[-1]}" if p[0] == "apis" else p[-1] for p in paths}
    assert set(granted) == needed
    assert all(verbs == {"get", "list", "watch"} for verbs in granted.values())
    example = yaml.safe_load_all((REPO / "examples" / "kubernetes-cluster-connector.yaml").read_text())
    example_role = next(d for d in example if d and d["kind"] == "ClusterRole")
    assert rules_by_resource(example_role["rules"]) == granted
    binding = one(manifests, "ClusterRoleBinding", f"{RELEASE}-cluster-reader")
    assert binding["roleRef"]["name"] == f"{RELEASE}-cluster-reader"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "catalogue", "namespace": "connectors"}]
    unbound = render(["--set", "rbac.clusterReader.create=true"])
    assert find(unbound, "ClusterRoleBinding", f"{RELEASE}-cluster-reader") == []


# ---------------------------------------------------------------- metrics


def test_metrics_service_selects_the_operator(render: Render) -> None:
    manifests = render([])
    service = one(manifests, "Service", f"{RELEASE}-metrics")
    selector = one(manifests, "Deployment", OPERATOR)["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}]


def test_service_monitor_needs_both_the_value_and_the_api(render: Render) -> None:
    with_api = render(VALUE_SETS["postgresql-servicemonitor"])
    monitor = one(with_api, "ServiceMonitor", OPERATOR)
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    selector = one(with_api, "Deployment", OPERATOR)["spec"]["selector"]["matchLabels"]
    assert monitor["spec"]["selector"]["matchLabels"] == selector
    without_api = [
        a for a in VALUE_SETS["postgresql-servicemonitor"] if a not in ("--api-versions", SERVICE_MONITOR_API)
    ]
    assert find(render(without_api), "ServiceMonitor") == []
    assert find(render(["--api-versions", SERVICE_MONITOR_API]), "ServiceMonitor") == []


# ---------------------------------------------------------------- helm test, NOTES


def _hook_objects(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if (m["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"]


@pytest.mark.parametrize(
    ("args", "namespace"),
    [
        ([], RELEASE_NAMESPACE),
        (VALUE_SETS["namespaced-rbac"], "team-a"),
        (["--set-json", f'watchNamespaces=["x","{RELEASE_NAMESPACE}"]'], RELEASE_NAMESPACE),
    ],
)
def test_helm_test_runs_the_selftest_in_a_watched_namespace(render: Render, args: list[str], namespace: str) -> None:
    hooks = _hook_objects(render(args))
    assert sorted(m["kind"] for m in hooks) == ["Pod", "Role", "RoleBinding", "ServiceAccount"]
    for hook in hooks:
        assert hook["metadata"]["namespace"] == namespace
        # `helm test --logs` asks for a Pod named after every test hook (helm/helm#9098)
        assert hook["metadata"]["name"] == f"{RELEASE}-test"
        # The rights go when the test succeeds; the finished Pod stays for `helm test --logs`, which
        # reads it after Helm deletes hook-succeeded hooks, and the next `helm test` replaces it.
        expected = "before-hook-creation" if hook["kind"] == "Pod" else "before-hook-creation,hook-succeeded"
        assert hook["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == expected
    pod = one(hooks, "Pod")
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "metaferry_operator.selftest"]
    assert f"--namespace={namespace}" in container["args"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert rules_by_resource(one(hooks, "Role")["rules"]) == {
        "metaferry.io/integrationconnectors": {"create", "get", "patch", "delete"}
    }


NOTES_PROBE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: notes-probe
data:
  notes: {{ include "metaferry/templates/NOTES.txt" . | toJson }}
"""


def render_notes(helm: Helm, tmp_path: Path, *args: str) -> str:
    """NOTES.txt as `helm install` prints it (helm template does not print notes: render a probe copy)."""
    chart = tmp_path / "metaferry"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "notes-probe.yaml").write_text(NOTES_PROBE)
    result = helm.run(
        "template",
        RELEASE,
        str(chart),
        "--namespace",
        RELEASE_NAMESPACE,
        "--kube-version",
        KUBE_VERSION,
        "--show-only",
        "templates/notes-probe.yaml",
        *args,
    )
    notes: str = documents(result.stdout)[0]["data"]["notes"]
    return notes


def test_notes_show_the_commands_a_user_needs(helm: Helm, tmp_path: Path) -> None:
    notes = render_notes(helm, tmp_path)
    assert f"kubectl get ic -n {RELEASE_NAMESPACE}" in notes
    assert (
        f'kubectl annotate ic NAME -n {RELEASE_NAMESPACE} metaferry.io/refresh-requested-at="$(date -Is)" --overwrite'
    ) in notes
    assert f"kubectl wait --for=condition=Ready ic/NAME -n {RELEASE_NAMESPACE}" in notes
    assert f"helm test {RELEASE} -n {RELEASE_NAMESPACE}" in notes
    assert "ServiceMonitor" not in notes


def test_notes_warn_when_a_service_monitor_cannot_be_created(helm: Helm, tmp_path: Path) -> None:
    notes = render_notes(helm, tmp_path, "--set", "metrics.serviceMonitor.enabled=true")
    assert "no ServiceMonitor was created" in notes


def test_high_availability_notes_say_where_to_see_the_leader(helm: Helm, tmp_path: Path) -> None:
    notes = render_notes(helm, tmp_path / "ha", "--set", "highAvailability.enabled=true")
    assert "kubectl get lease metaferry-operator -n" in notes
    assert "get lease" not in render_notes(helm, tmp_path / "single")


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["version"] == "0.1.0"
    assert chart["appVersion"] == "0.1.0"
    assert Path(CHART / "README.md").exists()


# ---------------------------------------------------------------- values documented once


def _chart_docs() -> Any:
    spec = importlib.util.spec_from_file_location("chart_values_doc", REPO / "scripts" / "chart_values_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_readme_table_and_schema_descriptions_are_generated_from_values_yaml() -> None:
    for path, text in _chart_docs().generated().items():
        assert path.read_text() == text, f"{path.name} has drifted from values.yaml: run `make chart-docs`"


def test_every_value_has_a_comment_and_the_table_shows_it() -> None:
    docs = _chart_docs()
    rows = {".".join(value.path): value for value in docs.documented_values((CHART / "values.yaml").read_text())}
    assert "API server" in rows["operator.maxWorkers"].description  # it sizes the connection pool, not threads only
    assert rows["podDisruptionBudget.maxUnavailable"].default is None
    readme = (CHART / "README.md").read_text()
    assert all(f"| `{key}` |" in readme for key in rows)


def test_a_value_without_a_comment_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"operator\.undocumented"):
        _chart_docs().documented_values("operator:\n  # -- Documented.\n  known: 1\n  undocumented: 2\n")


def test_pod_disruption_budget_uses_max_unavailable_only_when_set(render: Render) -> None:
    default = one(render(["--set", "podDisruptionBudget.enabled=true"]), "PodDisruptionBudget")
    assert default["spec"].get("minAvailable") == 1 and "maxUnavailable" not in default["spec"]
    zero = one(
        render(["--set", "podDisruptionBudget.enabled=true", "--set", "podDisruptionBudget.maxUnavailable=0"]),
        "PodDisruptionBudget",
    )
    assert zero["spec"].get("maxUnavailable") == 0 and "minAvailable" not in zero["spec"]
