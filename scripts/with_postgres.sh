#!/usr/bin/env bash
# scripts/with_postgres.sh DBNAME COMMAND...: runs COMMAND with DATABASE_URL pointing at database
# DBNAME on a throwaway PostgreSQL server started (and stopped) here.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/postgres.sh
dbname=$1
shift
start_postgres
DATABASE_URL="postgres://postgres@/$dbname?host=$PGROOT" "$@"
