"""`python manage.py seed_demo [--seed N] [--scale K]`: build the demo city (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from cmdb.demo import APPLICATIONS_PER_SCALE, DEMO_PASSWORD, build_demo_city


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Build a deterministic demo city: org units, teams, vendors, components with real "
        f"end-of-life dates, about {APPLICATIONS_PER_SCALE} applications per scale step with "
        "interfaces, services, and one demo user per role (password "
        f"'{DEMO_PASSWORD}'). Running it again creates only what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--scale",
            type=positive_int,
            default=1,
            help=f"size factor, about {APPLICATIONS_PER_SCALE} applications each (default 1)",
        )

    def handle(self, *args, seed: int, scale: int, **options):
        try:
            build_demo_city(seed=seed, scale=scale, stdout=self.stdout)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
