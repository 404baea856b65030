"""Reaching the API server: an ApiClient from a kubeconfig path or the pod's ServiceAccount, and errors users act on.

Objects are read as JSON dictionaries (`_preload_content=False`), not the client's generated models: on a
2,000-Deployment cluster deserializing into models costs more than the list itself, and the connector reads
only a few fields of each object.

A refusal (401, 403) or a kubeconfig that cannot be loaded is a configuration problem a retry will not fix
(CONFIG_FAILED); an unreachable server or a 5xx is a failure the runtime retries with backoff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from metaferry_runtime.sdk import ConnectorConfigurationError, ConnectorError

Json = dict[str, Any]


def api_client(endpoint: str | None) -> tuple[client.ApiClient, str]:
    """A client for the kubeconfig at `endpoint` (its current context), or the in-cluster ServiceAccount's when
    there is no endpoint; and a description of where it points, for messages (never a credential)."""
    configuration = client.Configuration()
    try:
        if endpoint:
            path = os.path.expanduser(endpoint)
            if not os.path.isfile(path):
                raise ConnectorConfigurationError(f"connection.endpoint {endpoint} is not a kubeconfig file")
            config.load_kube_config(config_file=path, client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except ConfigException as error:
        where = f"the kubeconfig {endpoint}" if endpoint else "the pod's ServiceAccount (no connection.endpoint)"
        raise ConnectorConfigurationError(f"cannot load {where}: {error}") from None
    configuration.connection_pool_maxsize = 16  # one connection per watch (eleven), and the lists
    configuration.retries = 0  # the runtime retries a failed refresh with backoff; one attempt per call here
    return client.ApiClient(configuration), str(configuration.host)


def api_error(error: Exception, *, server: str, what: str) -> ConnectorError:
    """The error to raise for a failed call: a refusal is configuration, anything else is retried."""
    if isinstance(error, ApiException):
        reason = reason_of(error)
        if error.status in (401, 403):
            return ConnectorConfigurationError(
                f"the API server {server} refused to let the connector {what} ({error.status}: {reason}): grant the"
                " read-only ClusterRole in the README's kubernetes-cluster section"
            )
        return ConnectorError(f"the API server {server} failed to {what} ({error.status}: {reason})")
    return ConnectorError(f"cannot reach the API server {server} to {what}: {type(error).__name__}: {error}")


def reason_of(error: ApiException) -> str:
    try:
        return str(json.loads(error.body or "{}").get("message") or error.reason)
    except (ValueError, AttributeError):
        return str(error.reason)


REACH_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)


def request(api: client.ApiClient, path: str, *, timeout: float | tuple[float, float], **query: Any) -> Any:
    """GET a path of the API; the urllib3 response, unread (a watch streams it). ApiException for a non-2xx."""
    params = [(key, value) for key, value in query.items() if value not in (None, "")]
    method, url, headers, body, post = api.param_serialize(
        "GET", path, query_params=params, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
    )
    response = api.call_api(method, url, headers, body, post, _request_timeout=timeout).response
    if not 200 <= response.status <= 299:
        try:
            raise ApiException(http_resp=response)
        finally:
            response.release_conn()
    return response


def get_json(api: client.ApiClient, path: str, *, timeout: int, **query: Any) -> Json:
    """GET a path of the API as a dictionary."""
    response = request(api, path, timeout=timeout, **query)
    try:
        data: Json = json.loads(response.data)
    finally:
        response.release_conn()
    return data


def list_all(
    api: client.ApiClient, path: str, *, timeout: int, page_size: int, label_selector: str = ""
) -> tuple[list[Json], str]:
    """Every object at a collection path, page by page; and the list's resourceVersion (for a watch to start at)."""
    items: list[Json] = []
    token: str | None = None
    while True:
        page = get_json(
            api, path, timeout=timeout, limit=page_size, labelSelector=label_selector, **{"continue": token}
        )
        items.extend(page.get("items") or ())
        metadata = page.get("metadata") or {}
        token = metadata.get("continue")
        if not token:
            return items, str(metadata.get("resourceVersion") or "")


def lines(response: Any) -> Iterator[bytes]:
    """The lines of a streaming response, as the watch protocol sends one JSON event per line."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=False):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                yield line
    if pending.strip():
        yield pending
