"""`python manage.py seed_demo [--seed N] [--scale K]`: the demo city with a year of ITSM,
its requirements backlog and sovereignty assessments (deterministic and idempotent).

It lives in the project kernel because it builds every app's part, in dependency order."""

from django.core.management.base import BaseCommand, CommandError

from architecture.demo import build_architecture_demo
from cmdb.demo import APPLICATIONS_PER_SCALE, DEMO_PASSWORD, build_demo_city
from itsm.demo import build_itsm_demo
from sourcing.demo import build_sourcing_demo


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Build a deterministic demo city: org units, teams, vendors, components with real "
        f"end-of-life dates, about {APPLICATIONS_PER_SCALE} applications per scale step with "
        "interfaces and services, a year of incidents, problems and changes, a requirements "
        "backlog, sovereignty assessments and procurement cases, a capability map, tech radar, "
        "architecture decisions and exceptions, and one demo user per role "
        f"(password '{DEMO_PASSWORD}'). Running it again creates only what is missing."
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
            build_itsm_demo(seed=seed, scale=scale, stdout=self.stdout)
            build_sourcing_demo(seed=seed, scale=scale, stdout=self.stdout)
            build_architecture_demo(seed=seed, scale=scale, stdout=self.stdout)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
