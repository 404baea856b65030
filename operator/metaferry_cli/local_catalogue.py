"""A private catalogue API over a local repository, for `--repository URL` (no cluster, no running catalogue).

The CLI stays a client of the catalogue API (it never reads the repository itself): it starts
`metaferry-catalog serve` on a free loopback port with a one-off curator token for this user, waits until it
answers, and stops it when the command ends. So `metaferry search` after `metaferry-runtime run` on SQLite
shows what a cluster's catalogue would, curated edits included.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from metaferry_cli.errors import CliError

START_SECONDS = 30.0
REPOSITORY_ENV = "METAFERRY_REPOSITORY_URL"  # what `metaferry-catalog serve` reads without --repository


@contextmanager
def local_catalogue(repository_url: str) -> Iterator[tuple[str, str]]:
    """(base URL, token) of a catalogue serving `repository_url` until the block ends."""
    _require_existing_sqlite(repository_url)
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="metaferry-catalogue-") as scratch:
        tokens = Path(scratch) / "tokens"
        tokens.touch(mode=0o600)
        tokens.write_text(f"{token} user={_user()} curator\n")
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "metaferry_catalog.cli", "serve", "--port", str(port), "--token-file", str(tokens)],
            env={**os.environ, REPOSITORY_ENV: repository_url},  # not in argv, where `ps` would show a password
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_serving(process, base)
            yield base, token
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _require_existing_sqlite(repository_url: str) -> None:
    """Opening a SQLite file creates it: a mistyped path would show an empty catalogue instead of an error."""
    if not repository_url.startswith("sqlite:///") or ":memory:" in repository_url:
        return
    path = Path(repository_url.removeprefix("sqlite:///").split("?", 1)[0])
    if not path.is_file():
        raise CliError(f"no repository at {path}: a connector run with --repository {repository_url} creates it")


def _wait_until_serving(process: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = (process.stderr.read() if process.stderr else "").strip().splitlines()
            starts = [i for i, line in enumerate(said) if line.startswith("metaferry-catalog: ")]
            reason = " ".join(line.strip() for line in said[starts[-1] :]) if starts else "\n".join(said[-5:])
            reason = reason.removeprefix("metaferry-catalog: ") or f"exit code {process.returncode}"
            raise CliError(f"cannot serve the repository: {reason}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise CliError(f"the local catalogue did not answer within {START_SECONDS:g}s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _user() -> str:
    """The curator name local edits are recorded under: the OS user, as a command line's actor."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = f"uid-{os.getuid()}"
    return "".join(c for c in name if not c.isspace()) or "local"
