"""Secured properties from a mounted Secret: each file in the directory is one property.

Kubernetes mounts Secret volumes with hidden `..data` links; names starting with a dot are skipped. A value
too short to be masked as a whole value is refused here, at load, naming the property and never its value.
"""

from __future__ import annotations

import os
from pathlib import Path

from metaferry_runtime.audit import check_secret_length

SECRETS_DIR_ENV = "METAFERRY_SECRETS_DIR"


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
