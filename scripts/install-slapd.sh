#!/usr/bin/env bash
# Install OpenLDAP's slapd and the ldap-utils clients from the Debian packages, for the
# ldap-directory connector's tests and benchmark.
#
# Idempotent: when slapd and ldapadd are already there it only prints where slapd is. The tests start
# their own slapd with a throw-away slapd.conf, so the package's own database is not configured
# (debconf slapd/no_configuration) and no system daemon is started. The last line of stdout is the
# path of the slapd binary. Progress goes to stderr.
#
# Needs root (or password-less sudo) when it has to install.
set -euo pipefail

log() { printf 'install-slapd: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_slapd() {
  for candidate in "$(command -v slapd 2>/dev/null || true)" /usr/sbin/slapd /usr/local/libexec/slapd; do
    if [[ -n $candidate && -x $candidate ]]; then echo "$candidate"; return 0; fi
  done
  return 1
}

if slapd=$(find_slapd) && command -v ldapadd >/dev/null; then
  log "slapd already installed at $slapd"
  echo "$slapd"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found: install OpenLDAP's slapd and ldap-utils with your package manager"
as_root=()
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || die "not root and no sudo: run 'apt-get install -y slapd ldap-utils' as root"
  as_root=(sudo -n)
fi

log "installing slapd and ldap-utils"
echo 'slapd slapd/no_configuration boolean true' | "${as_root[@]}" debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slapd ldap-utils >&2

slapd=$(find_slapd) || die "slapd is still missing after apt-get install"
log "installed slapd at $slapd"
echo "$slapd"
