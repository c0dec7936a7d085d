from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from landkarte.models import APIToken, hash_token


class Command(BaseCommand):
    help = (
        "Revoke API tokens for good: one token by its prefix (as shown in the admin and by "
        "create_api_token) or by the whole token, or every active token of --user USER."
    )

    def add_arguments(self, parser):
        parser.add_argument("prefix", nargs="?", help="the token's prefix (lk_…) or the token")
        parser.add_argument("--user", help="revoke all active tokens of this user")

    def handle(self, prefix, user, **options):
        if bool(prefix) == bool(user):
            raise CommandError("Give either a token prefix or --user USER.")
        if user:
            User = get_user_model()
            if not User.objects.filter(username=user).exists():
                raise CommandError(f"No user named {user!r}.")
            tokens = list(APIToken.objects.filter(user__username=user, revoked=False))
        else:
            tokens = self.find(prefix)
        count = sum(token.revoke() for token in tokens)
        for token in tokens:
            self.stdout.write(f"revoked {token.prefix}… ({token.user.get_username()})")
        self.stdout.write(f"{count} token(s) revoked.")

    @staticmethod
    def find(prefix: str) -> list[APIToken]:
        by_hash = APIToken.objects.filter(key_hash=hash_token(prefix))
        if by_hash.exists():
            token = by_hash.get()
        else:
            start = prefix.rstrip("…")
            if len(start) < len(APIToken.PREFIX) + 3:
                raise CommandError(f"Give more of the prefix than {prefix!r}.")
            matches = list(APIToken.objects.filter(prefix__startswith=start))
            if not matches:
                raise CommandError(f"No API token with prefix {prefix!r}.")
            if len(matches) > 1:
                raise CommandError(
                    f"{len(matches)} tokens start with {prefix!r}; give the whole prefix."
                )
            token = matches[0]
        if token.revoked:
            raise CommandError(f"Token {token.prefix}… was revoked already.")
        return [token]
