"""python manage.py export_list applications --format xlsx --output apps.xlsx
--filter criticality=mission_critical --filter criticality=business_critical --as-user anna"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from importers.exports import EXPORTS, ExportError, export_rows, write_csv, write_xlsx


class Command(BaseCommand):
    help = (
        "Export a list (same filters and visibility as the GraphQL list) as CSV or Excel. "
        "Headers are model field names, so the file can be re-imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="export name, e.g. applications, incidents")
        parser.add_argument("--format", choices=["csv", "xlsx"], default=None)
        parser.add_argument("--output", required=True, help="file path ('-' for stdout, CSV)")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a GraphQL filter (snake_case); repeat a key for a list",
        )
        parser.add_argument(
            "--as-user",
            help="apply this user's visibility (default: a superuser's view of everything)",
        )

    def handle(self, *args, name, format, output, filter, as_user, **options):
        if name not in EXPORTS:
            raise CommandError(f"Unknown export {name!r}; known: {', '.join(sorted(EXPORTS))}.")
        fmt = format or ("xlsx" if output.lower().endswith(".xlsx") else "csv")
        filters: dict[str, list[str]] = {}
        for item in filter:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--filter needs KEY=VALUE, got {item!r}.")
            filters.setdefault(key.strip(), []).append(value)
        user = self._user(as_user)
        try:
            headers, rows = export_rows(name, user=user, filters=filters)
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        if fmt == "xlsx":
            if output == "-":
                raise CommandError("xlsx needs a file path as --output.")
            write_xlsx(headers, rows, output, title=name)
        elif output == "-":
            write_csv(headers, rows, self.stdout._out)
        else:
            with open(output, "w", encoding="utf-8", newline="") as stream:
                write_csv(headers, rows, stream)
        if output != "-":
            self.stdout.write(f"{name}: {len(rows)} rows written to {output}")

    def _user(self, username):
        User = get_user_model()
        if username:
            try:
                return User.objects.get(username=username)
            except User.DoesNotExist as exc:
                raise CommandError(f"No user {username!r}.") from exc
        # Run from the shell by an operator: everything, like a superuser.
        return User(username="export_list", is_superuser=True, is_active=True)
