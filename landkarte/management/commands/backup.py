"""`python manage.py backup FILE`: a portable JSON dump of the whole database, history included,
that `python manage.py restore FILE` loads into an empty database (SQLite or PostgreSQL).

What it contains and why:
- every model of every app, including the `Historical*` tables of django-simple-history (who
  changed what, when and why) and the nested-set numbers of the trees (`lft`, `rght`,
  `tree_id`, `level` are loaded as they are, so the trees need no rebuild), with times to the
  microsecond; in a fixed order (models by label and dependency, rows by primary key,
  many-to-many ids sorted): the same data always give the same file, and a restored database
  dumps to an identical one;
- references to content types and permissions as natural keys (app label and model name,
  codename), because `migrate` creates those rows itself and their ids differ between
  databases; they are not dumped. Groups are matched by name (the role groups exist after
  `migrate`); every other row keeps its primary key;
- not: sessions (sign-ins end with a restore) and, unless `--with-tokens`, API tokens (a copy
  restored elsewhere must not accept the production tokens; they are hashes, but they are
  credentials).

The dump is read in one transaction (a consistent snapshot: REPEATABLE READ on PostgreSQL),
row by row. FILE ending in `.gz`, `.bz2` or `.xz` is compressed (`loaddata` reads them all).
For PostgreSQL in production prefer `pg_dump -Fc` (see docs/operations.md); this format moves
data between database engines and into tests.
"""

import bz2
import datetime
import gzip
import lzma
import sys
import time
from collections import Counter

from django.apps import apps
from django.contrib.auth.models import Group
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.json import Serializer as JSONSerializer
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.models import Prefetch

# Rows that `migrate` creates (referenced by natural key instead) or that must not travel.
ALWAYS_EXCLUDED = {"contenttypes.contenttype", "auth.permission", "sessions.session"}
TOKEN_MODELS = {"landkarte.apitoken"}
# Rows that `migrate` may already have created: matched by their natural key on restore.
NATURAL_PRIMARY = {Group}


def label(model) -> str:
    return model._meta.label_lower


def dumped_models(with_tokens: bool = False, using: str = DEFAULT_DB_ALIAS) -> list:
    """Concrete models to dump, in an order that loads referenced natural keys first."""
    excluded = ALWAYS_EXCLUDED | (set() if with_tokens else TOKEN_MODELS)
    # Sorted by label first: the same database always gives the same file.
    app_list = [
        (config, sorted(config.get_models(), key=label))
        for config in sorted(apps.get_app_configs(), key=lambda config: config.label)
        if config.models_module
    ]
    ordered = serializers.sort_dependencies(app_list, allow_cycles=True)
    return [
        model
        for model in ordered
        if not model._meta.proxy
        and model._meta.managed
        and label(model) not in excluded
        and router.allow_migrate_model(using, model)
    ]


class FullPrecisionEncoder(DjangoJSONEncoder):
    """Django's encoder cuts times to milliseconds; a restore must give back what was there."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time):
            return o.isoformat()
        return super().default(o)


class BackupSerializer(JSONSerializer):
    """Django's JSON serializer with natural foreign keys and full time precision, but:
    - only groups lose their primary key (they are matched by name on restore);
    - a history row may still point at a user deleted since (history tables keep the id
      without a constraint): that reference is written as the plain id instead of failing."""

    def get_dump_object(self, obj):
        data = super().get_dump_object(obj)
        if type(obj) in NATURAL_PRIMARY:
            data.pop("pk", None)
        return data

    def handle_m2m_field(self, obj, field):
        super().handle_m2m_field(obj, field)
        if field.name in self._current:
            self._current[field.name].sort(key=lambda value: (str(type(value)), value))

    def handle_fk_field(self, obj, field):
        model = field.remote_field.model
        if not (self.use_natural_foreign_keys and hasattr(model, "natural_key")):
            return super().handle_fk_field(obj, field)
        value = getattr(obj, field.attname)
        if value is not None:
            # A dangling reference (the user was deleted) stays a plain id.
            value = self.natural_keys(model, field.target_field.attname).get(value, value)
        self._current[field.name] = value

    def natural_keys(self, model, attname: str) -> dict:
        """All natural keys of a (small) referenced model, read once instead of once a row."""
        cache = self.__dict__.setdefault("_natural_keys", {})
        if (model, attname) not in cache:
            rows = model._base_manager.select_related(*forward_relations(model))
            cache[model, attname] = {getattr(row, attname): row.natural_key() for row in rows}
        return cache[model, attname]


def forward_relations(model) -> list[str]:
    return [field.name for field in model._meta.fields if field.many_to_one]


def dump_queryset(model, using: str):
    """Rows by primary key, with the many-to-many values fetched 2,000 rows at a time (a
    permission's natural key needs its content type: fetched with it)."""
    lookups = []
    for field in model._meta.many_to_many:
        if not field.remote_field.through._meta.auto_created:
            continue  # an explicit through model is dumped as a model of its own
        related = field.remote_field.model
        queryset = related._base_manager.select_related(*forward_relations(related))
        lookups.append(Prefetch(field.name, queryset=queryset))
    return model._base_manager.using(using).order_by(model._meta.pk.name).prefetch_related(*lookups)


def open_output(path: str):
    if path == "-":
        return sys.stdout
    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    for suffix, opener in openers.items():
        if path.endswith(suffix):
            return opener(path, "wt", encoding="utf-8")
    if path.endswith(".zip"):
        raise CommandError("Use .json, .json.gz, .json.bz2 or .json.xz.")
    return open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by the caller)


def write_backup(stream, *, with_tokens: bool = False, using: str = DEFAULT_DB_ALIAS) -> Counter:
    """Write the dump to `stream`; returns the number of rows per model label."""
    counts: Counter = Counter()
    models = dumped_models(with_tokens, using)

    def rows():
        for model in models:
            for obj in dump_queryset(model, using).iterator(chunk_size=2000):
                counts[label(model)] += 1
                yield obj

    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        BackupSerializer().serialize(
            rows(), stream=stream, indent=None, cls=FullPrecisionEncoder,
            use_natural_foreign_keys=True,
            use_natural_primary_keys=False,
        )  # fmt: skip
    stream.write("\n")
    return counts


class Command(BaseCommand):
    help = (
        "Write a portable JSON dump of the database (history and trees included; sessions and "
        "API tokens left out) that `restore` loads into an empty database. FILE may end in "
        ".gz, .bz2 or .xz; '-' writes to standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="e.g. landkarte-2025-01-31.json.gz, or - for stdout")
        parser.add_argument(
            "--with-tokens", action="store_true", help="include the API tokens (hashes)"
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, file: str, with_tokens: bool, database: str, **options):
        started = time.monotonic()
        stream = open_output(file)
        try:
            counts = write_backup(stream, with_tokens=with_tokens, using=database)
        finally:
            if stream is not sys.stdout:
                stream.close()
        if file != "-":
            history = sum(n for name, n in counts.items() if ".historical" in name)
            self.stdout.write(
                f"{sum(counts.values())} rows of {len(counts)} models ({history} history rows) "
                f"written to {file} in {time.monotonic() - started:.1f} s"
            )
