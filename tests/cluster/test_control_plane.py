"""Smoke tests of the test cluster: each proves one behaviour the operator's tests rely on."""

# The generated client's annotations make every field Optional and every body a model class, while the
# API server takes the plain dicts used here; the assertions are the checks that matter.
# mypy: disable-error-code="arg-type,union-attr"

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import urllib.request
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.cluster import pod_process
from tests.cluster.control_plane import ControlPlane
from tests.cluster.fixtures import FAKE_NODE
from tests.cluster.pod_runner import PodRunner
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster

Json = dict[str, Any]


def _pod(name: str, command: list[str], **spec: Any) -> Json:
    container = {
        "name": "main",
        "image": "ignored.invalid/by-the-pod-runner",
        "command": command,
        **spec.pop("container", {}),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 5,
            "containers": [container],
            **spec,
        },
    }


def _read_pod(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Pod | None:
    try:
        return core.read_namespaced_pod(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def _phase(core: client.CoreV1Api, namespace: str, name: str, phases: tuple[str, ...]) -> str | None:
    pod = _read_pod(core, namespace, name)
    phase = pod.status.phase if pod is not None else None
    return phase if phase in phases else None


def _ready_pod_ip(core: client.CoreV1Api, namespace: str, name: str) -> str | None:
    pod = _read_pod(core, namespace, name)
    if pod is None or pod.status.pod_ip is None:
        return None
    ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    return pod.status.pod_ip if ready else None


def test_crd_validation_rule_rejects_a_bad_object_with_the_rules_message(
    k8s_client: client.ApiClient, namespace: str
) -> None:
    extensions = client.ApiextensionsV1Api(k8s_client)
    group, plural = "smoke.test.metaferry.io", "ranges"
    rule = {"rule": "self.min <= self.max", "message": "min must not exceed max"}
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-validations": [rule],
                "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
            }
        },
    }
    extensions.create_custom_resource_definition(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": plural, "singular": "range", "kind": "Range"},
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
            },
        }
    )
    try:
        wait_for(
            lambda: any(
                c.type == "Established" and c.status == "True"
                for c in extensions.read_custom_resource_definition(f"{plural}.{group}").status.conditions or []
            ),
            what="the CRD to be established",
        )
        objects = client.CustomObjectsApi(k8s_client)

        def create(name: str, low: int, high: int) -> Json:
            body = {
                "apiVersion": f"{group}/v1",
                "kind": "Range",
                "metadata": {"name": name},
                "spec": {"min": low, "max": high},
            }
            return cast(Json, objects.create_namespaced_custom_object(group, "v1", namespace, plural, body))

        assert wait_for(lambda: _created_once_served(lambda: create("good", 1, 2)), what="the CRD to be served")
        with pytest.raises(ApiException) as refused:
            create("bad", 3, 2)
        assert refused.value.status == 422
        assert "min must not exceed max" in json.loads(refused.value.body)["message"]
    finally:
        extensions.delete_custom_resource_definition(f"{plural}.{group}")


def _created_once_served(create: Any) -> Json | None:
    """Right after Established the new resource can still be 404 for a moment; None means try again."""
    try:
        created: Json = create()
        return created
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def test_deployment_pod_is_started_and_answers_http_at_its_pod_ip(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    apps, core = client.AppsV1Api(k8s_client), client.CoreV1Api(k8s_client)
    labels = {"app": "web"}
    container = {
        "name": "web",
        "image": "python:3-slim",
        "command": ["python3", "-m", "http.server", "8080", "--bind", "$(POD_IP)"],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
    }
    apps.create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
    )
    wait_for(
        lambda: apps.read_namespaced_deployment("web", namespace).status.available_replicas == 1,
        timeout=60,
        what="the Deployment to become available",
    )
    pod = core.list_namespaced_pod(namespace, label_selector="app=web").items[0]
    assert [owner.kind for owner in pod.metadata.owner_references or []] == ["ReplicaSet"]
    assert pod.spec.node_name == pod_runner.node_name
    assert pod.status.pod_ip.startswith("127.")
    with urllib.request.urlopen(f"http://{pod.status.pod_ip}:8080/", timeout=5) as response:
        assert response.status == 200
    assert "GET / HTTP" in pod_runner.logs(namespace, pod.metadata.name)


def test_deleting_the_owner_garbage_collects_what_it_owns(k8s_client: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(k8s_client)
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_secret(namespace, {"metadata": {"name": "owned", "ownerReferences": [reference]}})
    core.delete_namespaced_config_map("owner", namespace)
    wait_for(
        lambda: not any(s.metadata.name == "owned" for s in core.list_namespaced_secret(namespace).items),
        what="the owned Secret to be garbage-collected",
    )


def test_privileged_pod_is_refused_in_a_restricted_namespace(k8s_client: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(k8s_client)
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(
            namespace, _pod("privileged", ["true"], container={"securityContext": {"privileged": True}})
        )
    assert refused.value.status == 403
    assert 'violates PodSecurity "restricted' in json.loads(refused.value.body)["message"]


IN_CLUSTER_CHECK = textwrap.dedent("""
    from kubernetes import client, config
    config.load_incluster_config()
    namespace = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
    core = client.CoreV1Api()
    print("configmaps", len(core.list_namespaced_config_map(namespace).items) >= 0)
    try:
        core.list_namespaced_secret(namespace)
        print("secrets allowed")
    except client.ApiException as error:
        print("secrets", error.status)
""")


def test_pod_service_account_token_is_accepted_and_limited_by_rbac(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    core, rbac = client.CoreV1Api(k8s_client), client.RbacAuthorizationV1Api(k8s_client)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "reader"}})
    rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "read-config"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "reader-reads-config"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-config"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
        },
    )
    core.create_namespaced_pod(
        namespace, _pod("in-cluster", ["python3", "-c", IN_CLUSTER_CHECK], serviceAccountName="reader")
    )
    assert (
        wait_for(
            lambda: _phase(core, namespace, "in-cluster", ("Succeeded", "Failed")),
            timeout=60,
            what="the pod to finish",
        )
        == "Succeeded"
    ), pod_runner.logs(namespace, "in-cluster")
    output = pod_runner.logs(namespace, "in-cluster")
    assert "configmaps True" in output
    assert "secrets 403" in output


def test_config_map_and_secret_reach_the_process_as_files_and_env(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings"}, "data": {"greeting": "hello"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}})
    mount = "/etc/metaferry-smoke"
    script = (
        f"cat {mount}/config/greeting; echo; cat {mount}/secret/password; echo; "
        'echo "env=$PASSWORD from=$greeting expanded=$LABEL"; touch /etc/metaferry-smoke/secret/x || echo ro'
    )
    pod = _pod(
        "reader",
        ["sh", "-c", script],
        volumes=[
            {"name": "config", "configMap": {"name": "settings"}},
            {"name": "secret", "secret": {"secretName": "creds"}},
        ],
        container={
            "volumeMounts": [
                {"name": "config", "mountPath": f"{mount}/config"},
                {"name": "secret", "mountPath": f"{mount}/secret", "readOnly": True},
            ],
            "env": [
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "LABEL", "value": "$(NS)/$$(NS)"},
            ],
            "envFrom": [{"configMapRef": {"name": "settings"}}],
        },
    )
    core.create_namespaced_pod(namespace, pod)
    wait_for(
        lambda: _phase(core, namespace, "reader", ("Succeeded", "Failed")),
        timeout=60,
        what="the pod to finish",
    )
    lines = pod_runner.logs(namespace, "reader").splitlines()
    assert lines[:3] == ["hello", "s3cret", f"env=s3cret from=hello expanded={namespace}/$(NS)"]
    assert lines[-1] == "ro"
    assert not Path(f"{mount}/config/greeting").exists(), "volume mounts must stay in the pod's mount namespace"


def test_an_empty_dir_over_tmp_does_not_hide_other_volumes_sources(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    """The runner keeps volume sources under its work directory (in /tmp here); a pod that mounts an emptyDir
    at /tmp, as every read-only-root pod does, must still get its Secret and service-account token."""
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_secret(namespace, {"metadata": {"name": "tmp-creds"}, "stringData": {"key": "k3y"}})
    token = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    script = f"cat /etc/metaferry-smoke-tmp/key; echo; test -s {token} && echo token; ls -A /tmp"
    pod = _pod(
        "tmp-shadow",
        ["sh", "-c", script],
        volumes=[{"name": "tmp", "emptyDir": {}}, {"name": "creds", "secret": {"secretName": "tmp-creds"}}],
        container={
            "volumeMounts": [
                {"name": "tmp", "mountPath": "/tmp"},
                {"name": "creds", "mountPath": "/etc/metaferry-smoke-tmp", "readOnly": True},
            ]
        },
    )
    core.create_namespaced_pod(namespace, pod)
    wait_for(lambda: _phase(core, namespace, "tmp-shadow", ("Succeeded", "Failed")), timeout=60, what="the pod")
    lines = pod_runner.logs(namespace, "tmp-shadow").splitlines()
    assert lines[:2] == ["k3y", "token"]
    put_back = {p.relative_to("/tmp").parts[0] for p in pod_process.IMAGE_PATHS if Path("/tmp") in p.parents}
    assert set(lines[2:]) <= put_back, "the emptyDir holds nothing but a checkout kept visible under it"


def test_a_volume_over_the_checkout_keeps_the_installed_code_visible(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    """The image stand-in (this checkout and its virtualenv) must survive a volume mounted over a directory that
    contains it, as when the checkout lives under /tmp and the pod mounts an emptyDir at /tmp."""
    core = client.CoreV1Api(k8s_client)
    covering = str(Path(__file__).resolve().parents[2].parent)
    pod = _pod(
        "covered-code",
        ["sh", "-c", f"metaferry-runtime --version && ls -A {covering} | wc -l"],
        volumes=[{"name": "cover", "emptyDir": {}}],
        container={"volumeMounts": [{"name": "cover", "mountPath": covering}]},
    )
    core.create_namespaced_pod(namespace, pod)
    wait_for(lambda: _phase(core, namespace, "covered-code", ("Succeeded", "Failed")), timeout=60, what="the pod")
    lines = pod_runner.logs(namespace, "covered-code").splitlines()
    assert lines[0].startswith("metaferry-runtime ")
    assert lines[1] == "1", "only the checkout is put back inside the covering volume"


SIGTERM_WATCHER = textwrap.dedent("""
    import signal, sys, time
    def stop(signum, frame):
        print("got", signal.Signals(signum).name, flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    print("waiting", flush=True)
    while True:
        time.sleep(0.1)
""")


def test_pod_deletion_sends_sigterm_then_removes_the_pod(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_pod(namespace, _pod("graceful", ["python3", "-c", SIGTERM_WATCHER]))
    wait_for(lambda: "waiting" in pod_runner.logs(namespace, "graceful"), what="the process to start")
    core.delete_namespaced_pod("graceful", namespace, grace_period_seconds=30)
    wait_for(lambda: _read_pod(core, namespace, "graceful") is None, timeout=20, what="the pod to be removed")
    assert f"got {signal.SIGTERM.name}" in pod_runner.logs(namespace, "graceful")


def test_crashing_container_is_restarted_with_back_off(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_pod(namespace, _pod("crasher", ["sh", "-c", "echo started; exit 3"], restartPolicy="Always"))

    def restarted_twice() -> client.V1ContainerStatus | None:
        pod = _read_pod(core, namespace, "crasher")
        statuses = (pod.status.container_statuses or []) if pod else []
        return statuses[0] if statuses and statuses[0].restart_count >= 2 else None

    status = wait_for(restarted_twice, timeout=30, what="two restarts")
    assert status.last_state.terminated.exit_code == 3
    # restartCount counts a restart when the container is started again; its output may come a moment later.
    wait_for(lambda: pod_runner.logs(namespace, "crasher").count("started") >= 3, timeout=10, what="a third start")


def test_a_finished_container_reports_its_termination_message_as_a_kubelet_does(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_pod(
        namespace, _pod("reporter", ["sh", "-c", "echo '{\"ok\": true}' > /dev/termination-log"], restartPolicy="Never")
    )
    spec = {"terminationMessagePolicy": "FallbackToLogsOnError"}
    failing = _pod("failing", ["sh", "-c", "echo first; echo the last words; exit 4"], restartPolicy="Never")
    failing["spec"]["containers"][0].update(spec)
    core.create_namespaced_pod(namespace, failing)

    def terminated(name: str) -> client.V1ContainerStateTerminated | None:
        pod = _read_pod(core, namespace, name)
        statuses = (pod.status.container_statuses or []) if pod else []
        return statuses[0].state.terminated if statuses and statuses[0].state.terminated else None

    assert wait_for(lambda: terminated("reporter"), timeout=30, what="reporter to end").message == '{"ok": true}\n'
    ended = wait_for(lambda: terminated("failing"), timeout=30, what="failing to end")
    assert (ended.exit_code, ended.message) == (4, "first\nthe last words")


def test_pod_logs_come_through_the_api_server_as_kubectl_logs_reads_them(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str, control_plane: ControlPlane
) -> None:
    core = client.CoreV1Api(k8s_client)
    script = "for i in 1 2 3 4 5; do echo line $i; done; sleep 2; echo late line; sleep 30"
    core.create_namespaced_pod(namespace, _pod("talker", ["sh", "-c", script]))
    wait_for(lambda: "line 5" in pod_runner.logs(namespace, "talker"), timeout=30, what="the first lines")

    assert core.read_namespaced_pod_log("talker", namespace).startswith("line 1\nline 2\n")
    assert core.read_namespaced_pod_log("talker", namespace, tail_lines=2) in (
        "line 4\nline 5\n",
        "line 5\nlate line\n",
    )
    assert core.read_namespaced_pod_log("talker", namespace, limit_bytes=6) == "line 1"
    followed = core.read_namespaced_pod_log("talker", namespace, follow=True, _preload_content=False)
    seen = b""
    for chunk in followed.stream(64):
        seen += chunk
        if b"late line" in seen:
            break
    followed.release_conn()
    assert seen.startswith(b"line 1\n") and b"late line\n" in seen

    kubectl = control_plane.bin_dir / "kubectl"
    run = subprocess.run(
        [str(kubectl), "--kubeconfig", str(control_plane.kubeconfig), "logs", "talker", "-n", namespace, "--tail=1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (run.returncode, run.stdout) == (0, "late line\n"), run.stderr
    with pytest.raises(ApiException) as refused:
        core.read_namespaced_pod_log("talker", namespace, previous=True)
    assert refused.value.status == 400 and "does not support previous" in str(refused.value.body)


def test_failing_liveness_probe_restarts_the_container(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    core = client.CoreV1Api(k8s_client)
    probe = {"tcpSocket": {"port": 9}, "periodSeconds": 1, "failureThreshold": 1}  # nothing listens there
    core.create_namespaced_pod(
        namespace,
        _pod(
            "unhealthy",
            ["sleep", "300"],
            restartPolicy="Always",
            terminationGracePeriodSeconds=1,
            container={"livenessProbe": probe},
        ),
    )
    wait_for(
        lambda: (
            (pod := _read_pod(core, namespace, "unhealthy"))
            and pod.status.container_statuses
            and pod.status.container_statuses[0].restart_count >= 1
        ),
        timeout=30,
        what="a liveness restart",
    )


def test_exec_readiness_probe_runs_in_the_pods_mount_namespace(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "flags"}, "data": {"ready": "yes"}})
    mount = "/etc/metaferry-smoke-exec"
    probe = {"exec": {"command": ["test", "-f", f"{mount}/ready"]}, "periodSeconds": 1}
    pod = _pod(
        "probed",
        ["sleep", "300"],
        terminationGracePeriodSeconds=1,
        volumes=[{"name": "flags", "configMap": {"name": "flags"}}],
        container={"readinessProbe": probe, "volumeMounts": [{"name": "flags", "mountPath": mount}]},
    )
    core.create_namespaced_pod(namespace, pod)
    assert wait_for(lambda: _ready_pod_ip(core, namespace, "probed"), what="the exec probe to pass")
    assert not Path(f"{mount}/ready").exists()


def test_a_pod_the_runner_cannot_run_says_why_and_others_still_run(
    k8s_client: client.ApiClient, pod_runner: PodRunner, namespace: str
) -> None:
    core = client.CoreV1Api(k8s_client)
    nfs = {"name": "data", "nfs": {"server": "nfs.invalid", "path": "/exports"}}
    core.create_namespaced_pod(namespace, _pod("unrunnable", ["true"], volumes=[nfs]))
    core.create_namespaced_pod(namespace, _pod("fine", ["true"]))
    assert wait_for(lambda: _phase(core, namespace, "fine", ("Succeeded",)), what="the good pod to finish")

    def waiting_reason() -> str | None:
        pod = _read_pod(core, namespace, "unrunnable")
        statuses = (pod.status.container_statuses or []) if pod else []
        waiting = statuses[0].state.waiting if statuses else None
        return waiting.reason if waiting and "nfs" in (waiting.message or "") else None

    assert wait_for(waiting_reason, what="the reason to be reported") == "CreateContainerConfigError"


def test_fake_runner_reports_pods_ready_without_running_them(
    k8s_client: client.ApiClient, fake_pod_runner: PodRunner, namespace: str
) -> None:
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_pod(
        namespace, _pod("benchmark", ["false"], nodeSelector={"kubernetes.io/hostname": FAKE_NODE})
    )
    ip = wait_for(lambda: _ready_pod_ip(core, namespace, "benchmark"), what="the fake pod to be ready")
    assert ip.startswith("127.")
    assert fake_pod_runner.logs(namespace, "benchmark") == ""
    lease = client.CoordinationV1Api(k8s_client).read_namespaced_lease(FAKE_NODE, "kube-node-lease")
    assert lease.spec.holder_identity == FAKE_NODE


def test_kubectl_and_helm_work_with_the_fixture_kubeconfig(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    chart = tmp_path / "smoke"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: smoke\nversion: 0.1.0\n")
    (chart / "templates" / "configmap.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-config
        data:
          answer: {{ .Values.answer | quote }}
    """)
    )

    def run(*argv: str) -> str:
        result = subprocess.run(argv, env=control_plane.env, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert Path(run("sh", "-c", "command -v kubectl").strip()).parent == control_plane.bin_dir
    run("helm", "install", "smoke", str(chart), "--namespace", namespace, "--set", "answer=42", "--wait")
    answer = run(
        "kubectl",
        "get",
        "configmap",
        "smoke-config",
        "--namespace",
        namespace,
        "--output",
        "jsonpath={.data.answer}",
    )
    assert answer == "42"
    assert "deployed" in run("helm", "status", "smoke", "--namespace", namespace)
