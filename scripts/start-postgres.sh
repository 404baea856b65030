#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the tests and benchmarks; idempotent.
#
# Installs PostgreSQL from Debian when no server binaries are found, creates a data directory under
# ${METAFERRY_PG_DIR}, starts the server as an unprivileged OS user (PostgreSQL refuses root), creates
# the database and writes its URL to ${METAFERRY_PG_DIR}/url. The last line of stdout is that URL;
# progress goes to stderr. A second run with the server up only prints the URL.
#
# The server is for tests: trust authentication on 127.0.0.1 only, and (unless METAFERRY_PG_DURABLE=1)
# fsync off, which makes it fast and loses nothing on a clean restart but is unsafe on a power cut.
#
# Environment:
#   METAFERRY_PG_DIR      where data, log, socket and url live (default /tmp/metaferry-pg)
#   METAFERRY_PG_PORT     port to listen on (default: 55432 if free, else any free port)
#   METAFERRY_PG_DURABLE  1 = keep fsync on (default 0)
set -euo pipefail

pg_dir=${METAFERRY_PG_DIR:-/tmp/metaferry-pg}
db_user=metaferry
db_name=metaferry

log() { printf 'start-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n $dir && -x $dir/pg_ctl ]]; then echo "$dir"; return; fi
  if command -v pg_ctl >/dev/null; then dirname "$(command -v pg_ctl)"; return; fi
  echo ""
}

bindir=$(find_bindir)
if [[ -z $bindir ]]; then
  [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root"
  log "installing PostgreSQL from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
  bindir=$(find_bindir)
  [[ -n $bindir ]] || die "PostgreSQL installed but pg_ctl not found"
fi

# PostgreSQL will not run as root: use the postgres OS user (created by the Debian package) or make one.
if [[ $(id -u) -eq 0 ]]; then
  os_user=postgres
  id "$os_user" >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin "$os_user"
  as_db() { runuser -u "$os_user" -- "$@"; }
else
  os_user=$(id -un)
  as_db() { "$@"; }
fi

mkdir -p "$pg_dir"
[[ $(id -u) -eq 0 ]] && chown "$os_user" "$pg_dir"
chmod 0755 "$pg_dir"

# One start at a time: tests of several sessions may call this together.
exec 9>"$pg_dir/.lock"
flock 9

# Free = PostgreSQL could listen on it. PostgreSQL sets SO_REUSEADDR, so a port that still has the
# sockets of connections a stopped server closed (FIN_WAIT2, TIME_WAIT) is free to it: test it the
# same way, or a restarted server would move to another port under clients that know the old one.
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

data=$pg_dir/data
if [[ -f $pg_dir/url && -f $data/postmaster.pid ]]; then
  port=$(sed -n 4p "$data/postmaster.pid" | tr -d ' ')
  if as_db "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    log "already running on port $port"
    running=1
  fi
fi

start_server() {
if [[ ! -f $data/PG_VERSION ]]; then
  log "initialising $data"
  rm -rf "$data"
  as_db "$bindir/initdb" -D "$data" -U "$db_user" --auth=trust -E UTF8 --locale=C >&2
fi

port=${METAFERRY_PG_PORT:-}
if [[ -z $port ]]; then
  if [[ -f $pg_dir/port ]] && port_free "$(cat "$pg_dir/port")"; then port=$(cat "$pg_dir/port")
  elif port_free 55432; then port=55432
  else port=$(free_port)
  fi
fi
echo "$port" >"$pg_dir/port"

fast_opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[[ ${METAFERRY_PG_DURABLE:-0} == 1 ]] && fast_opts=""
log "starting on 127.0.0.1:$port"
as_db "$bindir/pg_ctl" -D "$data" -l "$pg_dir/log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$pg_dir -c max_connections=300 $fast_opts" \
  start >&2 9>&-   # the server must not inherit (and hold) the lock

if ! as_db "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$db_user" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
  as_db "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$db_user" "$db_name" 9>&-
fi
}
[[ -n ${running:-} ]] || start_server

# Members of the role password_login must give a password over TCP (scram-sha-256): the tests of a
# connector's wrong-password error create their users in it. Everyone else keeps trust authentication.
hba=$data/pg_hba.conf
psql_admin() { as_db "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$db_user" -d postgres -qtAc "$1" 9>&-; }
psql_admin "DO \$\$ BEGIN CREATE ROLE password_login NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >&2
if ! grep -q '^host all +password_login ' "$hba"; then
  as_db sed -i '1i host all +password_login 127.0.0.1/32 scram-sha-256' "$hba"
  psql_admin "SELECT pg_reload_conf()" >/dev/null
fi

url="postgresql://$db_user@127.0.0.1:$port/$db_name"
echo "$url" >"$pg_dir/url"
echo "$bindir" >"$pg_dir/bindir"
echo "$url"
