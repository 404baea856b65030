"""Secured properties from a mounted Secret: each file in the directory is one property.

Kubernetes mounts Secret volumes with hidden `..data` links; names starting with a dot are skipped. A value
too short to be masked as a whole value is refused here, at load, naming the property and never its value.
A manifest that names a `secretRef` needs that directory: without it the connector would start with no
credentials and fail later in a way that hides the cause, so it is a configuration error instead (in a pod
the operator mounts the Secret and sets the variable; standalone, the user passes the flag).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from metaferry_runtime.audit import check_secret_length

if TYPE_CHECKING:  # the CLI imports this module to build its parser; the models load only when used
    from metaferry_runtime.resource import ConnectorResource

SECRETS_DIR_ENV = "METAFERRY_SECRETS_DIR"
SECRETS_DIR_FLAG = "--secrets-dir"


class SecretsNotMounted(ValueError):
    """The manifest names a Secret, but the runtime was given no directory holding its keys."""


def require_secured_properties(
    resource: ConnectorResource, secured_properties: dict[str, str] | None
) -> dict[str, str]:
    """The secured properties to hand the connector; `None` means no secrets directory was given."""
    if secured_properties is not None:
        return secured_properties
    secret_ref = resource.spec.connection.secret_ref
    if secret_ref is None:
        return {}
    raise SecretsNotMounted(
        f"spec.connection.secretRef names Secret {secret_ref.name!r}, but no secrets directory was given: mount"
        f" the Secret's keys as files and pass {SECRETS_DIR_FLAG} DIR or set {SECRETS_DIR_ENV}"
    )


def read_secured_properties(directory: str | os.PathLike[str] | None) -> dict[str, str]:
    if directory is None:
        return {}
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"secrets directory {root} does not exist")
    properties = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        value = entry.read_text(encoding="utf-8").rstrip("\n")
        check_secret_length(value, name=f"secured property {entry.name!r} ({entry})")
        properties[entry.name] = value
    return properties
