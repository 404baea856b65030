"""Find the binaries that ``scripts/install-test-tools.sh`` built, without running it again.

The script records the directory it installed into as the symlink ``$METAFERRY_TOOLS_DIR/current``;
``METAFERRY_TOOLS_BIN`` overrides that for a hand-made set of binaries.
"""

from __future__ import annotations

import os
from pathlib import Path

REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "helm")
INSTALL_HINT = "run scripts/install-test-tools.sh (make test does it for you)"


class ToolsMissing(RuntimeError):
    """The control-plane binaries are not installed."""


def tools_root() -> Path:
    configured = os.environ.get("METAFERRY_TOOLS_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "metaferry" / "tools"


def bin_dir() -> Path:
    """The directory holding every tool in :data:`REQUIRED`, or :class:`ToolsMissing` saying how to fix it."""
    override = os.environ.get("METAFERRY_TOOLS_BIN")
    candidate = Path(override) if override else tools_root() / "current" / "bin"
    missing = [name for name in REQUIRED if not os.access(candidate / name, os.X_OK)]
    if missing:
        raise ToolsMissing(
            f"the cluster test tools are not installed in {candidate} (missing: {', '.join(missing)}): {INSTALL_HINT}"
        )
    return candidate.resolve()
