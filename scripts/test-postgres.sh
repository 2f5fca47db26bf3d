#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests/test_sweep.py, on loopback in a temporary folder.
# Source it (CI: .ci/run, as root): it installs Debian's postgresql when missing, starts the
# server as the postgres user, creates a database, exports DIGITNET_TEST_POSTGRES (its URL)
# and defines stop_test_postgres, which the sourcing script calls on exit (its EXIT trap) to
# stop and remove the server.
PATH="$PATH:/usr/sbin:/sbin"  # runuser
stop_test_postgres() {
  if [ -n "${PG_DIR:-}" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
as_postgres() {
  # from the server's folder: initdb and pg_ctl step back into the caller's folder, which the
  # postgres user may not be allowed to enter (a checkout under /root)
  (cd "$PG_DIR" && runuser -u postgres -- "$@")
}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "test-postgres: installing Debian's postgresql for the sweep's database test" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
PG_DIR=$(mktemp -d /tmp/digitnet-postgres.XXXXXX)
PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
chown postgres: "$PG_DIR"
as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-locale -E UTF8 >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR" start >/dev/null
as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres digitnet_test
export DIGITNET_TEST_POSTGRES="postgresql+psycopg2://postgres@127.0.0.1:$PG_PORT/digitnet_test"
echo "test-postgres: a server for the tests at $DIGITNET_TEST_POSTGRES" >&2
