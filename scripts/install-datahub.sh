#!/usr/bin/env bash
# Install DataHub's ingestion CLI (PyPI acryl-datahub, with its PostgreSQL source plugin) into a virtualenv
# of its own, for the catalog-exchange tests only: they check that `datahub ingest` reads what the connector
# exports and that the connector reads what `datahub ingest` writes. metaferry never imports it.
#
# Idempotent: the virtualenv is ${METAFERRY_DATAHUB_DIR}/<version>/ and a second run only checks that its
# `datahub` runs. The last line of stdout is the virtualenv's bin directory; progress goes to stderr.
#
# Environment:
#   METAFERRY_DATAHUB_DIR      cache root (default ~/.cache/metaferry/datahub); never inside the repo
#   METAFERRY_DATAHUB_VERSION  the acryl-datahub version (default below)
#   PYTHON                     the Python that creates the virtualenv (default python3)
set -euo pipefail

version=${METAFERRY_DATAHUB_VERSION:-1.7.0.17}
root=${METAFERRY_DATAHUB_DIR:-$HOME/.cache/metaferry/datahub}
python=${PYTHON:-python3}
dest=$root/$version
bin=$dest/bin

log() { printf 'install-datahub: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

works() { [[ -f $dest/.complete ]] && "$bin/datahub" version >/dev/null 2>&1; }

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9  # one install at a time per cache root

if works; then
  log "acryl-datahub $version already installed"
else
  command -v "$python" >/dev/null || die "$python not found (set PYTHON=/path/to/python3)"
  rm -rf "$dest"
  log "installing acryl-datahub[postgres]==$version into $dest"
  started=$SECONDS
  "$python" -m venv "$dest" || die "$python -m venv failed (Debian: apt-get install python3-venv)"
  "$bin/pip" install --quiet --disable-pip-version-check "acryl-datahub[postgres]==$version" >&2 \
    || die "pip install acryl-datahub[postgres]==$version failed (see above)"
  "$bin/datahub" version >&2 || die "the installed datahub does not run"
  touch "$dest/.complete"
  log "acryl-datahub installed in $((SECONDS - started))s"
fi

echo "$bin"
