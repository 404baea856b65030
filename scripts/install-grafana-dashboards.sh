#!/usr/bin/env bash
# Install the real-world Grafana dashboards the grafana-dashboards tests read, from an npm package that ships
# them: swagger-stats (its dashboards/ folder: a Prometheus dashboard in the rows shape of schema version 14,
# one in the flat panels shape of version 26, and a Kibana export that is not a Grafana dashboard at all).
#
# Idempotent: the dashboards go to ${METAFERRY_GRAFANA_DASHBOARDS_DIR}/swagger-stats-<version>/, and a second
# run with the same version only prints the directory, which is the last line of stdout. Progress goes to stderr.
#
# Environment:
#   METAFERRY_GRAFANA_DASHBOARDS_DIR  cache root (default ~/.cache/metaferry/grafana-dashboards); never in the repo
#   NPM                               the npm command (default: npm on PATH)
set -euo pipefail

SWAGGER_STATS=swagger-stats@0.99.7

root=${METAFERRY_GRAFANA_DASHBOARDS_DIR:-$HOME/.cache/metaferry/grafana-dashboards}
target=$root/swagger-stats-${SWAGGER_STATS##*@}

log() { printf 'install-grafana-dashboards: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -f $target/.complete ]]; then
  echo "$target"
  exit 0
fi
npm=${NPM:-$(command -v npm || true)}
[[ -n $npm ]] || die "npm is needed to fetch the dashboards from the npm registry (apt-get install npm)"

mkdir -p "$root"
work=$(mktemp -d "$root/.partial.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "fetching $SWAGGER_STATS into $target"
(cd "$work" && "$npm" pack --silent "$SWAGGER_STATS" >&2)
tar -xzf "$work"/swagger-stats-*.tgz -C "$work" package/dashboards
mv "$work/package/dashboards" "$work/out"
touch "$work/out/.complete"
rm -rf "$target"
mv "$work/out" "$target"
log "done"
echo "$target"
