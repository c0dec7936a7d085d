"""python manage.py import_table KIND PATH [--mapping YAML] [--dry-run] [--skip-invalid]
[--as-user USERNAME]"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from importers.base import terminal_progress
from importers.tabular import KINDS, TabularImporter


class Command(BaseCommand):
    help = "Import org units, teams, vendors, IT components, applications, interfaces or "
    help += "requirements from a CSV or Excel file (rows numbered as in the sheet: header = 1)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("path")
        parser.add_argument("--mapping", help="YAML file {column: field}")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--skip-invalid", action="store_true")
        parser.add_argument("--as-user", help="username recorded in the history")

    def handle(self, *args, **options):
        user = None
        if options["as_user"]:
            try:
                user = get_user_model().objects.get(username=options["as_user"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"no user {options['as_user']!r}") from None
        importer = TabularImporter(
            options["kind"],
            options["path"],
            mapping=options["mapping"],
            user=user,
            dry_run=options["dry_run"],
            skip_invalid=options["skip_invalid"],
            progress=terminal_progress(self.stderr._out, label=options["kind"]),
        )
        result = importer.execute()
        if importer.ignored_columns:
            self.stdout.write("ignored columns: " + ", ".join(importer.ignored_columns))
        for error in result.errors:
            self.stdout.write(f"error: {error}")
        for row, reason in result.skipped_rows:
            self.stdout.write(f"skipped row {row}: {reason}")
        self.stdout.write(result.summary())
        if result.errors and not result.written:
            raise SystemExit(1)
