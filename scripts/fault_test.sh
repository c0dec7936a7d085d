#!/usr/bin/env bash
# The fault run: load on gunicorn (4 workers) while the PostgreSQL server is stopped for a few
# seconds. Requests in that window must get a clean 503 (Retry-After), the service must recover
# without restarting gunicorn, and every write confirmed to a client must be in the database.
#
#   scripts/fault_test.sh                 # own PostgreSQL server, demo data, 30 s, outage 10–15 s
#   scripts/fault_test.sh --duration 40 --outage-at 15 --outage-for 8   # passed to load_test.py
#
# Without PGROOT it starts a private server like .ci/run (as the postgres user when run as root,
# on a unix socket in a temporary folder, default durability settings) and removes it at the
# end. With PGROOT=DIR it uses the server whose data are in DIR/data and socket in DIR (the one
# .ci/run starts) and leaves it running. DATABASE_NAME (default landkarte_fault) is created and
# seeded if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing the postgresql Debian package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ "$(id -u)" = "0" ]; then
    AS_PG="runuser -u postgres --"
else
    AS_PG=""
fi

OWN_SERVER=0
if [ -z "${PGROOT:-}" ]; then
    OWN_SERVER=1
    PGROOT=$(mktemp -d /tmp/landkarte-fault.XXXXXX)
    [ "$(id -u)" = "0" ] && chown postgres:postgres "$PGROOT"
fi
START="$AS_PG $PGBIN/pg_ctl -D $PGROOT/data -l $PGROOT/server.log -w -o \"-c listen_addresses='' -k $PGROOT\" start"
STOP="$AS_PG $PGBIN/pg_ctl -D $PGROOT/data -m fast -w stop"

cleanup() {
    if [ "$OWN_SERVER" = "1" ]; then
        $AS_PG "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PGROOT"
    elif ! $AS_PG "$PGBIN/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1; then
        # A failed run must not leave the caller's server stopped.
        sh -c "$START" >/dev/null
    fi
}
trap cleanup EXIT

if [ "$OWN_SERVER" = "1" ]; then
    $AS_PG "$PGBIN/initdb" -D "$PGROOT/data" -A trust -U postgres -E UTF8 >/dev/null
    sh -c "$START" >/dev/null
fi

export DATABASE_URL="postgres://postgres@/${DATABASE_NAME:-landkarte_fault}?host=$PGROOT"
echo "== fault run: PostgreSQL in $PGROOT, database ${DATABASE_NAME:-landkarte_fault}"
"$PY" scripts/load_test.py --prepare --duration 30 --outage-at 10 --outage-for 5 \
    --stop-command "$STOP" --start-command "$START" "$@"
