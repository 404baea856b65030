"""A small async client for the Kubernetes API over httpx, for the few calls the reconciler makes.

kopf owns the watches; the reconciler needs only get, server-side apply, create, status patch and event
posting, for a handful of kinds. The official ``kubernetes`` client is synchronous (a thread per call), so
this module borrows only its configuration loading (in-cluster service account, else kubeconfig, with the
same token refresh) and speaks HTTP itself, keeping hundreds of connectors on one event loop.

Requests wait for a slot on an asyncio semaphore sized like the connection pool before they reach httpx:
httpcore's pool rescans every queued request whenever one finishes, so a thousand connectors queueing
there at once cost quadratic CPU (measured: a third of the operator's time at 1,000 connectors), while a
semaphore hands slots over in constant time and in arrival order.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from typing import Any

import httpx
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

Json = dict[str, Any]

_PLURALS = {
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Service": "services",
    "Pod": "pods",
    "Event": "events",
    "Deployment": "deployments",
    "NetworkPolicy": "networkpolicies",
}


class ApiError(Exception):
    """A non-2xx answer; ``status`` is the HTTP code, the message is the API server's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def object_path(
    *, api_version: str, kind: str, namespace: str, name: str | None = None, plural: str | None = None
) -> str:
    """The REST path of a namespaced object (or of its collection when ``name`` is None)."""
    prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    path = f"{prefix}/namespaces/{namespace}/{plural or _PLURALS[kind]}"
    return f"{path}/{name}" if name else path


def load_configuration() -> k8s_client.Configuration:
    """In-cluster credentials when running in a pod, else the kubeconfig ($KUBECONFIG or ~/.kube/config)."""
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        # $KUBECONFIG read now, not when the kubernetes package was imported
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    return configuration


class KubeClient:
    """Async calls to one API server; create with :meth:`connect`, close with :meth:`aclose`."""

    def __init__(
        self, configuration: k8s_client.Configuration, *, timeout: float = 30.0, max_connections: int = 50
    ) -> None:
        self._configuration = configuration
        self._slots = asyncio.Semaphore(max_connections)
        context: ssl.SSLContext | bool = False
        if configuration.verify_ssl:
            context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
            if configuration.cert_file:
                context.load_cert_chain(configuration.cert_file, configuration.key_file)
        self._http = httpx.AsyncClient(
            base_url=configuration.host.rstrip("/"),
            verify=context,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            trust_env=False,
        )

    @classmethod
    def connect(cls, *, timeout: float = 30.0, max_connections: int = 50) -> KubeClient:
        return cls(load_configuration(), timeout=timeout, max_connections=max_connections)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self._configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        if token:
            headers["Authorization"] = token if token.lower().startswith("bearer ") else f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
    ) -> Json:
        content = json.dumps(body).encode() if body is not None else None
        async with self._slots:
            response = await self._http.request(
                method, path, content=content, params=params, headers=self._headers(content_type if content else None)
            )
        if response.status_code >= 300:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ApiError(response.status_code, str(message)[:1000])
        result: Json = response.json() if response.content else {}
        return result

    async def get(self, path: str) -> Json | None:
        """The object, or None when it does not exist."""
        try:
            return await self._request("GET", path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def list(self, path: str, *, label_selector: str | None = None) -> list[Json]:
        params = {"labelSelector": label_selector} if label_selector else None
        items: list[Json] = (await self._request("GET", path, params=params)).get("items", [])
        return items

    async def create(self, path: str, body: Json) -> Json:
        return await self._request("POST", path, body=body, content_type="application/json")

    async def apply(self, manifest: Json, *, field_manager: str) -> Json:
        """Server-side apply (forced: the operator owns these fields; a hand edit is drift to undo)."""
        meta = manifest["metadata"]
        path = object_path(
            api_version=manifest["apiVersion"], kind=manifest["kind"], namespace=meta["namespace"], name=meta["name"]
        )
        return await self._request(
            "PATCH",
            path,
            body=manifest,
            content_type="application/apply-patch+yaml",
            params={"fieldManager": field_manager, "force": "true"},
        )

    async def merge_patch(self, path: str, patch: Json) -> Json:
        return await self._request("PATCH", path, body=patch, content_type="application/merge-patch+json")

    async def delete(self, path: str) -> None:
        try:
            await self._request("DELETE", path)
        except ApiError as error:
            if error.status != 404:
                raise
