"""`python manage.py restore FILE`: load a dump written by `backup` into an empty database.

It migrates the database first (a new, empty database is the normal target), refuses one that
already holds data (a restore is not a merge), loads the file with `loaddata` in one
transaction (history rows are loaded as they are, not recorded anew; PostgreSQL sequences are
reset), then checks that every model has exactly as many rows as the file holds and that every
tree's nested-set numbers are consistent. Any difference is an error (exit status 1).
"""

import bz2
import gzip
import json
import lzma
import time
from collections import Counter
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.test.utils import override_settings

from landkarte.management.commands.backup import NATURAL_PRIMARY, dumped_models, label
from landkarte.trees import tree_models, tree_problems


def read_counts(path: str) -> Counter:
    """Rows per model label in a dump file."""
    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    opener = next((o for suffix, o in openers.items() if path.endswith(suffix)), open)
    with opener(path, "rt", encoding="utf-8") as stream:
        return Counter(row["model"].lower() for row in json.load(stream))


class Command(BaseCommand):
    help = (
        "Load a dump written by `backup` into an empty database: migrate, load in one "
        "transaction, then verify the row count of every model (history included) and the trees."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--no-migrate", action="store_true", help="the schema is already migrated"
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, file: str, no_migrate: bool, database: str, **options):
        if not Path(file).is_file():
            raise CommandError(f"No such file: {file}")
        started = time.monotonic()
        if not no_migrate:
            call_command("migrate", interactive=False, database=database, verbosity=0)

        models = dumped_models(with_tokens=True, using=database)
        occupied = [
            label(model)
            for model in models
            if model not in NATURAL_PRIMARY and model._base_manager.using(database).exists()
        ]
        if occupied:
            raise CommandError(
                "The database is not empty (rows in "
                + ", ".join(occupied[:5])
                + (", …" if len(occupied) > 5 else "")
                + "). Restore into a new, empty database."
            )

        expected = read_counts(file)
        known = {label(model): model for model in models}
        unknown = sorted(set(expected) - set(known))
        if unknown:
            raise CommandError(
                "The file holds models this installation does not have: " + ", ".join(unknown)
            )
        # History rows come from the file: loading must not record new ones (simple-history
        # skips raw saves, but not the many-to-many changes that loaddata makes).
        with override_settings(SIMPLE_HISTORY_ENABLED=False):
            call_command("loaddata", file, database=database, verbosity=0)

        problems = []
        for name, model in known.items():
            actual = model._base_manager.using(database).count()
            wanted = expected.get(name, 0)
            if actual != wanted and not (model in NATURAL_PRIMARY and actual >= wanted):
                problems.append(f"{name}: {actual} rows, the file has {wanted}")
        for model in tree_models():
            problems.extend(
                f"{model._meta.verbose_name_plural}: {problem}"
                for problem in tree_problems(model)[:10]
            )
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"The restore does not match the file ({len(problems)} problems).")
        history = sum(n for name, n in expected.items() if ".historical" in name)
        self.stdout.write(
            f"Restored {sum(expected.values())} rows of {len(expected)} models ({history} history "
            f"rows) from {file} in {time.monotonic() - started:.1f} s; counts and trees verified."
        )
