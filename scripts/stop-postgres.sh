#!/usr/bin/env bash
# Stop the throw-away PostgreSQL started by start-postgres.sh; `--purge` also removes its directory.
#
# Environment: METAFERRY_PG_DIR as for start-postgres.sh (default /tmp/metaferry-pg).
set -euo pipefail

pg_dir=${METAFERRY_PG_DIR:-/tmp/metaferry-pg}
data=$pg_dir/data

if [[ -f $data/postmaster.pid && -f $pg_dir/bindir ]]; then
  bindir=$(cat "$pg_dir/bindir")
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$(stat -c %U "$data")" -- "$bindir/pg_ctl" -D "$data" -m fast -w stop >&2 || true
  else
    "$bindir/pg_ctl" -D "$data" -m fast -w stop >&2 || true
  fi
fi
if [[ ${1:-} == --purge ]]; then
  rm -rf "$pg_dir"
fi
