from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from landkarte.models import APIToken


class Command(BaseCommand):
    help = "Create an API token for USER and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, username, name, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        _, raw = APIToken.issue(user, name=name)
        self.stdout.write(raw)
