# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000

.PHONY: setup run test lint bench schema browser load fault

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Set up, migrate, load the demo city (idempotent) and serve on 127.0.0.1:8000 (SQLite, DEBUG).
run: setup
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py runserver $(HOST)

# The browser tests drive Debian's chromium package (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Set up and run the whole suite (lint, then pytest, browser tests included) on SQLite, or on
# DATABASE_URL when set.
test: setup browser lint
	@echo "== database: $${DATABASE_URL:-SQLite (default)}"
	SECRET_KEY=$${SECRET_KEY:-landkarte-test-only} $(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Regenerate the committed GraphQL schema after changing types.
schema: setup
	DEBUG=1 $(PY) manage.py graphql_schema --schema landkarte.schema.schema --out schema.graphql

# The benchmark suite (docs/performance.md): builds or reuses the demo landscape at BENCH_SCALE
# (default 50: 12,500 applications, 100,000 incidents), runs every benchmark after a warm-up,
# prints figure, comparison, ratio, SQL queries and target, and writes var/bench/results-*.json.
# POSTGRES=1 runs it on PostgreSQL: DATABASE_URL when set, else a throwaway local server.
BENCH_SCALE ?= 50
BENCH_ARGS ?=
bench: setup
ifdef POSTGRES
	@if [ -n "$${DATABASE_URL:-}" ]; then \
		$(PY) -m tests.benchmarks --postgres --scale $(BENCH_SCALE) $(BENCH_ARGS); \
	else \
		scripts/with_postgres.sh landkarte_bench $(PY) -m tests.benchmarks --postgres \
			--scale $(BENCH_SCALE) $(BENCH_ARGS); \
	fi
else
	$(PY) -m tests.benchmarks --scale $(BENCH_SCALE) $(BENCH_ARGS)
endif

# The load run (docs/operations.md): gunicorn with 4 workers on the PostgreSQL database of
# DATABASE_URL (created, migrated and seeded with the demo city if needed), mixed GraphQL and
# page traffic for LOAD_SECONDS; prints throughput and latency percentiles, fails on any error.
LOAD_SECONDS ?= 30
load: setup
	$(PY) scripts/load_test.py --prepare --duration $(LOAD_SECONDS)

# The fault run: the same load while PostgreSQL is stopped for 5 seconds (own server, or the
# one in PGROOT): clean 503s only, recovery without a restart, no confirmed write lost.
fault: setup
	PY=$(PY) scripts/fault_test.sh
