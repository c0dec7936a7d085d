from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from landkarte.models import APIToken, token_lifetime_days


class Command(BaseCommand):
    help = (
        "Create an API token for USER and print it once (only its hash is stored). It expires "
        "after --days days (default LANDKARTE_API_TOKEN_DAYS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")
        parser.add_argument(
            "--days", type=int, default=None, help="lifetime in days (default: %(default)s)"
        )

    def handle(self, username, name, days, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"The account {username!r} is disabled.")
        longest = int(getattr(settings, "LANDKARTE_API_TOKEN_MAX_DAYS", 366))
        days = token_lifetime_days() if days is None else days
        if not 1 <= days <= longest:
            raise CommandError(f"--days must be between 1 and {longest}.")
        token, raw = APIToken.issue(user, name=name, days=days)
        self.stdout.write(raw)
        expires = timezone.localtime(token.expires).strftime("%Y-%m-%d %H:%M")
        self.stderr.write(f"Token {token.prefix}… for {username}, valid until {expires}.")
