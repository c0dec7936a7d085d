"""What every benchmark module uses: timing with warm-up and repeats, query capture, and the
result row the runner prints and writes as JSON.

A benchmark module (`tests/benchmarks/bench_*.py`) defines `BENCHMARKS`, a list of functions
`fn(ctx: Context) -> list[Result]`. The runner (`python -m tests.benchmarks`, `make bench`) calls
each inside a transaction that is rolled back afterwards, so a benchmark may write freely and
the next one sees the seeded landscape unchanged.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext


@dataclass
class Result:
    """One row of the table.

    `figure` is what Landkarte achieves; `comparison` is the reference measured in the same run
    (ORM `.values()`, networkx, `executemany`, graphene-django's stock view...). `ratio` is
    figure / comparison for times and comparison / figure for rates, so that it always reads
    "times slower than the reference". `met` is None where the issue asks only for a report.
    """

    name: str
    figure: float
    unit: str
    target: str
    met: bool | None
    comparison: float | None = None
    comparison_label: str = ""
    comparison_unit: str | None = None  # when it differs from `unit`
    ratio: float | None = None
    queries: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timing:
    median: float  # seconds
    minimum: float
    samples: list[float]
    value: Any  # what the last run returned

    @property
    def ms(self) -> float:
        return self.median * 1000


def timeit(fn: Callable[[], Any], *, repeats: int, warmup: int = 1) -> Timing:
    """Median of `repeats` runs after `warmup` unmeasured ones (caches, query plans, imports)."""
    for _ in range(warmup):
        fn()
    samples = []
    value = None
    for _ in range(repeats):
        started = time.perf_counter()
        value = fn()
        samples.append(time.perf_counter() - started)
    return Timing(statistics.median(samples), min(samples), samples, value)


def interleaved(fns: dict[str, Callable[[], Any]], *, repeats: int, warmup: int = 1):
    """Time several variants in alternation (a, b, a, b...), so that a slow phase of the machine
    hits all of them alike; returns {name: Timing}."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples = {name: [] for name in fns}
    values = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            started = time.perf_counter()
            values[name] = fn()
            samples[name].append(time.perf_counter() - started)
    return {
        name: Timing(statistics.median(s), min(s), s, values[name]) for name, s in samples.items()
    }


def capture_queries(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run fn once and return its value and the SQL it sent."""
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        value = fn()
    return value, [q["sql"] for q in ctx.captured_queries]


def ratio(figure: float, comparison: float) -> float | None:
    return figure / comparison if comparison else None


@dataclass
class Context:
    scale: int
    repeats: int
    vendor: str  # "sqlite" or "postgresql"

    def user(self, username: str = "admin"):
        return get_user_model().objects.get(username=username)
