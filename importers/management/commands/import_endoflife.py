from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from importers.base import terminal_progress
from importers.endoflife import EndOfLifeImporter


class Command(BaseCommand):
    help = (
        "Update release date, end of support and end of life of every IT component that names "
        "an endoflife.date product and cycle, from the endoflife.date API v1 or, with "
        "--offline, from a directory of endoflife.date product files."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            help="API base URL (default: settings.LANDKARTE_EOL_BASE_URL or "
            "https://endoflife.date)",
        )
        parser.add_argument(
            "--offline",
            metavar="DIR",
            help="read endoflife.date product files (<product>.md) from DIR instead of the API",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change, write nothing"
        )
        parser.add_argument(
            "--as-user", metavar="USERNAME", help="user recorded in the history of the changes"
        )

    def handle(self, *args, base_url=None, offline=None, dry_run=False, as_user=None, **options):
        user = None
        if as_user:
            User = get_user_model()
            try:
                user = User.objects.get(**{User.USERNAME_FIELD: as_user})
            except User.DoesNotExist as exc:
                raise CommandError(f"No user {as_user!r}.") from exc
        if offline and base_url:
            raise CommandError("Use either --offline or --base-url, not both.")
        if offline and not Path(offline).is_dir():
            raise CommandError(f"{offline} is not a directory.")
        importer = EndOfLifeImporter(
            base_url=base_url,
            source_dir=offline,
            user=user,
            dry_run=dry_run,
            progress=terminal_progress(self.stderr, "endoflife.date")
            if int(options.get("verbosity", 1)) > 1
            else None,
        )
        result = importer.execute()

        self.stdout.write(result.summary())
        if importer.not_found:
            self.stdout.write(f"Not found ({len(importer.not_found)}):")
            for line in importer.not_found:
                self.stdout.write(f"  {line}")
        if importer.adjusted:
            self.stdout.write(f"End of support dropped ({len(importer.adjusted)}):")
            for line in importer.adjusted:
                self.stdout.write(f"  {line}")
        if result.errors:
            for error in result.errors:
                self.stderr.write(f"  {error}")
            raise CommandError(
                f"{len(result.errors)} error(s); the other components were "
                + ("checked (dry run)." if dry_run else "imported.")
            )
        self.stdout.write(self.style.SUCCESS("Done."))
