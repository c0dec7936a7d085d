"""Run the architecture governance rules and fail (exit status 1) on severe findings.

python manage.py governance_check [--fail-on SEVERITY] [--rule CODE ...]
    [--org-unit CODE] [--as-of YYYY-MM-DD] [--format text|json]
"""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from architecture.governance import RULES, SEVERITIES, SEVERITY_RANK, run_rules
from cmdb.models import OrgUnit


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"Invalid date {value!r}: use YYYY-MM-DD.") from error


class Command(BaseCommand):
    help = (
        "Check the landscape against the architecture governance rules; exit with status 1 "
        "when a finding at or above --fail-on (default: high) exists."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fail-on",
            choices=[*SEVERITIES, "never"],
            default="high",
            help="Exit non-zero when a finding of this severity or higher exists "
            "(default: high; 'never' only reports).",
        )
        parser.add_argument(
            "--rule",
            dest="rules",
            action="extend",
            nargs="+",
            metavar="CODE",
            help="Run only these rules: " + ", ".join(RULES),
        )
        parser.add_argument("--org-unit", help="Only findings of this org unit (code) and below.")
        parser.add_argument("--as-of", help="Check the landscape on this date (YYYY-MM-DD).")
        parser.add_argument(
            "--min-severity", choices=SEVERITIES, help="Only report findings at or above this."
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options):
        rules = options.get("rules")
        unknown = [code for code in rules or [] if code not in RULES]
        if unknown:
            raise CommandError(f"Unknown rule(s): {', '.join(unknown)}. Known: {', '.join(RULES)}.")
        org_unit = None
        if options.get("org_unit"):
            org_unit = OrgUnit.objects.filter(code=options["org_unit"]).first()
            if org_unit is None:
                raise CommandError(f"Unknown org unit code {options['org_unit']!r}.")
        on = _date(options["as_of"]) if options.get("as_of") else None
        findings = run_rules(
            on=on, rules=rules, severity=options.get("min_severity"), org_unit=org_unit
        )

        if options["format"] == "json":
            self.stdout.write(json.dumps([f.as_dict() for f in findings], indent=2))
        else:
            for finding in findings:
                self.stdout.write(
                    f"[{finding.severity.upper()}] {finding.rule}: {finding.message}\n"
                    f"    → {finding.hint}"
                )
            counts = {}
            for finding in findings:
                counts[finding.severity] = counts.get(finding.severity, 0) + 1
            summary = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if s in counts)
            self.stdout.write(f"{len(findings)} finding(s)" + (f": {summary}" if summary else ""))

        fail_on = options["fail_on"]
        if fail_on == "never":
            return
        failing = [f for f in findings if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on]]
        if failing:
            raise CommandError(
                f"{len(failing)} governance finding(s) at or above {fail_on}.", returncode=1
            )
