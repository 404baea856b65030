"""The chart's repository modes (bundled PostgreSQL by default, external, perPod) and the catalogue API.

Rendered with `helm template` (no cluster, so `lookup` finds nothing: each render generates a password; the
e2e tests show an upgrade keeping it). The objects are validated against Kubernetes' schemas in
test_chart.py, for every value set.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.chart.conftest import RELEASE, RELEASE_NAMESPACE, VALUE_SETS, Helm, Manifest, find, one
from tests.chart.test_chart import render_notes

Render = Callable[[Sequence[str]], list[Manifest]]
OPERATOR = f"{RELEASE}-operator"
POSTGRESQL = f"{RELEASE}-postgresql"
CATALOG = f"{RELEASE}-catalog"
EXTERNAL = ["--set", "repository.mode=external", "--set", "repository.existingSecret=shared-db"]
PER_POD = VALUE_SETS["per-pod-sqlite"]


def pod_spec(manifest: Manifest) -> Manifest:
    spec: Manifest = manifest["spec"]["template"]["spec"]
    return spec


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {item["name"]: item for item in container.get("env", [])}


def url_ref(container: Manifest) -> Manifest | None:
    found = env_of(container).get("METAFERRY_REPOSITORY_URL")
    return None if found is None else dict(found["valueFrom"]["secretKeyRef"])


def secret_data(secret: Manifest) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def assert_restricted(pod: Manifest, user: int) -> None:
    """The "restricted" Pod Security Standard, field by field (the e2e tests apply it in a real API server)."""
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsNonRoot"] is True and context["runAsUser"] == user
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert "limits" in container["resources"] and "requests" in container["resources"]


# ---------------------------------------------------------------- bundled (the default)


def test_default_bundles_one_postgresql_statefulset_on_a_claim(render: Render) -> None:
    manifests = render([])
    statefulset = one(manifests, "StatefulSet", POSTGRESQL, RELEASE_NAMESPACE)
    assert statefulset["spec"]["replicas"] == 1
    assert statefulset["spec"]["serviceName"] == POSTGRESQL
    claims = statefulset["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["data"]
    assert claims[0]["spec"]["resources"]["requests"]["storage"] == "8Gi"
    assert claims[0]["spec"]["accessModes"] == ["ReadWriteOnce"]
    # uninstall and scale-down keep the data; a reinstall finds it with the kept password
    assert statefulset["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    container = one(
        [{"kind": "c", "metadata": {"name": c["name"]}, **c} for c in pod_spec(statefulset)["containers"]], "c"
    )
    assert container["image"] == "postgres:17"  # the official image
    assert container["command"] == ["docker-entrypoint.sh"] and container["args"] == ["postgres"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/var/lib/postgresql/data"] == "data"
    env = env_of(container)
    assert env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")  # below the claim's lost+found
    assert env["POSTGRES_USER"]["value"] == "metaferry" and env["POSTGRES_DB"]["value"] == "metaferry"
    assert env["POSTGRES_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": POSTGRESQL, "key": "password"}}
    probe = container["readinessProbe"]["exec"]["command"]
    assert probe[:2] == ["sh", "-c"] and probe[2].startswith('exec pg_isready -q -h "$POD_IP" -p "$PGPORT"')
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert pod_spec(statefulset)["automountServiceAccountToken"] is False


def test_bundled_postgresql_meets_the_restricted_pod_security_standard(render: Render) -> None:
    pod = pod_spec(one(render([]), "StatefulSet", POSTGRESQL))
    assert_restricted(pod, user=999)
    for volume in pod["volumes"]:
        assert set(volume) - {"name"} == {"emptyDir"}


def test_generated_password_is_in_a_kept_secret_and_in_the_url(render: Render) -> None:
    secret = one(render([]), "Secret", POSTGRESQL, RELEASE_NAMESPACE)
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    data = secret_data(secret)
    assert len(data["password"]) == 40 and data["password"].isalnum()
    url = urlsplit(data["url"])
    assert (url.scheme, url.username, url.password) == ("postgresql", "metaferry", data["password"])
    assert (url.hostname, url.port, url.path) == (f"{POSTGRESQL}.{RELEASE_NAMESPACE}.svc", 5432, "/metaferry")
    service = one(render([]), "Service", POSTGRESQL, RELEASE_NAMESPACE)
    statefulset = one(render([]), "StatefulSet", POSTGRESQL)
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [
        {"name": "postgresql", "port": 5432, "targetPort": "postgresql", "protocol": "TCP"}
    ]


def test_operator_and_catalog_read_the_bundled_url(render: Render) -> None:
    manifests = render([])
    wanted = {"name": POSTGRESQL, "key": "url"}
    assert url_ref(pod_spec(one(manifests, "Deployment", OPERATOR))["containers"][0]) == wanted
    assert url_ref(pod_spec(one(manifests, "Deployment", CATALOG))["containers"][0]) == wanted


def test_network_policy_admits_only_metaferry_pods_to_postgresql(render: Render) -> None:
    manifests = render([])
    policy = one(manifests, "NetworkPolicy", POSTGRESQL, RELEASE_NAMESPACE)
    statefulset = one(manifests, "StatefulSet", POSTGRESQL)
    assert policy["spec"]["podSelector"]["matchLabels"] == statefulset["spec"]["selector"]["matchLabels"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "metaferry"}}}
            ],
            "ports": [{"port": "postgresql", "protocol": "TCP"}],
        }
    ]
    # every pod that needs the repository carries that label: the operator, the catalogue (connector pods
    # get it from the operator: naming.child_labels)
    for name in (OPERATOR, CATALOG):
        labels = one(manifests, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "metaferry"
    no_policy = render(["--set", "repository.bundled.networkPolicy=false"])
    assert not find(no_policy, "NetworkPolicy", POSTGRESQL)


def test_repository_and_catalog_pods_are_not_taken_for_operator_pods(render: Render) -> None:
    """Connector NetworkPolicies admit pods with the operator's selector labels: no other pod may carry them."""
    manifests = render([])
    operator_selector = one(manifests, "Deployment", OPERATOR)["spec"]["selector"]["matchLabels"]
    for kind, name in (("StatefulSet", POSTGRESQL), ("Deployment", CATALOG)):
        labels = one(manifests, kind, name)["spec"]["template"]["metadata"]["labels"]
        assert not operator_selector.items() <= labels.items(), name


def test_bundled_values_are_followed(render: Render) -> None:
    manifests = render(
        [
            "--set", "repository.bundled.port=6543",
            "--set", "repository.bundled.persistence.size=50Gi",
            "--set", "repository.bundled.persistence.storageClass=fast",
            "--set", "repository.bundled.image.tag=17.2",
            "--set-json", 'repository.bundled.extraArgs=["-c","max_connections=300"]',
        ]
    )  # fmt: skip
    statefulset = one(manifests, "StatefulSet", POSTGRESQL)
    container = pod_spec(statefulset)["containers"][0]
    assert container["image"] == "postgres:17.2"
    assert container["args"] == ["postgres", "-c", "max_connections=300"]
    assert env_of(container)["PGPORT"]["value"] == "6543"
    assert container["ports"][0]["containerPort"] == 6543
    claim = statefulset["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "fast" and claim["resources"]["requests"]["storage"] == "50Gi"
    assert urlsplit(secret_data(one(manifests, "Secret", POSTGRESQL))["url"]).port == 6543


# ---------------------------------------------------------------- external and perPod


def test_external_mode_uses_the_named_secret_and_bundles_nothing(render: Render) -> None:
    manifests = render(EXTERNAL)
    assert not find(manifests, "StatefulSet") and not find(manifests, "Secret", POSTGRESQL)
    assert not find(manifests, "NetworkPolicy", POSTGRESQL)
    wanted = {"name": "shared-db", "key": "url"}
    assert url_ref(pod_spec(one(manifests, "Deployment", OPERATOR))["containers"][0]) == wanted
    assert url_ref(pod_spec(one(manifests, "Deployment", CATALOG))["containers"][0]) == wanted
    keyed = render([*EXTERNAL, "--set", "repository.secretKey=uri"])
    assert url_ref(pod_spec(one(keyed, "Deployment", OPERATOR))["containers"][0]) == {"name": "shared-db", "key": "uri"}


def test_per_pod_mode_is_sqlite_with_no_shared_repository_and_no_catalog(render: Render) -> None:
    manifests = render(PER_POD)
    assert not find(manifests, "StatefulSet") and not find(manifests, "Secret", POSTGRESQL)
    assert url_ref(pod_spec(one(manifests, "Deployment", OPERATOR))["containers"][0]) is None
    assert not find(manifests, "Deployment", CATALOG)  # nothing shared to read


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "repository.mode=external"], "repository.mode=external needs repository.existingSecret"),
        (["--set", "repository.existingSecret=db"], "repository.existingSecret is set but repository.mode is bundled"),
        (
            ["--set", "repository.mode=perPod", "--set", "repository.existingSecret=db"],
            "repository.existingSecret is set but repository.mode is perPod",
        ),
    ],
)
def test_contradictory_repository_values_fail_with_the_fix(helm: Helm, args: list[str], message: str) -> None:
    result = helm.template(*args, check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_an_unknown_repository_mode_is_refused_by_the_schema(helm: Helm) -> None:
    result = helm.template("--set", "repository.mode=sqlite", check=False)
    assert result.returncode != 0
    assert "/repository/mode" in result.stderr


# ---------------------------------------------------------------- the catalogue


def test_catalog_serves_the_repository_with_kubernetes_auth(render: Render) -> None:
    manifests = render([])
    deployment = one(manifests, "Deployment", CATALOG, RELEASE_NAMESPACE)
    pod = pod_spec(deployment)
    container = pod["containers"][0]
    assert container["command"] == ["metaferry-catalog"]
    assert container["args"] == ["serve", "--kubernetes-auth", "--host", "$(POD_IP)", "--port", "8090"]
    assert env_of(container)["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert pod["serviceAccountName"] == CATALOG and pod["automountServiceAccountToken"] is True
    assert_restricted(pod, user=10001)
    service = one(manifests, "Service", CATALOG, RELEASE_NAMESPACE)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["port"] == 8090 and service["spec"]["ports"][0]["targetPort"] == "http"


def test_catalog_may_review_tokens_and_ships_a_reader_role(render: Render) -> None:
    manifests = render([])
    account = one(manifests, "ServiceAccount", CATALOG, RELEASE_NAMESPACE)
    binding = one(manifests, "ClusterRoleBinding", f"{CATALOG}-auth-delegator")
    assert binding["roleRef"]["name"] == "system:auth-delegator"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": CATALOG, "namespace": RELEASE_NAMESPACE}]
    assert account["metadata"]["name"] == CATALOG
    reader = one(manifests, "ClusterRole", f"{CATALOG}-reader")
    assert reader["rules"] == [
        {"apiGroups": ["metaferry.io"], "resources": ["integrationconnectors/catalog"], "verbs": ["get"]}
    ]
    assert not find(render(["--set", "catalog.createReaderRole=false"]), "ClusterRole", f"{CATALOG}-reader")


def test_catalog_ships_a_curator_role_that_reads_and_curates_and_omits_it_when_disabled(render: Render) -> None:
    curator = one(render([]), "ClusterRole", f"{CATALOG}-curator")
    assert curator["rules"] == [
        {"apiGroups": ["metaferry.io"], "resources": ["integrationconnectors/catalog"], "verbs": ["get"]},
        {"apiGroups": ["metaferry.io"], "resources": ["curations"], "verbs": ["create"]},
    ]
    assert curator["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    unaggregated = one(render(["--set", "rbac.aggregateToDefaultRoles=false"]), "ClusterRole", f"{CATALOG}-curator")
    assert "rbac.authorization.k8s.io/aggregate-to-admin" not in unaggregated["metadata"]["labels"]
    assert not find(render(["--set", "catalog.createCuratorRole=false"]), "ClusterRole", f"{CATALOG}-curator")
    assert find(render(["--set", "catalog.createCuratorRole=false"]), "ClusterRole", f"{CATALOG}-reader")
    assert not find(render(["--set", "rbac.create=false"]), "ClusterRole", f"{CATALOG}-curator")


def test_catalog_enabled_false_renders_none_of_it(render: Render) -> None:
    manifests = render(["--set", "catalog.enabled=false"])
    names = {m["metadata"]["name"] for m in manifests}
    assert not {n for n in names if n.startswith(CATALOG)}
    assert find(manifests, "StatefulSet", POSTGRESQL)  # the repository stays


def test_notes_name_the_repository_and_how_to_browse_the_catalog(helm: Helm, tmp_path: Path) -> None:
    notes = render_notes(helm, tmp_path)
    assert f"statefulset/{POSTGRESQL} -n {RELEASE_NAMESPACE}" in notes
    assert f"service/{CATALOG} 8090:8090" in notes and f"{CATALOG}-reader" in notes
    per_pod = render_notes(helm, tmp_path / "per-pod", *PER_POD)
    assert "repository.mode=perPod" in per_pod and "port-forward" not in per_pod


def test_migrations_run_once_per_install_and_upgrade_in_a_hook_job(render: Render) -> None:
    manifests = render([])
    job = one(manifests, "Job", f"{RELEASE}-migrate", RELEASE_NAMESPACE)
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    pod = pod_spec(job)
    container = pod["containers"][0]
    assert container["command"] == ["metaferry-runtime"] and container["args"] == ["migrate"]
    assert url_ref(container) == {"name": POSTGRESQL, "key": "url"}
    assert pod["restartPolicy"] == "OnFailure"
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "metaferry"  # admitted
    assert_restricted(pod, user=10001)
    external = pod_spec(one(render(EXTERNAL), "Job", f"{RELEASE}-migrate"))
    assert url_ref(external["containers"][0]) == {"name": "shared-db", "key": "url"}
    assert not find(render(PER_POD), "Job")
    assert not find(render(["--set", "repository.migrationJob=false"]), "Job")
