#!/usr/bin/env bash
# Install Open Policy Agent, the server the opa-publisher connector's tests and benchmark publish to.
#
# OPA is built from its Go module with `go install`, so only the Go module proxy is needed. Idempotent:
# the binary goes to ${METAFERRY_OPA_DIR}/<version>/opa and a second run only checks it and prints.
# The Go module and build caches live under the cache root too, so a rebuild after a cache wipe of
# the binary alone is quick. The last line of stdout is the binary's path; progress goes to stderr.
#
# Environment:
#   METAFERRY_OPA_DIR        cache root (default ~/.cache/metaferry/opa); never inside the repo
#   METAFERRY_OPA_VERSION    the OPA module version (default below)
#   METAFERRY_BUILD_TIMEOUT  seconds allowed for the Go build (default 3600)
#   GO                       the go command (default: go on PATH, else /usr/local/go/bin/go)
set -euo pipefail

version=${METAFERRY_OPA_VERSION:-v1.22.4}
root=${METAFERRY_OPA_DIR:-$HOME/.cache/metaferry/opa}
build_timeout=${METAFERRY_BUILD_TIMEOUT:-3600}
dest=$root/$version
binary=$dest/opa

log() { printf 'install-opa: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_go() {
  if [[ -n ${GO:-} ]]; then echo "$GO"
  elif command -v go >/dev/null; then command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go
  else die "no Go toolchain found (needed to build OPA $version); set GO=/path/to/go"
  fi
}

works() { [[ -x $binary ]] && "$binary" version >/dev/null 2>&1; }

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9  # one install at a time per cache root

if works; then
  log "OPA $version already installed"
else
  GO=$(find_go)
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  export GOPATH=$root/gopath GOMODCACHE=$root/gopath/pkg/mod GOCACHE=$root/gocache
  rm -rf "$dest.partial"
  mkdir -p "$dest.partial"
  log "building OPA $version with $("$GO" env GOVERSION) (timeout ${build_timeout}s)"
  started=$SECONDS
  GOBIN=$dest.partial timeout "$build_timeout" "$GO" install -trimpath -ldflags "-s -w" \
      "github.com/open-policy-agent/opa@$version" \
    || die "go install github.com/open-policy-agent/opa@$version failed or timed out (see above)"
  log "OPA built in $((SECONDS - started))s"
  "$dest.partial/opa" version >&2 || die "the built opa does not run"
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
fi

echo "$binary"
