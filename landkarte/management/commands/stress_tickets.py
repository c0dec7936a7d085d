"""`python manage.py stress_tickets --confirm [--workers N] [--operations M] [--import-rows R]`:
parallel service-desk workers on the same tickets while an application import runs, then a
check that no write was lost (issue 8, point 5).

Each worker assigns, starts, parks (pending), resumes, comments, resolves, reopens and
re-prioritises the same few incidents, edits and assesses the same few changes, and opens new
incidents and changes. Most writes pass the `expected_version` the worker read just before
(some pass none, as a careless client would). Meanwhile one more worker imports a spreadsheet
of applications (`importers.tabular`), some of them the applications the new incidents name.

Afterwards `TicketStress.check()` proves, from the database alone:

- every accepted write is present: on each ticket the accepted writes carry the versions
  v0+1 … v0+K without gap or duplicate, the ticket ends at v0+K in the state of the last one,
  and the history row of each version shows exactly what that write returned, by that user,
  with a reason; every accepted comment is in the timeline once; the timeline's status changes
  are exactly those of the accepted writes;
- every refusal is a ValidationError with an allowed (field, code) — a stale version
  ("version", "conflict") or a step the ticket's current state no longer allows because
  another worker moved it ("state", "invalid_transition" / "invalid_state") — and no other
  exception escaped (no deadlock, no IntegrityError, no "database is locked");
- ticket numbers are unique and gap-free per prefix and year;
- the import wrote every row, with history naming the import.

With threads (the default on PostgreSQL) every worker has its own database connection and all
start together at a barrier. Without (the default elsewhere: SQLite serialises writers on the
whole file) the workers' steps are interleaved in a seeded random order in one connection, with
other workers' writes falling between a worker's read and its write, so conflicts still happen.

The command writes real users, a team, applications, incidents and changes (all named with the
run's tag) into the configured database: run it on a test or staging database, never in
production. The test `tests/itsm/test_concurrent_work.py` runs the same scenario, smaller.
"""

from __future__ import annotations

import csv
import random
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.utils import timezone

from cmdb.models import Application, OrgUnit, Team
from importers.tabular import TabularImporter
from itsm.choices import IncidentEventKind, IncidentState, PendingReason
from itsm.models import Change, Incident, IncidentEvent
from itsm.models.numbering import TicketCounter
from itsm.services import changes as change_svc
from itsm.services import incidents as incident_svc
from itsm.services import sla
from landkarte.roles import ARCHITECT, SERVICE_DESK, sync_role_groups

# Refusals a worker may legitimately get: its version is stale, or another worker moved the
# ticket into a state where this step is no longer allowed. Anything else is a finding.
ALLOWED_REFUSALS = {
    ("version", "conflict"),
    ("state", "invalid_transition"),
    ("state", "invalid_state"),
}

# Steps on the shared incidents and changes, with their weights.
INCIDENT_STEPS = {
    "assign": 3, "start": 3, "pending": 2, "comment": 4, "resolve": 2, "reopen": 2,
    "priority": 2,
}  # fmt: skip
CHANGE_STEPS = {"change_update": 5, "change_assess": 4, "change_authorize": 1}
# How the history reason of an accepted write begins, per step.
REASONS = {
    "assign": "assigned to ",
    "start": "work started",
    "pending": "pending: ",
    "resolve": "resolved: ",
    "reopen": "reopened",
    "priority": "priority ",
    "change_update": "updated ",
    "change_assess": "risk assessed: ",
    "change_authorize": "authorization requested",
}
# The state an accepted step leaves the ticket in (None: unchanged).
TARGETS = {
    "assign": IncidentState.ASSIGNED,
    "start": IncidentState.IN_PROGRESS,
    "pending": IncidentState.PENDING,
    "resolve": IncidentState.RESOLVED,
    "reopen": IncidentState.IN_PROGRESS,
    "priority": None,
    "change_update": None,
    "change_assess": None,
    "change_authorize": "authorization",
}
IMPACTS = ["high", "medium", "low"]


@dataclass
class Outcome:
    """One call a worker made and what came of it."""

    worker: int
    kind: str
    model: str  # "incident" or "change"
    pk: int | None
    user_id: int
    versioned: bool = False
    accepted: bool = False
    version: int | None = None  # the ticket's version after an accepted write
    snapshot: dict = field(default_factory=dict)  # the written fields as the service returned
    text: str = ""  # comment text, or the number of an opened ticket
    refusals: list[tuple[str, str]] = field(default_factory=list)
    unexpected: str = ""  # any exception that is not a ValidationError
    during_import: bool = False


class TicketStress:
    """The scenario: `setup()`, then `run_threads()` or `run_interleaved()`, then `check()`."""

    def __init__(
        self, *, workers: int = 6, operations: int = 30, opens: int = 3, incidents: int = 3,
        changes: int = 2, import_rows: int = 300, seed: int = 8, tag: str = "stress",
        directory: Path | None = None, max_pause: float = 0.003,
    ):  # fmt: skip
        self.workers = workers
        self.operations = operations
        self.opens = opens
        self.incident_count = incidents
        self.change_count = changes
        self.import_rows = import_rows
        self.seed = seed
        self.tag = tag
        self.directory = Path(directory or tempfile.gettempdir())
        self.max_pause = max_pause
        self.outcomes: list[Outcome] = []
        self.crashes: list[str] = []
        self.import_result = None
        self.import_running = threading.Event()
        self.import_done = threading.Event()
        self.seconds = 0.0
        self.mode = ""
        self._lock = threading.Lock()

    # --- setup --------------------------------------------------------------------------------

    def setup(self) -> None:
        """Users, a team, applications, the shared tickets and the spreadsheet to import."""
        sync_role_groups()
        sla.ensure_default_calendar()
        User = get_user_model()
        desk_group = Group.objects.get(name=SERVICE_DESK)
        self.agents = []
        for index in range(self.workers):
            user, _created = User.objects.get_or_create(username=f"{self.tag}-w{index}")
            user.groups.add(desk_group)
            self.agents.append(user)
        self.importer_user, _created = User.objects.get_or_create(username=f"{self.tag}-import")
        self.importer_user.groups.add(Group.objects.get(name=ARCHITECT))
        self.org_unit, _created = OrgUnit.objects.get_or_create(
            code=f"{self.tag}-ou", defaults={"name": f"{self.tag} office", "kind": "office"}
        )
        self.team, _created = Team.objects.get_or_create(
            name=f"{self.tag} desk", defaults={"org_unit": self.org_unit}
        )
        self.team.members.add(*self.agents)
        # Applications the new incidents and changes name, and the import updates.
        self.apps = [
            Application.objects.create(
                name=f"{self.tag} app {n}",
                acronym=f"{self.tag}-A{n}",
                owner_org_unit=self.org_unit,
                kind="specialist_procedure",
                criticality="administrative",
            )  # fmt: skip
            for n in range(3)
        ]
        first = self.agents[0]
        self.incident_pks = []
        for n in range(self.incident_count):
            incident = incident_svc.open_incident(
                user=first, title=f"{self.tag} shared incident {n}", impact="medium",
                urgency="medium", applications=[self.apps[n % len(self.apps)]],
            )  # fmt: skip
            incident = incident_svc.assign_incident(
                incident, user=first, team=self.team, assignee=first
            )
            self.incident_pks.append(incident.pk)
        self.change_pks = []
        for n in range(self.change_count):
            change = change_svc.create_change(
                user=first, title=f"{self.tag} shared change {n}", reason="stress test",
                implementation_plan="Patch both nodes.", backout_plan="Restore the snapshot.",
                test_plan="Log in.", applications=[self.apps[n % len(self.apps)]],
            )  # fmt: skip
            change = change_svc.submit_for_assessment(change, user=first)
            self.change_pks.append(change.pk)
        self.baseline = {
            ("incident", i.pk): i.version for i in Incident.objects.filter(pk__in=self.incident_pks)
        }
        self.baseline |= {
            ("change", c.pk): c.version for c in Change.objects.filter(pk__in=self.change_pks)
        }
        self.baseline_states = {
            ("incident", i.pk): i.state for i in Incident.objects.filter(pk__in=self.incident_pks)
        }
        self.last_event_id = IncidentEvent.objects.order_by("-pk").values_list("pk", flat=True)[0]
        self.year = timezone.localtime().year
        self.counters_before = {
            prefix: TicketCounter.objects.get(prefix=prefix, year=self.year).last
            for prefix in ("INC", "CHG")
        }
        self.csv_path = self.directory / f"{self.tag}-applications.csv"
        self._write_csv()

    def _write_csv(self) -> None:
        with self.csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["name", "acronym", "kind", "owner org unit", "criticality"])
            for app in self.apps:  # updated: a new criticality
                writer.writerow([app.name, app.acronym, "specialist_procedure",
                                 self.org_unit.code, "business_critical"])  # fmt: skip
            for n in range(self.import_rows - len(self.apps)):
                writer.writerow([f"{self.tag} imported {n}", f"{self.tag}-I{n}", "saas",
                                 self.org_unit.code, "business_operational"])  # fmt: skip

    # --- the workers --------------------------------------------------------------------------

    def _record(self, outcome: Outcome) -> None:
        outcome.during_import = self.import_running.is_set() and not self.import_done.is_set()
        with self._lock:
            self.outcomes.append(outcome)

    def _call(self, outcome: Outcome, call):
        """Run one service call; record its effect or its refusal. Returns what it returned."""
        result = None
        try:
            result = call()
        except ValidationError as exc:
            outcome.refusals = [
                (name, error.code) for name, errors in exc.error_dict.items() for error in errors
            ] if hasattr(exc, "error_dict") else [("__all__", exc.code or "")]  # fmt: skip
        except Exception as exc:  # a finding: reported by check()
            outcome.unexpected = f"{type(exc).__name__}: {exc}"
        else:
            outcome.accepted = True
            if isinstance(result, Incident):
                outcome.version = result.version
                outcome.snapshot = {
                    "state": result.state, "priority": result.priority,
                    "assignee_id": result.assignee_id,
                }  # fmt: skip
            elif isinstance(result, Change):
                outcome.version = result.version
                outcome.snapshot = {
                    "state": result.state, "title": result.title,
                    "assignee_id": result.assignee_id,
                }  # fmt: skip
        self._record(outcome)
        return result

    def worker(self, index: int):
        """One worker's steps. Each `yield` is a point where other workers may act: between
        reading a ticket and writing it. The yielded number is a pause (threads sleep it)."""
        rng = random.Random(self.seed * 1000 + index)
        user = self.agents[index]
        incident_kinds, incident_weights = zip(*INCIDENT_STEPS.items(), strict=True)
        change_kinds, change_weights = zip(*CHANGE_STEPS.items(), strict=True)
        # Opening new tickets is spread over the run.
        opens_at = set(rng.sample(range(self.operations), min(self.opens, self.operations)))
        step = 0
        while step < self.operations or (
            # With threads: keep working while the import runs (bounded), so they overlap.
            self.import_running.is_set() and not self.import_done.is_set()
            and step < 10 * self.operations
        ):  # fmt: skip
            if step in opens_at:
                yield from self._open(index, user, rng, step)
            if rng.random() < 0.7:
                kind = rng.choices(incident_kinds, incident_weights)[0]
                yield from self._incident_step(index, user, rng, kind, step)
            else:
                kind = rng.choices(change_kinds, change_weights)[0]
                yield from self._change_step(index, user, rng, kind, step)
            step += 1

    def _open(self, index, user, rng, step):
        app = rng.choice(self.apps)
        outcome = Outcome(index, "open_incident", "incident", None, user.pk)
        yield 0
        incident = self._call(outcome, lambda: incident_svc.open_incident(
            user=user, title=f"{self.tag} w{index} s{step}", impact=rng.choice(IMPACTS),
            urgency=rng.choice(IMPACTS), applications=[app], assigned_team=self.team,
        ))  # fmt: skip
        if incident is not None:
            outcome.text = incident.number
        if step % 2 == 0:
            outcome = Outcome(index, "create_change", "change", None, user.pk)
            yield 0
            change = self._call(outcome, lambda: change_svc.create_change(
                user=user, title=f"{self.tag} w{index} s{step}", reason="stress test",
                applications=[app],
            ))  # fmt: skip
            if change is not None:
                outcome.text = change.number

    def _incident_step(self, index, user, rng, kind, step):
        pk = rng.choice(self.incident_pks)
        incident = Incident.objects.get(pk=pk)  # what the worker sees on screen
        versioned = kind != "comment" and rng.random() < 0.75
        expected = incident.version if versioned else None
        outcome = Outcome(index, kind, "incident", pk, user.pk, versioned=versioned)
        yield rng.uniform(0, self.max_pause)
        if kind == "assign":
            assignee = rng.choice(self.agents)
            call = lambda: incident_svc.assign_incident(  # noqa: E731
                incident, user=user, team=self.team, assignee=assignee, expected_version=expected
            )
        elif kind == "start":
            call = lambda: incident_svc.start_work(incident, user=user, expected_version=expected)  # noqa: E731
        elif kind == "pending":
            reason = rng.choice(PendingReason.values)
            call = lambda: incident_svc.set_pending(  # noqa: E731
                incident, user=user, reason=reason, expected_version=expected
            )
        elif kind == "comment":
            outcome.text = f"{self.tag} comment w{index} s{step}"
            public = rng.random() < 0.5
            call = lambda: incident_svc.add_comment(  # noqa: E731
                incident, user=user, text=outcome.text, public=public
            )
        elif kind == "resolve":
            call = lambda: incident_svc.resolve_incident(  # noqa: E731
                incident, user=user, resolution_code="solved_workaround",
                resolution_notes=f"restarted (w{index} s{step})", expected_version=expected,
            )  # fmt: skip
        elif kind == "reopen":
            call = lambda: incident_svc.reopen_incident(  # noqa: E731
                incident, user=user, reason="still broken", expected_version=expected
            )
        else:  # priority
            impact, urgency = rng.choice(IMPACTS), rng.choice(IMPACTS)
            call = lambda: incident_svc.change_priority(  # noqa: E731
                incident, user=user, impact=impact, urgency=urgency,
                reason=f"caller called again (w{index} s{step})", expected_version=expected,
            )  # fmt: skip
        self._call(outcome, call)

    def _change_step(self, index, user, rng, kind, step):
        # Only the last shared change is sent to authorization (no way leads back from there to
        # editing): the others stay editable, so edits and assessments keep competing.
        pk = self.change_pks[-1] if kind == "change_authorize" else rng.choice(self.change_pks)
        change = Change.objects.get(pk=pk)
        versioned = rng.random() < 0.75
        expected = change.version if versioned else None
        outcome = Outcome(index, kind, "change", pk, user.pk, versioned=versioned)
        yield rng.uniform(0, self.max_pause)
        if kind == "change_update":
            assignee = rng.choice(self.agents)
            title = f"{self.tag} change {pk} w{index} s{step}"
            call = lambda: change_svc.update_change(  # noqa: E731
                change, user=user, title=title, assignee=assignee, expected_version=expected
            )
        elif kind == "change_assess":
            call = lambda: change_svc.assess_change(change, user=user, expected_version=expected)  # noqa: E731
        else:
            call = lambda: change_svc.request_authorization(  # noqa: E731
                change, user=user, expected_version=expected
            )
        self._call(outcome, call)

    def import_job(self):
        """The import, one step: it runs in one transaction."""
        yield 0
        self.import_running.set()
        try:
            self.import_result = TabularImporter(
                "applications", self.csv_path, user=self.importer_user
            ).execute()
        except Exception as exc:  # a finding: reported by check()
            self.crashes.append(f"import: {type(exc).__name__}: {exc}")
        finally:
            self.import_done.set()

    # --- running ------------------------------------------------------------------------------

    def jobs(self) -> list:
        return [self.import_job()] + [self.worker(index) for index in range(self.workers)]

    def run_threads(self) -> None:
        """Every worker and the import in a thread of its own, with its own connection, all
        released together by a barrier."""
        self.mode = "threads"
        jobs = self.jobs()
        barrier = threading.Barrier(len(jobs))

        def drive(job):
            try:
                barrier.wait(timeout=60)
                for pause in job:
                    if pause:
                        time.sleep(pause)
            except Exception as exc:  # pragma: no cover - reported by check()
                self.crashes.append(f"{type(exc).__name__}: {exc}")
            finally:
                connections.close_all()  # this thread's connections only

        threads = [threading.Thread(target=drive, args=(job,), daemon=True) for job in jobs]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
            if thread.is_alive():
                self.crashes.append("a worker did not finish within 300 s")
        self.seconds = time.perf_counter() - started

    def run_interleaved(self) -> None:
        """One connection; the workers' steps run in a seeded random order, so another worker's
        write often falls between a worker's read and its write."""
        self.mode = "interleaved"
        rng = random.Random(self.seed)
        jobs = self.jobs()
        started = time.perf_counter()
        while jobs:
            job = rng.choice(jobs)
            try:
                next(job)
            except StopIteration:
                jobs.remove(job)
        self.seconds = time.perf_counter() - started

    # --- what came of it ----------------------------------------------------------------------

    def counts(self) -> dict[str, Counter]:
        """kind → Counter of "accepted", "refused <field>/<code>", "unexpected"."""
        result: dict[str, Counter] = defaultdict(Counter)
        for outcome in self.outcomes:
            if outcome.accepted:
                result[outcome.kind]["accepted"] += 1
            elif outcome.unexpected:
                result[outcome.kind]["unexpected"] += 1
            else:
                for name, code in outcome.refusals:
                    result[outcome.kind][f"refused {name}/{code}"] += 1
        return dict(sorted(result.items()))

    def check(self) -> list[str]:
        """Every invariant the scenario promises; returns what is violated (empty: all held)."""
        problems = list(self.crashes)
        for outcome in self.outcomes:
            if outcome.unexpected:
                problems.append(f"{outcome.kind} by w{outcome.worker}: {outcome.unexpected}")
            elif not outcome.accepted:
                odd = set(outcome.refusals) - ALLOWED_REFUSALS
                if odd or not outcome.refusals:
                    problems.append(f"{outcome.kind} refused with {outcome.refusals}")
                if ("version", "conflict") in outcome.refusals and not outcome.versioned:
                    problems.append(f"{outcome.kind} without a version refused as a conflict")
        for pk in self.incident_pks:
            problems += self._check_ticket("incident", pk)
        for pk in self.change_pks:
            problems += self._check_ticket("change", pk)
        problems += self._check_timeline()
        problems += self._check_numbers()
        problems += self._check_import()
        return problems

    def _accepted(self, model: str, pk: int) -> list[Outcome]:
        return sorted(
            (
                o for o in self.outcomes
                if o.model == model and o.pk == pk and o.accepted and o.version is not None
            ),
            key=lambda o: o.version,
        )  # fmt: skip

    def _check_ticket(self, model: str, pk: int) -> list[str]:
        problems = []
        cls = Incident if model == "incident" else Change
        ticket = cls.objects.get(pk=pk)
        start = self.baseline[(model, pk)]
        writes = self._accepted(model, pk)
        versions = [o.version for o in writes]
        if versions != list(range(start + 1, start + 1 + len(writes))):
            problems.append(f"{ticket.number}: accepted versions {versions} are not {start}+1…")
        if ticket.version != start + len(writes):
            problems.append(
                f"{ticket.number}: version {ticket.version}, expected {start} + {len(writes)} "
                "accepted writes"
            )
        if writes:
            last = writes[-1].snapshot
            now = {name: getattr(ticket, name) for name in last}
            if now != last:
                problems.append(f"{ticket.number}: ends as {now}, the last write was {last}")
        rows = {
            row.version: row for row in ticket.history.filter(version__gt=start, history_type="~")
        }
        if ticket.history.filter(version__gt=start).count() != len(writes):
            problems.append(f"{ticket.number}: {len(rows)} history rows for {len(writes)} writes")
        for outcome in writes:
            row = rows.get(outcome.version)
            if row is None:
                problems.append(f"{ticket.number}: no history for version {outcome.version}")
                continue
            seen = {name: getattr(row, name) for name in outcome.snapshot}
            reason = row.history_change_reason or ""
            if seen != outcome.snapshot:
                problems.append(
                    f"{ticket.number} v{outcome.version}: history {seen}, write {outcome.snapshot}"
                )
            if row.history_user_id != outcome.user_id:
                problems.append(f"{ticket.number} v{outcome.version}: history user differs")
            if not reason.startswith(REASONS[outcome.kind]):
                problems.append(f"{ticket.number} v{outcome.version}: reason {reason!r}")
            target = TARGETS[outcome.kind]
            if target is not None and outcome.snapshot["state"] != target:
                problems.append(f"{ticket.number} v{outcome.version}: {outcome.kind} left "
                                f"it {outcome.snapshot['state']}")  # fmt: skip
            if model == "incident":
                problems += self._incident_row_consistent(ticket.number, row)
        if model == "incident":
            problems += self._incident_row_consistent(ticket.number, ticket)
        return problems

    @staticmethod
    def _incident_row_consistent(number: str, row) -> list[str]:
        """What a state implies about the other fields, for the incident or a history row."""
        problems = []
        where = f"{number} v{row.version} ({row.state})"
        is_open = row.state in {"new", "assigned", "in_progress", "pending"}
        if is_open and (row.resolution_code or row.resolved_at is not None):
            problems.append(f"{where}: open but still carries a resolution")
        if row.state == "resolved" and not (row.resolution_code and row.resolved_at):
            problems.append(f"{where}: resolved without a resolution")
        if (row.state == "pending") != bool(row.pending_reason):
            problems.append(f"{where}: pending reason {row.pending_reason!r}")
        if (row.state == "pending") != (row.paused_since is not None):
            problems.append(f"{where}: SLA clock paused since {row.paused_since}")
        return problems

    def _check_timeline(self) -> list[str]:
        """Comments all there once; status changes, assignments and priority changes in the
        timeline exactly as the accepted writes imply."""
        problems = []
        events = IncidentEvent.objects.filter(
            pk__gt=self.last_event_id, incident_id__in=self.incident_pks
        )
        for outcome in self.outcomes:
            if outcome.kind == "comment" and outcome.accepted:
                found = events.filter(incident_id=outcome.pk, text=outcome.text).count()
                if found != 1:
                    problems.append(f"comment {outcome.text!r} found {found} times")
        for pk in self.incident_pks:
            expected_moves, expected_kinds = Counter(), Counter()
            state = self.baseline_states[("incident", pk)]
            for outcome in self._accepted("incident", pk):
                target = outcome.snapshot["state"]
                if outcome.kind == "assign":
                    expected_kinds[IncidentEventKind.ASSIGNMENT] += 1
                    if state != target:
                        expected_moves[(state, target)] += 1
                elif outcome.kind == "priority":
                    expected_kinds[IncidentEventKind.PRIORITY_CHANGE] += 1
                else:
                    expected_moves[(state, target)] += 1
                state = target
            mine = events.filter(incident_id=pk)
            moves = Counter(
                mine.filter(kind=IncidentEventKind.STATE_CHANGE).values_list(
                    "from_state", "to_state"
                )
            )
            if moves != expected_moves:
                problems.append(f"incident {pk}: status changes {moves} != {expected_moves}")
            for kind, count in expected_kinds.items():
                if mine.filter(kind=kind).count() != count:
                    problems.append(f"incident {pk}: {kind} events != {count}")
        return problems

    def _check_numbers(self) -> list[str]:
        """The numbers drawn during the run are unique and consecutive, right after the ones
        drawn before it (nothing else opens tickets meanwhile)."""
        problems = []
        for prefix, model, kind in (
            ("INC", Incident, "open_incident"), ("CHG", Change, "create_change")
        ):  # fmt: skip
            drawn = [o.text for o in self.outcomes if o.kind == kind and o.accepted]
            before = self.counters_before[prefix]
            after = TicketCounter.objects.get(prefix=prefix, year=self.year).last
            sequence = sorted(int(number.rsplit("-", 1)[1]) for number in drawn)
            if sequence != list(range(before + 1, after + 1)):
                problems.append(
                    f"{prefix}: {len(drawn)} numbers drawn, {len(set(drawn))} distinct, "
                    f"not gap-free {before + 1}…{after}"
                )
            stored = model.objects.filter(number__in=drawn).count()
            if stored != len(drawn):
                problems.append(f"{prefix}: {stored} tickets stored for {len(drawn)} creations")
            creators = {o.text: o.user_id for o in self.outcomes if o.kind == kind and o.accepted}
            history = model.history.model.objects.filter(number__in=drawn)
            recorded = Counter()
            for number, user_id, reason in history.values_list(
                "number", "history_user_id", "history_change_reason"
            ):
                recorded[number] += 1
                if user_id != creators[number] or not reason:
                    problems.append(f"{number}: history by user {user_id}, reason {reason!r}")
            if set(recorded) != set(drawn):
                problems.append(f"{prefix}: {len(drawn) - len(recorded)} creations lack history")
            numbers = model.objects.values_list("number", flat=True)
            if numbers.count() != numbers.distinct().count():
                problems.append(f"{prefix}: duplicate numbers")
        return problems

    def _check_import(self) -> list[str]:
        result = self.import_result
        if result is None:
            return ["the import did not run"]
        problems = []
        created = self.import_rows - len(self.apps)
        if result.errors or not result.written:
            problems.append(f"import: {result.summary()} {[str(e) for e in result.errors[:3]]}")
        if (result.created, result.updated) != (created, len(self.apps)):
            problems.append(f"import: {result.summary()}, expected {created} created")
        reason = f"import: applications from {self.csv_path.name}"
        recorded = Application.history.filter(
            history_change_reason=reason, history_user=self.importer_user
        ).count()
        if recorded != self.import_rows:
            problems.append(f"import: {recorded} history rows for {self.import_rows} rows")
        critical = Application.objects.filter(
            pk__in=[a.pk for a in self.apps], criticality="business_critical"
        ).count()
        if critical != len(self.apps):
            problems.append("import: the updated applications lost the imported criticality")
        return problems

    def report(self) -> str:
        lines = [f"{self.mode} on {connection.vendor}: {self.seconds:.1f} s, "
                 f"{len(self.outcomes)} calls by {self.workers} workers"]  # fmt: skip
        for kind, counter in self.counts().items():
            details = ", ".join(f"{key} {value}" for key, value in sorted(counter.items()))
            lines.append(f"  {kind:17} {details}")
        during = sum(o.during_import for o in self.outcomes)
        lines.append(f"  calls while the import ran: {during}")
        if self.import_result is not None:
            lines.append(f"  {self.import_result.summary()}")
        return "\n".join(lines)


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Stress test (writes into the configured database: use a test or staging database): "
        "parallel workers transition, comment, assign and re-prioritise the same incidents and "
        "edit the same changes while an application import runs; then check that every "
        "accepted write is present, every refusal was a conflict or a refused transition, "
        "ticket numbers are unique and gap-free and history is complete. Exit status 1 when an "
        "invariant fails."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--confirm", action="store_true", help="test data may be written into this database"
        )
        parser.add_argument("--workers", type=positive_int, default=12)
        parser.add_argument("--operations", type=positive_int, default=100,
                            help="steps per worker (more while the import still runs)")  # fmt: skip
        parser.add_argument("--opens", type=int, default=5, help="new incidents per worker")
        parser.add_argument("--incidents", type=positive_int, default=4)
        parser.add_argument("--changes", type=positive_int, default=2)
        parser.add_argument("--import-rows", type=positive_int, default=2000)
        parser.add_argument("--seed", type=int, default=8)
        parser.add_argument("--mode", choices=["auto", "threads", "interleaved"], default="auto",
                            help="auto: threads on PostgreSQL, interleaved otherwise")  # fmt: skip

    def handle(self, *args, **options):
        if not options["confirm"]:
            raise CommandError(
                "stress_tickets writes users, applications, incidents and changes into "
                f"the {connection.vendor} database {connection.settings_dict['NAME']}; "
                "run it on a test database and pass --confirm."
            )
        tag = f"stress-{timezone.now():%Y%m%d%H%M%S}"
        mode = options["mode"]
        if mode == "auto":
            mode = "threads" if connection.vendor == "postgresql" else "interleaved"
        with tempfile.TemporaryDirectory(prefix="landkarte-stress-") as directory:
            scenario = TicketStress(
                workers=options["workers"], operations=options["operations"],
                opens=options["opens"], incidents=options["incidents"],
                changes=options["changes"], import_rows=max(options["import_rows"], 4),
                seed=options["seed"], tag=tag, directory=Path(directory),
            )  # fmt: skip
            scenario.setup()
            if mode == "threads":
                scenario.run_threads()
            else:
                scenario.run_interleaved()
        self.stdout.write(scenario.report())
        problems = scenario.check()
        for problem in problems:
            self.stdout.write(f"FAILED: {problem}")
        if problems:
            raise SystemExit(1)
        self.stdout.write(f"all invariants hold (tag {tag})")
