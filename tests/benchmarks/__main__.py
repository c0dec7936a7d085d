"""The benchmark suite: `make bench` (SQLite) or `make bench POSTGRES=1`.

    python -m tests.benchmarks [--scale 50] [--repeats 5] [--only graphql,graph] [--postgres]

Builds the demo landscape at the given scale with `seed_demo` (or reuses it: on SQLite the
database lives in var/bench/sqlite-scale<K>/, on PostgreSQL in the database of DATABASE_URL),
migrates it, runs every benchmark module's functions inside a transaction that is rolled back
afterwards, prints one table (figure, comparison measured in the same run, ratio, SQL queries,
target, met) and writes it as JSON to var/bench/results-<vendor>-scale<K>.json. The exit status
is 1 when a target is missed (unless --report-only). docs/performance.md explains each row.
"""

import argparse
import datetime
import importlib
import json
import os
import platform
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
MODULES = ["bench_graphql", "bench_graph", "bench_import"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--scale", type=int, default=int(os.environ.get("BENCH_SCALE", 50)))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 5)))
    parser.add_argument(
        "--only", default="", help="comma-separated module names (graphql, graph, import)"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run on the PostgreSQL database of DATABASE_URL (make bench POSTGRES=1 starts one)",
    )
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument(
        "--report-only", action="store_true", help="exit 0 even when a target is missed"
    )
    return parser.parse_args(argv)


def configure(args) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "landkarte.settings")
    os.environ.setdefault("SECRET_KEY", "landkarte-benchmark-only")
    # DEBUG would record every query and turn on graphene's debug middleware.
    os.environ["DEBUG"] = "0"
    if args.postgres:
        if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
            sys.exit("--postgres needs DATABASE_URL (make bench POSTGRES=1 starts a server)")
    else:
        os.environ.pop("DATABASE_URL", None)
        data_dir = BASE_DIR / "var" / "bench" / f"sqlite-scale{args.scale}"
        os.environ["LANDKARTE_DATA_DIR"] = str(data_dir)


SEED_TABLE = "landkarte_benchmark_seed"


def prepare(args, stdout) -> dict:
    """Migrate, then build the landscape unless this scale and seed were built before; returns
    how long the build took (now or when it ran)."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        sys.path.insert(0, str(BASE_DIR / "scripts"))
        from load_test import create_database_if_missing

        create_database_if_missing(os.environ["DATABASE_URL"])
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        # Bookkeeping of the benchmark database only; not part of the product's schema.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {SEED_TABLE} "
            "(scale integer, seed integer, seconds double precision, built varchar(40))"
        )
        cursor.execute(
            f"SELECT seconds, built FROM {SEED_TABLE} WHERE scale = %s AND seed = %s",
            [args.scale, args.seed],
        )
        row = cursor.fetchone()
    if row:
        return {"seconds": row[0], "built": row[1], "reused": True}
    stdout.write(f"building the demo landscape at scale {args.scale} (seed_demo)...\n")
    stdout.flush()
    started = time.perf_counter()
    call_command("seed_demo", scale=args.scale, seed=args.seed, stdout=stdout)
    seconds = time.perf_counter() - started
    built = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SEED_TABLE} (scale, seed, seconds, built) VALUES (%s, %s, %s, %s)",
            [args.scale, args.seed, seconds, built],
        )
    return {"seconds": seconds, "built": built, "reused": False}


def fmt(value, unit="") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    else:
        text = f"{value:,}"
    return f"{text} {unit}".strip()


def table(results) -> str:
    rows = [("benchmark", "figure", "comparison (same run)", "ratio", "SQL", "target", "met")]
    for r in results:
        comparison = (
            f"{fmt(r.comparison, r.comparison_unit or r.unit)} {r.comparison_label}".strip()
            if r.comparison is not None
            else "–"
        )
        met = {True: "yes", False: "NO", None: "reported"}[r.met]
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "–"
        figure = fmt(r.figure, r.unit)
        rows.append((r.name, figure, comparison, ratio, fmt(r.queries), r.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    configure(args)
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import setup_test_environment

    from tests.benchmarks.harness import Context, Result

    setup_test_environment()
    vendor = connection.vendor
    stdout = sys.stdout
    seed = prepare(args, stdout)
    ctx = Context(scale=args.scale, repeats=args.repeats, vendor=vendor)
    results: list[Result] = [
        Result(
            name=f"seed_demo --scale {args.scale}",
            figure=round(seed["seconds"], 1),
            unit="s",
            target="reported",
            met=None,
            details=seed,
        )
    ]
    wanted = {f"bench_{name.strip()}" for name in args.only.split(",") if name.strip()}
    failures = []
    for module_name in MODULES:
        if wanted and module_name not in wanted:
            continue
        module = importlib.import_module(f"tests.benchmarks.{module_name}")
        for fn in module.BENCHMARKS:
            stdout.write(f"running {module_name}.{fn.__name__} on {vendor}...\n")
            stdout.flush()
            try:
                with transaction.atomic():
                    results.extend(fn(ctx))
                    transaction.set_rollback(True)
            except Exception:
                failures.append(f"{module_name}.{fn.__name__}")
                traceback.print_exc()
    print()
    print(
        f"Landkarte benchmarks: {vendor}, scale {args.scale}, {args.repeats} repeats after a "
        f"warm-up, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(table(results))
    path = args.json or BASE_DIR / "var" / "bench" / f"results-{vendor}-scale{args.scale}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "vendor": vendor,
        "database_version": connection.Database.sqlite_version
        if vendor == "sqlite"
        else connection.pg_version,
        "scale": args.scale,
        "seed": args.seed,
        "repeats": args.repeats,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "results": [asdict(r) for r in results],
        "errors": failures,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nresults written to {path}")
    missed = [r.name for r in results if r.met is False]
    if failures:
        print(f"benchmarks that failed to run: {', '.join(failures)}")
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    return 0 if args.report_only or not (missed or failures) else 1


if __name__ == "__main__":
    sys.exit(main())
