from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from itsm.services.incidents import close_resolved_incidents


class Command(BaseCommand):
    help = (
        "Close incidents resolved more than N business days ago (for cron; default from "
        "LANDKARTE_AUTO_CLOSE_BUSINESS_DAYS, 5)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--business-days", type=int,
            default=getattr(settings, "LANDKARTE_AUTO_CLOSE_BUSINESS_DAYS", 5),
        )  # fmt: skip
        parser.add_argument(
            "--as-user", default="admin", help="the user recorded as closing (a superuser)"
        )

    def handle(self, *args, business_days: int, as_user: str, **options):
        try:
            user = get_user_model().objects.get(username=as_user, is_superuser=True)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No superuser named {as_user!r}.") from exc
        closed = close_resolved_incidents(user=user, business_days=business_days)
        self.stdout.write(f"closed {len(closed)} incident(s): {' '.join(closed)}".strip())
