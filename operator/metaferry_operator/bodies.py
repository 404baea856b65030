"""What the reconciler keeps and reads of an IntegrationConnector's body, kept small on purpose."""

from __future__ import annotations

from metaferry_operator.json_types import Json


def without_managed_fields(body: Json) -> Json:
    """The body minus ``metadata.managedFields``, which no step reads: with 1,000 connectors the copies kept
    here would otherwise be a large share of the operator's memory (shallow copy; the watch's body is shared)."""
    meta = body.get("metadata") or {}
    if "managedFields" not in meta:
        return body
    return {**body, "metadata": {key: value for key, value in meta.items() if key != "managedFields"}}


def status_of(written: Json) -> Json:
    """Of a status patch's answer, only what :meth:`reconciler.ConnectorReconciler.observe` and the next pass read."""
    return {
        "metadata": {"resourceVersion": written.get("metadata", {}).get("resourceVersion", "0")},
        "status": written.get("status") or {},
    }


def secret_name(body: Json) -> str | None:
    ref = (body.get("spec", {}).get("connection") or {}).get("secretRef") or {}
    name = ref.get("name")
    return name if isinstance(name, str) else None


def resource_version(body: Json) -> int:
    try:
        return int(body.get("metadata", {}).get("resourceVersion", "0"))
    except ValueError:
        return 0
