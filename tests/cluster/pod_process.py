"""One container of a pod as a local process, in a private mount namespace.

``unshare --mount --propagation private`` gives each container process its own mount table, and a
small shell prologue bind-mounts the pod's volume directories at the container's ``mountPath``s
(read-only where asked) before it ``exec``s the container's command, so the process id is the
container's. Mount points that do not exist on the host are created there as empty directories or
files (``mkdir -p``): mounts are private, directory entries are not. The process leads its own
session, so signals go to its whole process group.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool


def mount_namespaces_work() -> bool:
    """Whether this process may create mount namespaces and bind-mount (it needs root or CAP_SYS_ADMIN)."""
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "mount", "--bind", "/", "/mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def missing_paths(target: str) -> list[Path]:
    """``target`` and its ancestors that do not exist yet: what the prologue will create on the host."""
    missing = []
    for path in (Path(target), *Path(target).parents):
        if path.exists() or path.is_symlink():
            break
        missing.append(path)
    return missing


def remove_if_empty(paths: Sequence[Path]) -> None:
    """Remove mount points created on the host (deepest first) and the staging directories, once no container
    can be using them (their mounts lived in the containers' private namespaces)."""
    shutil.rmtree(STAGE_ROOT, ignore_errors=True)
    for path in sorted(set(paths), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()
            elif path.is_file() and path.stat().st_size == 0:
                path.unlink()


#: Where each container's volume sources are bound before any of them is mounted at its target. It must lie
#: outside every mountPath: a pod mounting an emptyDir at /tmp would otherwise hide sources kept under /tmp.
STAGE_ROOT = Path("/run/metaferry-pod-runner")


#: Host paths every container needs even under a volume that covers them: the image stand-in (the virtualenv
#: whose console scripts pods run, and the repository whose code it installs in editable mode). A checkout
#: under /tmp would otherwise vanish behind the emptyDir every read-only-root pod mounts at /tmp.
IMAGE_PATHS: tuple[Path, ...] = tuple(
    dict.fromkeys(Path(p).resolve() for p in (sys.prefix, Path(__file__).resolve().parents[2]))
)


def _covered(path: Path, mounts: Sequence[Mount]) -> bool:
    return any(path == Path(m.target) or Path(m.target) in path.parents for m in mounts)


def _prologue(mounts: Sequence[Mount], working_dir: str | None, scratch: Path) -> str:
    """Mount in two phases, as a kubelet's independent mounts behave: first bind every source to a staging
    directory (so no later mount can hide it), then mount the staged sources at their targets, parents first;
    last, put back the image stand-in paths (`IMAGE_PATHS`) that a volume covered."""
    lines = [
        "set -e",
        f"mkdir -p {shlex.quote(str(STAGE_ROOT))}",
        f"stage=$(mktemp -d {shlex.quote(str(STAGE_ROOT))}/c.XXXXXX)",
    ]
    for index, mount in enumerate(mounts):
        staged = f'"$stage/{index}"'
        lines.append(f"mkdir {staged}" if mount.source.is_dir() else f": > {staged}")
        lines.append(f"mount --bind {shlex.quote(str(mount.source))} {staged}")
    kept = [path for path in IMAGE_PATHS if _covered(path, mounts)]
    for index, path in enumerate(kept):
        lines.append(f'mkdir "$stage/image{index}"')
        lines.append(f'mount --bind {shlex.quote(str(path))} "$stage/image{index}"')
    ordered = sorted(enumerate(mounts), key=lambda item: len(Path(item[1].target).parts))
    for index, mount in ordered:
        target = shlex.quote(mount.target)
        if mount.source.is_dir():
            lines.append(f"mkdir -p {target}")
        else:
            lines.append(f"mkdir -p {shlex.quote(os.path.dirname(mount.target))}; [ -e {target} ] || : > {target}")
        lines.append(f'mount --bind "$stage/{index}" {target}')
        if mount.read_only:
            lines.append(f"mount -o remount,bind,ro {target}")
    for index, path in enumerate(kept):
        lines.append(f"mkdir -p {shlex.quote(str(path))}")
        lines.append(f'mount --bind "$stage/image{index}" {shlex.quote(str(path))}')
    if working_dir:  # images carry their working directory; here it exists only if something mounted it
        lines.append(f"cd {shlex.quote(working_dir)} 2>/dev/null || cd {shlex.quote(str(scratch))}")
    lines.append('exec "$@"')
    return "\n".join(lines)


def launch(
    *,
    argv: Sequence[str],
    env: Mapping[str, str],
    mounts: Sequence[Mount],
    working_dir: str | None,
    scratch: Path,
    log_path: Path,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with ``env`` in a new mount namespace holding ``mounts``; output to ``log_path``."""
    scratch.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        _prologue(mounts, working_dir, scratch),
        "container",
    ]
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [*wrapper, *argv],
            env=dict(env),
            cwd=scratch,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop_all(processes: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM every process group, wait up to ``grace`` seconds, SIGKILL what is left, reap all."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(p.poll() is None for p in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in running:
        if process.poll() is None:
            signal_group(process, signal.SIGKILL)
        process.wait()


def exit_code(returncode: int) -> int:
    """Popen reports death by signal N as -N; Kubernetes reports 128+N."""
    return 128 - returncode if returncode < 0 else returncode
