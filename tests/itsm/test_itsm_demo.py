"""The ITSM demo: a year of tickets on the demo city, consistent with the models' rules and
the services, idempotent, and continued by the services afterwards without number collisions.

The demo is built once for the module (about ten seconds) inside a transaction that is rolled
back at the end; every test runs in its own savepoint inside it.
"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from cmdb import graph
from cmdb.demo import build_demo_city
from cmdb.models import Application
from itsm.choices import (
    ChangeOutcome,
    ChangeRisk,
    ChangeState,
    ChangeType,
    IncidentEventKind,
    IncidentState,
    ProblemState,
)
from itsm.demo import DependentsIndex, build_itsm_demo
from itsm.models import (
    Change,
    ChangeApproval,
    ClosingDay,
    FreezeWindow,
    Incident,
    IncidentEvent,
    Problem,
    ServiceLevel,
    TicketCounter,
)
from itsm.services.conflicts import change_conflicts
from itsm.services.incidents import open_incident
from itsm.services.problems import search_known_errors

OPEN = [IncidentState.NEW, IncidentState.ASSIGNED, IncidentState.IN_PROGRESS, IncidentState.PENDING]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        build_demo_city(seed=1, scale=1)
        first = build_itsm_demo(seed=1, scale=1)
        second = build_itsm_demo(seed=1, scale=1)
        yield {"first": first, "second": second}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def test_a_year_of_incidents_in_every_state(demo):
    incidents = Incident.objects.all()
    assert incidents.count() >= 2000
    assert demo["first"]["created"]["Incident"] == incidents.count()
    states = set(incidents.values_list("state", flat=True))
    assert states == set(IncidentState.values)
    year_ago = timezone.now() - datetime.timedelta(days=366)
    assert not incidents.filter(Q(opened_at__lt=year_ago) | Q(opened_at__gt=timezone.now()))
    # mostly P3/P4, some P1/P2
    p1_p2 = incidents.filter(priority__in=["p1", "p2"]).count()
    assert 0 < p1_p2 < incidents.count() * 0.3
    # mostly opened in working hours
    hours = [timezone.localtime(o).hour for o in incidents.values_list("opened_at", flat=True)]
    assert sum(7 <= h < 17 for h in hours) > 0.8 * len(hours)
    assert incidents.filter(Q(response_breached=True) | Q(resolution_breached=True)).exists()
    assert incidents.filter(reopen_count__gt=0).exists()
    assert incidents.filter(reassignment_count__gt=0).exists()
    assert incidents.filter(problem__isnull=False).exists()
    majors = incidents.filter(is_major=True).annotate(n=Count("children"))
    assert majors.exists() and all(major.n > 0 for major in majors)
    assert not incidents.filter(applications=None).exists()
    assert incidents.filter(applications__external_id="demo:app:keycloak").exists()


def test_incidents_satisfy_the_rules(demo):
    incidents = Incident.objects.all()
    assert not incidents.filter(state=IncidentState.PENDING, pending_reason="")
    assert not incidents.exclude(state=IncidentState.PENDING).exclude(pending_reason="")
    resolved = incidents.filter(state__in=[IncidentState.RESOLVED, IncidentState.CLOSED])
    assert not resolved.filter(Q(resolution_code="") | Q(resolution_notes=""))
    assert not resolved.filter(resolved_at=None)
    assert not incidents.filter(
        state__in=[IncidentState.CLOSED, IncidentState.CANCELLED], closed_at=None
    )
    assert not incidents.filter(state__in=OPEN).exclude(closed_at=None)
    assert not incidents.filter(state=IncidentState.NEW).exclude(assigned_team=None)
    assert not incidents.filter(state__in=OPEN[1:], assignee=None)
    # the SLA clock: paused exactly while pending, breach flags agree with the due dates
    assert not incidents.filter(state=IncidentState.PENDING, paused_since=None)
    assert not incidents.exclude(state=IncidentState.PENDING).exclude(paused_since=None)
    assert not incidents.filter(service_level=None)
    for incident in resolved.only("resolved_at", "resolution_due", "resolution_breached"):
        assert incident.resolution_breached == (incident.resolved_at > incident.resolution_due)
    responded = incidents.exclude(responded_at=None)
    for incident in responded.only("responded_at", "response_due", "response_breached"):
        assert incident.response_breached == (incident.responded_at > incident.response_due)
    # model validation, including the check constraints, on a sample
    for incident in incidents.order_by("number")[::50]:
        incident.full_clean(exclude=["applications", "components"])
    # every child is resolved with its parent
    for child in incidents.filter(parent__isnull=False).select_related("parent"):
        assert child.parent.parent_id is None
        if child.parent.state in (IncidentState.RESOLVED, IncidentState.CLOSED):
            assert child.state in (IncidentState.RESOLVED, IncidentState.CLOSED)


def test_timelines(demo):
    events = IncidentEvent.objects.all()
    assert events.filter(kind=IncidentEventKind.CREATED).count() == Incident.objects.count()
    assert events.count() > 4 * Incident.objects.count()
    kinds = set(events.values_list("kind", flat=True))
    assert {"created", "assignment", "state_change", "comment", "work_note", "link"} <= kinds
    assert not events.filter(at__lt=F("incident__opened_at"))
    assert not events.filter(at__gt=timezone.now())
    # the last state change leads to the incident's state
    for incident in Incident.objects.exclude(state=IncidentState.NEW).order_by("number")[::100]:
        last = incident.timeline.filter(kind=IncidentEventKind.STATE_CHANGE).last()
        assert last.to_state == incident.state
    reopened = Incident.objects.filter(reopen_count__gt=0).first()
    assert reopened.timeline.filter(from_state="resolved", to_state="in_progress").exists()


def test_numbers_follow_the_opening_order_and_the_counters(demo):
    year = timezone.localdate().year
    numbers = list(
        Incident.objects.filter(number__startswith=f"INC-{year}-")
        .order_by("opened_at", "number")
        .values_list("number", flat=True)
    )
    assert numbers == sorted(numbers)
    for prefix, model in (("INC", Incident), ("PRB", Problem), ("CHG", Change)):
        for counter in TicketCounter.objects.filter(prefix=prefix):
            highest = model.objects.filter(number__startswith=f"{prefix}-{counter.year}-")
            assert counter.last == int(highest.order_by("-number").first().number[-6:])


def test_problems_and_known_errors(demo):
    problems = Problem.objects.all()
    assert problems.count() >= 30
    known = problems.filter(is_known_error=True).exclude(workaround="")
    assert known.count() >= 20
    assert not problems.filter(is_known_error=True, workaround="")
    states = set(problems.values_list("state", flat=True))
    assert {ProblemState.INVESTIGATING, ProblemState.KNOWN_ERROR} <= states
    assert {ProblemState.RESOLVED, ProblemState.CLOSED} & states
    for key in ("keycloak", "active-directory", "dvelop", "exchange"):
        assert known.filter(applications__external_id=f"demo:app:{key}").exists(), key
    assert known.annotate(n=Count("incidents")).filter(n__gt=0).count() >= 15
    assert not problems.filter(
        state__in=[ProblemState.RESOLVED, ProblemState.CLOSED], root_cause=""
    )
    assert problems.filter(changes__isnull=False).exists()
    keycloak = known.filter(
        state=ProblemState.KNOWN_ERROR, applications__external_id="demo:app:keycloak"
    ).first()
    assert keycloak in search_known_errors(applications=keycloak.applications.all())
    for problem in problems:
        problem.full_clean(exclude=["applications", "components", "changes"])


def test_changes(demo):
    changes = Change.objects.all()
    assert changes.count() >= 100
    assert changes.filter(outcome=ChangeOutcome.FAILED).exists()
    assert changes.filter(outcome=ChangeOutcome.ROLLED_BACK).exists()
    failed = changes.filter(outcome__in=[ChangeOutcome.FAILED, ChangeOutcome.ROLLED_BACK])
    assert 0.05 < failed.count() / changes.exclude(outcome=None).count() < 0.15
    assert set(changes.values_list("change_type", flat=True)) == set(ChangeType.values)
    standard = changes.filter(change_type=ChangeType.STANDARD)
    assert not standard.filter(template=None)
    assert standard.values("template").distinct().count() >= 3
    assert not changes.exclude(state=ChangeState.DRAFT).filter(risk=None)
    assert changes.filter(risk=ChangeRisk.HIGH).exists()
    assert not changes.filter(Q(planned_start=None) | Q(planned_end=None))
    assert changes.filter(state=ChangeState.SCHEDULED, planned_start__gt=timezone.now()).exists()
    assert not changes.filter(state=ChangeState.CLOSED, closed_at=None)
    for change in changes:
        change.full_clean()
    # approvals: the change manager, the owner teams for high risk, never by the requester
    approvals = ChangeApproval.objects.all()
    assert approvals.filter(approver__username="change", role="change_manager").exists()
    assert approvals.filter(role="emergency_cab").exists()
    assert approvals.filter(on_behalf_of_team__isnull=False).exists()
    assert not approvals.filter(approver=F("change__requested_by"))
    assert not approvals.filter(change__change_type=ChangeType.STANDARD)
    normal_done = changes.filter(change_type=ChangeType.NORMAL, state=ChangeState.CLOSED)
    assert not normal_done.filter(approvals=None)
    for approval in approvals:
        approval.full_clean()


def test_conflicts_and_freeze_windows(demo):
    now = timezone.now()
    conflicts = change_conflicts(now, now + datetime.timedelta(days=60))
    kinds = {conflict.kind for conflict in conflicts}
    assert {"same_application", "dependent_application"} <= kinds
    pairs = {(c.change.pk, c.other.pk) for c in conflicts if c.kind != "freeze_window"}
    assert len(pairs) >= 3
    new_year = datetime.datetime(now.year + 1, 1, 1, 12, tzinfo=timezone.get_current_timezone())
    assert FreezeWindow.objects.filter(start__lte=new_year, end__gt=new_year, applies_to_all=True)
    # only emergency changes in freeze windows, and never without a reason
    for window in FreezeWindow.objects.all():
        inside = Change.objects.filter(planned_start__lt=window.end, planned_end__gt=window.start)
        assert not inside.exclude(change_type=ChangeType.EMERGENCY)
        assert not inside.filter(freeze_override_reason="")
    overridden = Change.objects.filter(change_type=ChangeType.EMERGENCY).exclude(
        freeze_override_reason=""
    )
    assert overridden.exists()


def test_service_levels_and_closing_days(demo):
    identity = ServiceLevel.objects.get(service__code="TS-02")
    default = ServiceLevel.objects.get(service=None)
    assert identity.calendar != default.calendar
    assert identity.targets.get(priority="p1").resolution_minutes < (
        default.targets.get(priority="p1").resolution_minutes
    )
    assert Incident.objects.filter(service_level=identity).exists()
    year = timezone.localdate().year
    for day in (
        datetime.date(year, 12, 24),
        datetime.date(year, 12, 31),
        datetime.date(year + 1, 12, 24),
        datetime.date(year + 1, 12, 31),
    ):
        assert ClosingDay.objects.filter(calendar=default.calendar, date=day).exists()


def test_second_run_creates_nothing(demo):
    assert sum(demo["second"]["created"].values()) == 0
    assert demo["second"]["total"] == demo["first"]["total"]
    assert demo["first"]["created"]["Change"] == demo["first"]["total"]["Change"]


def test_the_services_continue_the_numbering(demo):
    desk = get_user_model().objects.get(username="desk")
    now = timezone.now()
    highest = (
        Incident.objects.filter(number__startswith=f"INC-{now.year}-")
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    incident = open_incident(user=desk, title="Drucker druckt nicht", impact="low", urgency="low")
    # open_incident numbers by the year of `now` in UTC
    assert incident.number == f"INC-{now.year}-{int(highest[-6:]) + 1 if highest else 1:06d}"
    assert incident.service_level is not None


def test_the_in_memory_walk_for_the_risk_matches_the_graph(demo):
    """The demo assesses change risk with the graph walk served from memory (scale 50 would
    take minutes in the database); it must find what cmdb.graph finds."""
    index = DependentsIndex()
    today = timezone.localdate()
    keys = ["keycloak", "dvelop", "ok-ewo", "sormas", "opendesk", "00100", "00200"]
    for app in Application.objects.filter(external_id__in=[f"demo:app:{k}" for k in keys]):
        for as_of in (
            None,
            today - datetime.timedelta(days=300),
            today,
            today.replace(year=today.year + 2),
        ):
            expected = {node.application_id for node in graph.dependents(app, None, as_of)}
            found = {node.application_id for node in index.dependents(app, None, as_of)}
            assert found == expected, (app, as_of)
