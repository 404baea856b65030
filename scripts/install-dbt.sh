#!/usr/bin/env bash
# Install dbt (dbt-core + dbt-duckdb) into a test-only virtualenv, for the dbt-project connector's tests.
#
# dbt pins many packages, so it never goes into the project's .venv: the tests run the `dbt` command of
# ${METAFERRY_DBT_DIR}/<versions>/venv. Idempotent: a second run with the same versions only checks and
# prints. The last line of stdout is the dbt executable. Progress goes to stderr.
#
# Environment:
#   METAFERRY_DBT_DIR  cache root (default ~/.cache/metaferry/dbt); never inside the repo
#   PYTHON             the Python that creates the virtualenv (default python3)
set -euo pipefail

DBT_CORE=1.12.6
DBT_DUCKDB=1.11.1

root=${METAFERRY_DBT_DIR:-$HOME/.cache/metaferry/dbt}
dir=$root/core-$DBT_CORE-duckdb-$DBT_DUCKDB
python=${PYTHON:-python3}

log() { printf 'install-dbt: %s\n' "$*" >&2; }

if [[ -x $dir/venv/bin/dbt && -f $dir/.installed ]]; then
  log "dbt-core $DBT_CORE, dbt-duckdb $DBT_DUCKDB already in $dir"
else
  log "installing dbt-core $DBT_CORE and dbt-duckdb $DBT_DUCKDB into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  "$python" -m venv "$dir/venv"
  pip=("$dir/venv/bin/pip" install --quiet --disable-pip-version-check)
  # dbt-core requires dbt-core-experimental-parser, whose PyPI release is a source package that downloads
  # a binary from outside the registry while it builds; dbt runs without it (it is only used when its
  # experimental flag is set). So dbt-core and dbt-duckdb go in without dependencies, then every other
  # requirement of theirs.
  "${pip[@]}" packaging >&2
  "${pip[@]}" --no-deps "dbt-core==$DBT_CORE" "dbt-duckdb==$DBT_DUCKDB" >&2
  mapfile -t requirements < <("$dir/venv/bin/python" - <<'PY'
import importlib.metadata as metadata
from packaging.requirements import Requirement

for distribution in ("dbt-core", "dbt-duckdb"):
    for line in metadata.requires(distribution) or []:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if requirement.name not in ("dbt-core", "dbt-core-experimental-parser"):
            print(str(requirement))
PY
)
  (( ${#requirements[@]} )) || { log "error: cannot read the requirements of dbt-core and dbt-duckdb"; exit 1; }
  "${pip[@]}" "${requirements[@]}" >&2
  "$dir/venv/bin/dbt" --version >&2
  touch "$dir/.installed"
fi
echo "$dir/venv/bin/dbt"
