"""The user's cluster, reached as kubectl reaches it: kubeconfig, context and namespace from the same places."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from metaferry_cli.errors import CliError
from metaferry_operator import naming
from metaferry_operator.json_types import Json


@dataclass
class Cluster:
    """IntegrationConnectors and their Events in one namespace (or all of them, for listing)."""

    api: client.ApiClient
    namespace: str
    all_namespaces: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Cluster:
        try:
            contexts, active = config.list_kube_config_contexts(config_file=args.kubeconfig)  # type: ignore[no-untyped-call]
            chosen = next((c for c in contexts if c["name"] == args.context), None) if args.context else active
            if args.context and chosen is None:
                raise CliError(f"no context {args.context!r} in the kubeconfig")
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=args.kubeconfig, context=args.context
            )
        except ConfigException as error:
            raise CliError(f"cannot load the kubeconfig: {error}") from None
        namespace = args.namespace or (chosen or {}).get("context", {}).get("namespace") or "default"
        return cls(api=api, namespace=namespace, all_namespaces=bool(getattr(args, "all_namespaces", False)))

    @property
    def _objects(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def get(self, name: str) -> Json:
        return cast(Json, self._call(self._objects.get_namespaced_custom_object, name=name))

    def connectors(self) -> list[Json]:
        if self.all_namespaces:
            found = self._call(self._objects.list_cluster_custom_object)
        else:
            found = self._call(self._objects.list_namespaced_custom_object, namespace=self.namespace)
        return cast(list[Json], found["items"])

    def patch(self, name: str, body: Json) -> Json:
        """A JSON merge patch of the resource (annotations, spec.suspend): the fields it names, nothing else."""
        return cast(Json, self._call(self._objects.patch_namespaced_custom_object, name=name, body=body))

    def events(self, name: str) -> list[Json]:
        """The connector's Events, oldest first, as `kubectl describe` shows them."""
        selector = f"involvedObject.name={name},involvedObject.kind={naming.RESOURCE_KIND}"
        try:
            found = client.CoreV1Api(self.api).list_namespaced_event(self.namespace, field_selector=selector)
        except (ApiException, HTTPError) as error:
            raise CliError(f"cannot read the Events of {name}: {_reason(error)}") from None
        events = [self.api.sanitize_for_serialization(event) for event in found.items]  # type: ignore[no-untyped-call]
        return sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))

    def _call(self, method: Any, **arguments: Any) -> Any:
        where = {"group": naming.GROUP, "version": naming.VERSION, "plural": naming.RESOURCE_PLURAL}
        if "namespace" not in arguments and method.__name__ != "list_cluster_custom_object":
            arguments["namespace"] = self.namespace
        try:
            return method(**where, **arguments, _request_timeout=30)
        except ApiException as error:
            if error.status == 404 and "name" in arguments:
                raise CliError(
                    f"no IntegrationConnector {arguments['name']!r} in namespace {self.namespace!r}"
                ) from None
            raise CliError(f"the API server refused: {_reason(error)}") from None
        except HTTPError as error:
            raise CliError(f"cannot reach the API server: {error}") from None


def _reason(error: Exception) -> str:
    if isinstance(error, ApiException):
        return f"{error.status} {error.reason}"
    return str(error)
