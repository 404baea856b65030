#!/bin/sh
# Stand-in for the official PostgreSQL image's entrypoint, for pods run by the test pod runner (which ignores
# images; this directory is on every pod's PATH). Same contract as the image's `docker-entrypoint.sh postgres`:
#
# - PGDATA (default /var/lib/postgresql/data) empty: initdb with POSTGRES_USER (default postgres) as
#   superuser and POSTGRES_PASSWORD as its password (required), scram-sha-256 for every TCP connection,
#   trust on the Unix socket, then create POSTGRES_DB (default POSTGRES_USER) on a socket-only server;
# - then exec postgres with the remaining arguments, on PGPORT (default 5432).
#
# Differences, because every pod shares the host's network and runs as root: the server listens on the
# pod's own address (METAFERRY_LISTEN_HOST, which the runner sets to the pod IP) instead of '*', and, run
# as root, it drops to the host's `postgres` user (the image drops to its uid 999 the same way). The
# binaries are the host's (scripts/start-postgres.sh installs them from Debian).
set -eu

if [ "${1:-}" != postgres ]; then
  exec "$@"
fi
shift

if ! command -v postgres >/dev/null 2>&1; then
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/postgres" ]; then PATH="$dir:$PATH"; export PATH; break; fi
  done
fi
command -v postgres >/dev/null 2>&1 || {
  echo "docker-entrypoint.sh (test stand-in): no PostgreSQL server binaries; install them with scripts/start-postgres.sh (make postgres)" >&2
  exit 127
}

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGPORT:=5432}"
export PGDATA PGPORT
socket_dir=/var/run/postgresql

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" "$socket_dir"
  chown postgres "$PGDATA" "$socket_dir"
  chmod 0700 "$PGDATA"
  chmod 3777 "$socket_dir"
  as_postgres() { setpriv --reuid postgres --regid postgres --init-groups -- "$@"; }
  cd /
else
  as_postgres() { "$@"; }
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "docker-entrypoint.sh: Database is uninitialized and superuser password is not specified (POSTGRES_PASSWORD)" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  chmod 0644 "$pwfile"
  as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >&2 || { rm -f "$pwfile"; exit 1; }
  rm -f "$pwfile"
  printf '\nhost all all all scram-sha-256\n' | as_postgres tee -a "$PGDATA/pg_hba.conf" >/dev/null
  # A socket-only server to create the database, as the image's init step does (on a socket of its own,
  # so nothing probing the usual one takes it for the real server).
  init_socket=$(mktemp -d)
  [ "$(id -u)" = 0 ] && chown postgres "$init_socket"
  as_postgres pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$init_socket" start >&2
  if [ "$POSTGRES_DB" != postgres ]; then
    as_postgres psql -v ON_ERROR_STOP=1 -h "$init_socket" -U "$POSTGRES_USER" -d postgres -qc "CREATE DATABASE \"$POSTGRES_DB\"" >&2
  fi
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >&2
  rm -rf "$init_socket"
  echo "docker-entrypoint.sh: PostgreSQL init process complete; ready for start up." >&2
fi

listen=${METAFERRY_LISTEN_HOST:-*}
if [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid postgres --regid postgres --init-groups -- \
    postgres -c "listen_addresses=$listen" -c "unix_socket_directories=$socket_dir" "$@"
fi
exec postgres -c "listen_addresses=$listen" -c "unix_socket_directories=$socket_dir" "$@"
