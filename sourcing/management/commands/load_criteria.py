from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sourcing.models import CriteriaCatalogue
from sourcing.services.catalogues import SHIPPED_CATALOGUE, load_catalogue, parse_catalogue


class Command(BaseCommand):
    help = (
        "Load a sovereignty criteria catalogue (YAML) as a new catalogue version and publish "
        "it. Loading a version again is a no-op when unchanged and refused when changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            default=str(SHIPPED_CATALOGUE),
            help="catalogue file (default: the shipped sovereignty_criteria.yaml)",
        )
        parser.add_argument(
            "--draft", action="store_true", help="load as a draft instead of publishing it"
        )

    def handle(self, *args, path, draft, **options):
        try:
            data = parse_catalogue(path)
            before = (
                CriteriaCatalogue.objects.filter(code=data["code"], version=data["version"])
                .values_list("status", "checksum")
                .first()
            )
            catalogue = load_catalogue(path, publish=not draft)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if before == (catalogue.status, catalogue.checksum):
            self.stdout.write(f"{catalogue} is already loaded ({catalogue.status}); unchanged.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {catalogue}: {catalogue.criteria.count()} criteria, {catalogue.status}."
            )
        )
