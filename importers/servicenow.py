"""Import of a ServiceNow incident audit log (the UCI "Incident management process enriched
event log" format: one row per audit event, several rows per incident number).

Decisions worth knowing:

* Times: the log has no time zone; its `d/m/yyyy HH:MM` values are read as **UTC**.
* The ServiceNow number (e.g. ``INC0000045``) is kept as ``Incident.number`` (it fits the
  20 characters), so a re-import finds the incident again; a longer number is a row error.
* State ``-100`` is an unknown state: the row is reported as skipped and the incident keeps
  its last valid state. ``Awaiting Evidence`` becomes pending / awaiting caller.
* Placeholders: existing teams are found by name, missing ones are created under the org unit
  ``IMPORT`` (code ``IMPORT``, kind administration) with the external id
  ``servicenow:group:<name>``, applications for ``cmdb_ci`` get the external id
  ``servicenow:ci:<value>``, vendors (found by that external id or by name)
  ``servicenow:vendor:<value>`` with country ``ZZ`` (user-assigned ISO 3166 code: unknown),
  problems the number ``PRB-SN-<n>``, changes their ServiceNow number in state draft,
  requested by the importing user.
* Changes (``rfc``, ``caused_by``), problems and vendors also appear as ``link`` events on the
  incident's timeline; an ``rfc`` is also added to the incident's problem's changes.
* Re-importing the same file changes nothing: unchanged incidents are not saved, and timeline
  events already present (same kind, time, states and text) are not added again.
* New incidents, timeline events and placeholders (except vendors, whose ``save()`` derives the
  jurisdiction) are inserted in batches (``importers.bulk.insert_with_history``), each with its
  history row (importing user, change reason): the queries grow with the batches, not the rows.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict

import pandas as pd
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from cmdb.choices import ApplicationKind, OrgUnitKind
from cmdb.models import Application, OrgUnit, Team, Vendor
from importers.base import Importer, Stage
from importers.bulk import insert_with_history
from itsm.choices import (
    ChangeState,
    ChangeType,
    IncidentEventKind,
    IncidentState,
    PendingReason,
    ResolutionCode,
)
from itsm.models import Change, Incident, IncidentEvent, Problem
from itsm.models.incident import IncidentCategory
from itsm.services.sla import priority_for

__all__ = ["ServiceNowIncidentImporter"]

SOURCE = "servicenow"
DATE_FORMAT = "%d/%m/%Y %H:%M"
UNKNOWN_STATE = "-100"
IMPORT_ORG_UNIT_CODE = "IMPORT"
PLACEHOLDER_COUNTRY = "ZZ"
BATCH = 500

REQUIRED_COLUMNS = [
    "number", "incident_state", "reassignment_count", "reopen_count", "sys_mod_count",
    "made_sla", "caller_id", "opened_by", "opened_at", "sys_updated_by", "sys_updated_at",
    "category", "subcategory", "impact", "urgency", "priority", "assignment_group",
    "problem_id", "rfc", "vendor", "closed_code", "resolved_at", "closed_at",
]  # fmt: skip
OPTIONAL_COLUMNS = [
    "contact_type", "location", "u_symptom", "cmdb_ci", "assigned_to", "caused_by",
    "sys_created_at", "resolved_by",
]  # fmt: skip

# ServiceNow state → (our state, pending reason)
STATES: dict[str, tuple[str, str]] = {
    "New": (IncidentState.NEW, ""),
    "Active": (IncidentState.IN_PROGRESS, ""),
    "Awaiting User Info": (IncidentState.PENDING, PendingReason.AWAITING_CALLER),
    "Awaiting Evidence": (IncidentState.PENDING, PendingReason.AWAITING_CALLER),
    "Awaiting Vendor": (IncidentState.PENDING, PendingReason.AWAITING_VENDOR),
    "Awaiting Problem": (IncidentState.PENDING, PendingReason.AWAITING_PROBLEM),
    "Resolved": (IncidentState.RESOLVED, ""),
    "Closed": (IncidentState.CLOSED, ""),
}
LEVELS = {"1": "high", "2": "medium", "3": "low"}
PRIORITIES = {"1": "p1", "2": "p2", "3": "p3", "4": "p4"}
LEVEL_RE = re.compile(r"^([1-3]) - (High|Medium|Low)$")
PRIORITY_RE = re.compile(r"^([1-4]) - (Critical|High|Moderate|Low)$")
PROBLEM_RE = re.compile(r"^Problem ID (\d+)$")
CHANGE_RE = re.compile(r"^CHG\d+$")
DONE_STATES = {IncidentState.RESOLVED, IncidentState.CLOSED}

# Incident fields the importer owns; only these are compared and written.
FIELDS = [
    "title", "description", "category", "state", "pending_reason", "impact", "urgency",
    "priority", "caller_name", "assigned_team_id", "problem_id", "opened_at", "resolved_at",
    "closed_at", "resolution_code", "resolution_notes", "resolution_breached",
    "reassignment_count", "reopen_count",
]  # fmt: skip


def _clean(value: str) -> str | None:
    value = " ".join(value.split())
    return None if value in ("", "?") else value


class ServiceNowIncidentImporter(Importer):
    name = "servicenow incidents"

    def __init__(self, path, **kwargs):
        super().__init__(**kwargs)
        self.path = path
        self.placeholders: dict[str, int] = defaultdict(int)
        self._dates: dict[str, datetime.datetime] = {}

    # ---------------------------------------------------------------------------------------
    # reading and validating

    def _read(self, stage: Stage) -> list[dict] | None:
        try:
            frame = pd.read_csv(self.path, dtype=str, keep_default_na=False, na_filter=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one file error
            stage.error(None, None, str(self.path), f"a readable CSV file ({exc})")
            return None
        missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
        for column in missing:
            stage.error(None, column, None, "this column in the header")
        if missing:
            return None
        for column in OPTIONAL_COLUMNS:
            if column not in frame.columns:
                frame[column] = ""
        columns = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
        cells = [frame[column].tolist() for column in columns]
        rows = []
        for index, values in enumerate(zip(*cells, strict=True), start=1):
            row = {column: _clean(value) for column, value in zip(columns, values, strict=True)}
            row["_row"] = index
            rows.append(row)
        return rows

    def _date(self, stage, row, column, required=False):
        raw = row[column]
        if raw is None:
            if required:
                stage.error(row["_row"], column, raw, "a date d/m/yyyy HH:MM")
                return None, False
            return None, True
        parsed = self._dates.get(raw)
        if parsed is None:
            try:
                parsed = datetime.datetime.strptime(raw, DATE_FORMAT).replace(tzinfo=datetime.UTC)
            except ValueError:
                stage.error(row["_row"], column, raw, "a date d/m/yyyy HH:MM")
                return None, False
            self._dates[raw] = parsed
        return parsed, True

    def _int(self, stage, row, column):
        raw = row[column]
        # isdigit() alone admits "²", which int() refuses.
        if raw is None or not (raw.isascii() and raw.isdigit()):
            stage.error(row["_row"], column, raw, "a whole number ≥ 0")
            return None, False
        return int(raw), True

    def _parse(self, stage: Stage, row: dict) -> bool:
        """Check and convert one row in place; report every problem. True if the row is good."""
        ok = True
        number = row["number"]
        if number is None or len(number) > 20:
            stage.error(row["_row"], "number", number, "an incident number of 1 to 20 characters")
            ok = False
        state = row["incident_state"]
        if state not in STATES and state != UNKNOWN_STATE:
            stage.error(
                row["_row"], "incident_state", state, "one of " + ", ".join([*STATES, "-100"])
            )
            ok = False
        for column in ("sys_mod_count", "reassignment_count", "reopen_count"):
            row[column], good = self._int(stage, row, column)
            ok &= good
        if row["made_sla"] not in ("true", "false"):
            stage.error(row["_row"], "made_sla", row["made_sla"], "true or false")
            ok = False
        row["made_sla"] = row["made_sla"] == "true"
        for column in ("impact", "urgency"):
            match = LEVEL_RE.match(row[column] or "")
            if match is None:
                stage.error(row["_row"], column, row[column], 'a level like "2 - Medium"')
                ok = False
            else:
                row[column] = LEVELS[match.group(1)]
        if row["priority"] is not None:
            match = PRIORITY_RE.match(row["priority"])
            if match is None:
                stage.error(
                    row["_row"], "priority", row["priority"], 'a priority like "3 - Moderate"'
                )
                ok = False
            else:
                row["priority"] = PRIORITIES[match.group(1)]
        for column, required in (
            ("opened_at", True), ("sys_updated_at", True), ("sys_created_at", False),
            ("resolved_at", False), ("closed_at", False),
        ):  # fmt: skip
            row[column], good = self._date(stage, row, column, required)
            ok &= good
        if row["problem_id"] is not None and not PROBLEM_RE.match(row["problem_id"]):
            stage.error(row["_row"], "problem_id", row["problem_id"], 'a value like "Problem ID 2"')
            ok = False
        for column in ("rfc", "caused_by"):
            value = row[column]
            if value is not None and (not CHANGE_RE.match(value) or len(value) > 20):
                stage.error(row["_row"], column, value, 'a change number like "CHG0000123"')
                ok = False
        return ok

    # ---------------------------------------------------------------------------------------
    # placeholders

    def _stamp(self, obj):
        obj._history_user = self.user
        obj._change_reason = self.change_reason
        return obj

    def _insert(self, objs: list, model, stage: Stage) -> None:
        """New placeholders (or incidents) in a few statements, each with its history row."""
        insert_with_history(
            objs, model, user=self.user, reason=self.change_reason, batch_size=BATCH
        )
        for obj in objs:
            stage.created(obj)

    def _org_unit(self, stage: Stage) -> OrgUnit:
        unit = OrgUnit.objects.filter(code=IMPORT_ORG_UNIT_CODE).first()
        if unit is None:
            unit = self._stamp(
                OrgUnit(
                    code=IMPORT_ORG_UNIT_CODE,
                    name="Import placeholders",
                    kind=OrgUnitKind.ADMINISTRATION,
                )
            )
            unit.save()
            stage.created(unit)
            self.placeholders["org units"] += 1
        return unit

    def _teams(self, stage, names: set[str]) -> dict[str, Team]:
        teams = {team.name: team for team in Team.objects.filter(name__in=names)}
        missing = sorted(names - teams.keys())
        if missing:
            unit = self._org_unit(stage)
            created = [
                Team(name=name, org_unit=unit, external_id=f"servicenow:group:{name}")
                for name in missing
            ]
            self._insert(created, Team, stage)
            teams.update((team.name, team) for team in created)
            self.placeholders["teams"] += len(missing)
        return teams

    def _applications(self, stage, values: set[str]) -> dict[str, Application]:
        ids = {f"{SOURCE}:ci:{value}": value for value in values}
        apps = {
            ids[app.external_id]: app
            for app in Application.objects.filter(external_id__in=list(ids))
        }
        missing = sorted(values - apps.keys())
        if missing:
            unit = self._org_unit(stage)
            created = [
                Application(
                    name=value,
                    kind=ApplicationKind.OWN_DEVELOPMENT,
                    owner_org_unit=unit,
                    external_id=f"{SOURCE}:ci:{value}",
                    description="Placeholder for a ServiceNow configuration item.",
                )
                for value in missing
            ]
            self._insert(created, Application, stage)
            apps.update(zip(missing, created, strict=True))
            self.placeholders["applications"] += len(missing)
        return apps

    def _vendors(self, stage, values: set[str]) -> dict[str, Vendor]:
        ids = {f"{SOURCE}:vendor:{value}": value for value in values}
        vendors = {
            ids[vendor.external_id]: vendor
            for vendor in Vendor.objects.filter(external_id__in=list(ids))
        }
        for vendor in Vendor.objects.filter(name__in=values - vendors.keys()):
            vendors[vendor.name] = vendor
        for value in sorted(values - vendors.keys()):
            vendor = self._stamp(
                Vendor(
                    name=value, country=PLACEHOLDER_COUNTRY, external_id=f"{SOURCE}:vendor:{value}"
                )
            )
            vendor.save()
            vendors[value] = vendor
            stage.created(vendor)
            self.placeholders["vendors"] += 1
        return vendors

    def _problems(self, stage, values: set[str]) -> dict[str, Problem]:
        numbers = {f"PRB-SN-{PROBLEM_RE.match(value).group(1)}": value for value in values}
        problems = {
            numbers[problem.number]: problem
            for problem in Problem.objects.filter(number__in=list(numbers))
        }
        missing = [(n, value) for n, value in sorted(numbers.items()) if value not in problems]
        created = [Problem(number=n, title=f"imported: {value}") for n, value in missing]
        self._insert(created, Problem, stage)
        problems.update(zip((value for _n, value in missing), created, strict=True))
        self.placeholders["problems"] += len(created)
        return problems

    def _changes(self, stage, values: set[str], first_row: dict[str, int]) -> dict[str, Change]:
        changes = {change.number: change for change in Change.objects.filter(number__in=values)}
        missing = sorted(values - changes.keys())
        if missing and self.user is None:
            for number in missing:
                stage.error(
                    first_row[number], "rfc", number,
                    "an importing user (--as-user) to request placeholder changes",
                )  # fmt: skip
            return changes
        created = [
            Change(
                number=number,
                title="imported",
                description="Placeholder for a ServiceNow change.",
                change_type=ChangeType.NORMAL,
                state=ChangeState.DRAFT,
                requested_by=self.user,
            )
            for number in missing
        ]
        self._insert(created, Change, stage)
        changes.update((change.number, change) for change in created)
        self.placeholders["changes"] += len(created)
        return changes

    # ---------------------------------------------------------------------------------------
    # one incident

    def _desired(self, rows: list[dict], stage: Stage, refs: dict) -> tuple[dict, list[dict]]:
        """The incident's field values and timeline from its audit rows (in order)."""
        valid = []
        for row in rows:
            if row["incident_state"] == UNKNOWN_STATE:
                stage.skipped(
                    row["_row"], f"{row['number']}: state -100 (unknown), last valid state kept"
                )
            else:
                valid.append(row)
        last = rows[-1]
        last_valid = valid[-1] if valid else None
        state, pending_reason = (
            STATES[last_valid["incident_state"]] if last_valid else (IncidentState.NEW, "")
        )
        priority = last["priority"] or priority_for(last["impact"], last["urgency"])
        done = state in DONE_STATES
        lines = [
            f"ServiceNow incident {last['number']}",
            f"category: {last['category'] or '-'}",
            f"subcategory: {last['subcategory'] or '-'}",
            f"symptom: {last['u_symptom'] or '-'}",
            f"contact type: {last['contact_type'] or '-'}",
            f"location: {last['location'] or '-'}",
            f"opened by: {last['opened_by'] or '-'}",
            f"assigned to: {last['assigned_to'] or '-'}",
        ]
        if done and last["resolved_by"]:
            lines.append(f"resolved by: {last['resolved_by']}")
        title = " / ".join(
            value for value in (last["category"], last["subcategory"], last["u_symptom"]) if value
        )
        problem_value = next((r["problem_id"] for r in reversed(rows) if r["problem_id"]), None)
        group = last["assignment_group"]
        fields = {
            "title": (title or f"ServiceNow incident {last['number']}")[:300],
            "description": "\n".join(lines),
            "category": IncidentCategory.OTHER,
            "state": state,
            "pending_reason": pending_reason,
            "impact": last["impact"],
            "urgency": last["urgency"],
            "priority": priority,
            "caller_name": (last["caller_id"] or last["opened_by"] or "")[:200],
            "assigned_team_id": refs["teams"][group].pk if group else None,
            "problem_id": refs["problems"][problem_value].pk if problem_value else None,
            "opened_at": last["opened_at"],
            "resolved_at": (last["resolved_at"] or last["closed_at"] or last["sys_updated_at"])
            if done
            else None,
            "closed_at": (last["closed_at"] or last["sys_updated_at"])
            if state == IncidentState.CLOSED
            else None,
            "resolution_code": ResolutionCode.SOLVED_PERMANENTLY if done else "",
            "resolution_notes": (last["closed_code"] or "closed code unknown") if done else "",
            "resolution_breached": (not last["made_sla"]) if done else False,
            "reassignment_count": last["reassignment_count"],
            "reopen_count": last["reopen_count"],
        }

        events: list[dict] = []

        def event(kind, at, row, text="", from_state="", to_state="", **data):
            data.update(source=SOURCE, sys_mod_count=row["sys_mod_count"])
            if row["sys_updated_by"]:
                data["by"] = row["sys_updated_by"]
            events.append(
                {"kind": kind, "at": at, "text": text, "from_state": from_state,
                 "to_state": to_state, "data": data}
            )  # fmt: skip

        if valid:
            first = valid[0]
            event(
                IncidentEventKind.CREATED, first["opened_at"], first,
                text=f"imported from ServiceNow ({first['incident_state']})",
                to_state=STATES[first["incident_state"]][0],
            )  # fmt: skip
        seen_links: set[tuple[str, str]] = set()
        previous = None
        for row in valid:
            if previous is not None:
                at = row["sys_updated_at"]
                if row["incident_state"] != previous["incident_state"]:
                    event(
                        IncidentEventKind.STATE_CHANGE, at, row,
                        text=f"{previous['incident_state']} → {row['incident_state']}",
                        from_state=STATES[previous["incident_state"]][0],
                        to_state=STATES[row["incident_state"]][0],
                    )  # fmt: skip
                if row["assignment_group"] != previous["assignment_group"]:
                    event(
                        IncidentEventKind.ASSIGNMENT, at, row,
                        text=f"{previous['assignment_group'] or '-'} → "
                        f"{row['assignment_group'] or '-'}",
                        from_group=previous["assignment_group"],
                        to_group=row["assignment_group"],
                    )  # fmt: skip
            for column, relation in (
                ("problem_id", "problem"), ("rfc", "change"), ("caused_by", "caused_by"),
                ("vendor", "vendor"), ("cmdb_ci", "configuration_item"),
            ):  # fmt: skip
                value = row[column]
                if value and (column, value) not in seen_links:
                    seen_links.add((column, value))
                    at = row["sys_updated_at"] if previous is not None else row["opened_at"]
                    event(
                        IncidentEventKind.LINK, at, row, text=f"{relation}: {value}",
                        relation=relation, value=value,
                    )  # fmt: skip
            previous = row
        return fields, events

    # ---------------------------------------------------------------------------------------

    def run(self, stage: Stage) -> None:
        rows = self._read(stage)
        if rows is None:
            return
        total = len(rows)
        groups: dict[str, list[dict]] = defaultdict(list)
        bad_numbers: set[str] = set()
        for row in rows:
            if not self._parse(stage, row):
                bad_numbers.add(row["number"])
            groups[row["number"]].append(row)
        if stage.result.errors and not self.skip_invalid:
            stage.tick(total, total)
            return
        for number in bad_numbers:
            for row in groups.pop(number, []):
                stage.skipped(row["_row"], f"{number}: incident has invalid rows")
        for group_rows in groups.values():
            group_rows.sort(key=lambda r: (r["sys_mod_count"], r["sys_updated_at"], r["_row"]))

        # placeholders and references
        names, cis, vendors, problems, changes = set(), set(), set(), set(), set()
        change_rows: dict[str, int] = {}
        for group_rows in groups.values():
            for row in group_rows:
                if row["assignment_group"]:
                    names.add(row["assignment_group"])
                if row["cmdb_ci"]:
                    cis.add(row["cmdb_ci"])
                if row["vendor"]:
                    vendors.add(row["vendor"])
                if row["problem_id"]:
                    problems.add(row["problem_id"])
                for column in ("rfc", "caused_by"):
                    if row[column]:
                        changes.add(row[column])
                        change_rows.setdefault(row[column], row["_row"])
        refs = {
            "teams": self._teams(stage, names),
            "apps": self._applications(stage, cis),
            "vendors": self._vendors(stage, vendors),
            "problems": self._problems(stage, problems),
            "changes": self._changes(stage, changes, change_rows),
        }
        if stage.result.errors and not self.skip_invalid:
            return

        numbers = list(groups)
        existing: dict[str, Incident] = {}
        for start in range(0, len(numbers), BATCH):
            for incident in Incident.objects.filter(number__in=numbers[start : start + BATCH]):
                existing[incident.number] = incident

        to_create: list[Incident] = []
        to_update: list[Incident] = []
        wanted_events: dict[str, list[dict]] = {}
        wanted_apps: dict[str, set[int]] = {}
        wanted_problem_changes: set[tuple[int, int]] = set()
        now = timezone.now()
        done_rows = 0
        for number, group_rows in groups.items():
            fields, events = self._desired(group_rows, stage, refs)
            wanted_events[number] = events
            wanted_apps[number] = {
                refs["apps"][row["cmdb_ci"]].pk for row in group_rows if row["cmdb_ci"]
            }
            if fields["problem_id"]:
                for row in group_rows:
                    if row["rfc"] and row["rfc"] in refs["changes"]:
                        wanted_problem_changes.add(
                            (fields["problem_id"], refs["changes"][row["rfc"]].pk)
                        )
            incident = existing.get(number)
            if incident is None:
                incident = Incident(number=number, **fields)
                to_create.append(incident)
            elif any(getattr(incident, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(incident, name, value)
                incident.version += 1
                incident.updated = now
                to_update.append(incident)
                stage.updated(incident)
            else:
                stage.unchanged(incident)
            done_rows += len(group_rows)
            if len(wanted_events) % 100 == 0:
                stage.tick(done_rows, total)

        with transaction.atomic():
            if to_create:
                self._insert(to_create, Incident, stage)
                for incident in to_create:
                    existing[incident.number] = incident
            if to_update:
                bulk_update_with_history(
                    to_update, Incident, [*FIELDS, "version", "updated"], batch_size=BATCH,
                    default_user=self.user, default_change_reason=self.change_reason,
                )  # fmt: skip
            self._write_links(existing, wanted_events, wanted_apps, wanted_problem_changes)
        stage.tick(total, total)

    def _write_links(self, incidents, wanted_events, wanted_apps, wanted_problem_changes):
        ids = {number: incidents[number].pk for number in wanted_events}
        id_list = list(ids.values())
        have_events: set[tuple] = set()
        have_apps: set[tuple[int, int]] = set()
        Through = Incident.applications.through
        for start in range(0, len(id_list), BATCH):
            chunk = id_list[start : start + BATCH]
            have_events.update(
                IncidentEvent.objects.filter(incident_id__in=chunk).values_list(
                    "incident_id", "kind", "at", "from_state", "to_state", "text"
                )
            )
            have_apps.update(
                Through.objects.filter(incident_id__in=chunk).values_list(
                    "incident_id", "application_id"
                )
            )
        new_events = []
        new_apps = []
        for number, events in wanted_events.items():
            pk = ids[number]
            for spec in events:
                key = (
                    pk,
                    spec["kind"],
                    spec["at"],
                    spec["from_state"],
                    spec["to_state"],
                    spec["text"],
                )
                if key in have_events:
                    continue
                have_events.add(key)
                new_events.append(IncidentEvent(incident_id=pk, **spec))
            for app_id in sorted(wanted_apps[number]):
                if (pk, app_id) not in have_apps:
                    new_apps.append(Through(incident_id=pk, application_id=app_id))
        insert_with_history(new_events, IncidentEvent, batch_size=BATCH)  # no history: the
        # timeline is itself the record
        Through.objects.bulk_create(new_apps, batch_size=BATCH, ignore_conflicts=True)
        ProblemChanges = Problem.changes.through
        ProblemChanges.objects.bulk_create(
            [
                ProblemChanges(problem_id=problem_id, change_id=change_id)
                for problem_id, change_id in sorted(wanted_problem_changes)
            ],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
