#!/usr/bin/env bash
# Install the real-world OpenAPI documents the openapi-monitor tests and benchmark read, from the npm
# packages that ship them: GitHub's REST API description (@octokit/openapi) and ReadMe's sample set of
# OpenAPI 3.0/3.1 and Swagger 2.0 documents (@readme/oas-examples).
#
# Idempotent: the documents go to ${METAFERRY_OPENAPI_DOCUMENTS_DIR}/<versions>/, and a second run with
# the same versions only prints the directory, which is the last line of stdout. Progress goes to stderr.
# Only the files the tests use are unpacked (the GitHub package holds 400 MB of variants).
#
# Environment:
#   METAFERRY_OPENAPI_DOCUMENTS_DIR  cache root (default ~/.cache/metaferry/openapi-documents); never in the repo
#   NPM                              the npm command (default: npm on PATH)
set -euo pipefail

OCTOKIT_OPENAPI=@octokit/openapi@23.0.2
OAS_EXAMPLES=@readme/oas-examples@8.2.2

root=${METAFERRY_OPENAPI_DOCUMENTS_DIR:-$HOME/.cache/metaferry/openapi-documents}
key="octokit-openapi-${OCTOKIT_OPENAPI##*@}_oas-examples-${OAS_EXAMPLES##*@}"
target=$root/$key

log() { printf 'install-openapi-documents: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -f $target/.complete ]]; then
  echo "$target"
  exit 0
fi
npm=${NPM:-$(command -v npm || true)}
[[ -n $npm ]] || die "npm is needed to fetch the documents from the npm registry (apt-get install npm)"

work=$(mktemp -d "$root.XXXXXX" 2>/dev/null || { mkdir -p "$root" && mktemp -d "$root/.partial.XXXXXX"; })
trap 'rm -rf "$work"' EXIT
log "fetching $OCTOKIT_OPENAPI and $OAS_EXAMPLES into $target"
(cd "$work" && "$npm" pack --silent "$OCTOKIT_OPENAPI" "$OAS_EXAMPLES" >&2)
mkdir -p "$work/out/github" "$work/out/oas-examples"
tar -xzf "$work"/octokit-openapi-*.tgz -C "$work" package/generated/api.github.com.json
mv "$work/package/generated/api.github.com.json" "$work/out/github/"
rm -rf "$work/package"
tar -xzf "$work"/readme-oas-examples-*.tgz -C "$work" package/2.0 package/3.0 package/3.1
mv "$work/package/2.0" "$work/package/3.0" "$work/package/3.1" "$work/out/oas-examples/"
touch "$work/out/.complete"
mkdir -p "$root"
rm -rf "$target"
mv "$work/out" "$target"
log "done"
echo "$target"
