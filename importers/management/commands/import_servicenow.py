from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from importers.base import terminal_progress
from importers.servicenow import ServiceNowIncidentImporter


class Command(BaseCommand):
    help = (
        "Import incidents from a ServiceNow incident audit log (CSV, one row per audit event, "
        "as in the UCI 'Incident management process enriched event log'). Times are read as "
        "UTC. Missing teams, configuration items, vendors, problems and changes are created as "
        "placeholders. Re-importing the same file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="the CSV file")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change, write nothing"
        )
        parser.add_argument(
            "--as-user",
            metavar="USERNAME",
            help="user recorded in the history; requests placeholder changes (needed if the "
            "file has rfc or caused_by values)",
        )

    def handle(self, *args, path, dry_run=False, as_user=None, **options):
        if not Path(path).is_file():
            raise CommandError(f"{path} is not a file.")
        user = None
        if as_user:
            User = get_user_model()
            try:
                user = User.objects.get(**{User.USERNAME_FIELD: as_user})
            except User.DoesNotExist as exc:
                raise CommandError(f"No user {as_user!r}.") from exc
        importer = ServiceNowIncidentImporter(
            path,
            user=user,
            dry_run=dry_run,
            progress=terminal_progress(self.stderr, "servicenow")
            if int(options.get("verbosity", 1)) > 0
            else None,
        )
        result = importer.execute()

        self.stdout.write(result.summary())
        if importer.placeholders:
            counts = ", ".join(f"{kind} {n}" for kind, n in sorted(importer.placeholders.items()))
            self.stdout.write(f"Placeholders created: {counts}")
        if result.skipped_rows:
            self.stdout.write(f"Skipped ({len(result.skipped_rows)}):")
            for row, reason in result.skipped_rows[:50]:
                self.stdout.write(f"  row {row}: {reason}")
            if len(result.skipped_rows) > 50:
                self.stdout.write(f"  … and {len(result.skipped_rows) - 50} more")
        if result.errors:
            for error in result.errors[:100]:
                self.stderr.write(f"  {error}")
            if len(result.errors) > 100:
                self.stderr.write(f"  … and {len(result.errors) - 100} more")
            raise CommandError(f"{len(result.errors)} error(s); nothing was written.")
        self.stdout.write(self.style.SUCCESS("Done." if not dry_run else "Done (dry run)."))
