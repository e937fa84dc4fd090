#!/bin/sh
# The official postgres image's contract, as far as deploy/compose.yaml uses it: on an empty
# PGDATA, make a cluster owned by POSTGRES_USER with POSTGRES_PASSWORD and a POSTGRES_DB database,
# reachable over the network with a password; then run `postgres ARGS` as the postgres user.
# Started as that user already (compose.yaml's `user: postgres`), it needs no root step at all.
set -eu
if [ "${1:-}" = postgres ]; then
  shift
  as_postgres=""
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 0700 "$PGDATA"
    as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
    pwfile=$(mktemp) && { chown postgres "$pwfile" 2>/dev/null || true; } && printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    $as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "CREATE DATABASE \"$POSTGRES_DB\"" |
      $as_postgres postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
  exec $as_postgres postgres -c listen_addresses='*' "$@"
fi
exec "$@"
