"""Secured properties from a mounted Secret: each file in the directory is one property.

Kubernetes mounts Secret volumes with hidden `..data` links; names starting with a dot are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

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
        properties[entry.name] = entry.read_text(encoding="utf-8").rstrip("\n")
    return properties
