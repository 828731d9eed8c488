#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for nasbo's tests (or finds the one already running)
# and prints its URL on stdout; everything else goes to stderr.
#
#   NASBO_TEST_POSTGRES=$(bash tests/pg/start.sh) cargo test --workspace
#
# Needs Debian's `postgresql` package (apt-get install -y postgresql). The cluster lives in
# $NASBO_PG_DIR (default /tmp/nasbo-pg), listens on 127.0.0.1:$NASBO_PG_PORT (default 55432)
# with trust authentication for the user `nasbo`, and holds the database `nasbo_test`.
# PostgreSQL refuses to run as root: as root, the cluster runs as the package's `postgres`
# user. Stop it with: pg_ctl -D /tmp/nasbo-pg/data stop (as that user).
set -euo pipefail
dir=${NASBO_PG_DIR:-/tmp/nasbo-pg}
port=${NASBO_PG_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "tests/pg/start.sh: PostgreSQL is not installed: apt-get install -y postgresql" >&2
    exit 1
fi
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir/data" -U nasbo -A trust -E UTF8 >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2 || {
        cat "$dir/server.log" >&2
        exit 1
    }
fi
if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U nasbo -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'nasbo_test'" | grep -q 1; then
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U nasbo nasbo_test >&2
fi
echo "postgres://nasbo@127.0.0.1:$port/nasbo_test"
