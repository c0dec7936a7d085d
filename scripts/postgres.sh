# Sourced by .ci/run and scripts/with_postgres.sh: start_postgres starts a throwaway PostgreSQL
# server (the Debian package, installed if missing) on a Unix socket in $PGROOT and stops it on
# exit; as_pg runs a command as the server's owner.
start_postgres() {
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "installing the postgresql Debian package"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    fi
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    PGROOT=$(mktemp -d /tmp/landkarte-pg.XXXXXX)
    export PGBIN PGROOT
    if [ "$(id -u)" = "0" ]; then
        # initdb refuses to run as root: the server runs as the postgres system user.
        chown postgres:postgres "$PGROOT"
        as_pg() { runuser -u postgres -- "$@"; }
    else
        as_pg() { "$@"; }
    fi
    trap stop_postgres EXIT
    as_pg "$PGBIN/initdb" -D "$PGROOT/data" -A trust -U postgres -E UTF8 >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w \
        -o "-c listen_addresses='' -k $PGROOT -c fsync=off -c synchronous_commit=off" start >/dev/null
    as_pg "$PGBIN/psql" -h "$PGROOT" -U postgres -tAc "SELECT 'PostgreSQL server ' || version()"
}

stop_postgres() {
    as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PGROOT"
}
