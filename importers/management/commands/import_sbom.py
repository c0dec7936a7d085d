"""Import an SBOM (CycloneDX or SPDX 2.2/2.3 JSON) as an application's software packages."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cmdb.models import Application
from importers.base import terminal_progress
from importers.sbom import SbomImporter, sbom_summary, summarise


class Command(BaseCommand):
    help = (
        "Replace an application's software packages with those of an SBOM (CycloneDX JSON "
        "1.2–1.7 or SPDX JSON 2.2/2.3) and print the resulting figures. A document that fails "
        "validation is refused with the reason and nothing is written (exit status 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("application", help="acronym, external id or exact name")
        parser.add_argument("path", help="SBOM file (JSON)")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change, write nothing"
        )
        parser.add_argument(
            "--as-user", metavar="USERNAME", help="user recorded in the history of the changes"
        )

    def handle(self, *args, application, path, dry_run, as_user, **options):
        app = self.find_application(application)
        user = None
        if as_user:
            try:
                user = get_user_model().objects.get(username=as_user)
            except get_user_model().DoesNotExist as exc:
                raise CommandError(f"No user {as_user!r}.") from exc
        importer = SbomImporter(
            app, path, user=user, dry_run=dry_run, progress=terminal_progress(label="sbom")
        )
        result = importer.execute()
        if result.errors:
            for error in result.errors:
                self.stderr.write(f"  {error}")
            raise CommandError(f"SBOM refused, nothing written: {path}")
        parsed = importer.parsed
        self.stdout.write(f"{app}: {parsed.format}, {len(parsed.packages)} packages")
        self.stdout.write(f"{result.summary()}, deleted {importer.deleted}")
        for _row, reason in result.skipped_rows:
            self.stdout.write(f"  skipped {reason}")
        summary = summarise(parsed.packages) if dry_run else sbom_summary(app)
        self.stdout.write(f"packages: {summary.package_count}")
        self.stdout.write(f"open source share: {summary.open_source_share:.1%}")
        self.stdout.write(
            "copyleft licences: " + (", ".join(sorted(summary.copyleft_licences)) or "none")
        )
        self.stdout.write(
            "suppliers by country: "
            + (", ".join(f"{k} {v}" for k, v in summary.suppliers_by_country.items()) or "none")
        )

    def find_application(self, key: str) -> Application:
        """Acronym first, then external id, then exact name (which must be unique)."""
        for lookup in ("acronym", "external_id", "name"):
            matches = list(Application.objects.filter(**{lookup: key})[:2])
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise CommandError(f"{key!r} names more than one application; use its acronym.")
        raise CommandError(f"No application with acronym, external id or name {key!r}.")
