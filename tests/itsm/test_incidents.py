"""The incident lifecycle as service functions: rules, timeline, history, SLA clock."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from itsm.models import Incident
from itsm.services import incidents as svc
from itsm.services import problems
from tests.itsm.conftest import BERLIN

pytestmark = pytest.mark.django_db
H = datetime.timedelta(hours=1)


def codes(exc: ValidationError) -> set[tuple[str, str]]:
    return {(field, e.code) for field, errors in exc.error_dict.items() for e in errors}


@pytest.fixture
def incident(calendar, desk, landscape, monday_9):
    return svc.open_incident(
        user=desk, title="Portal login fails", impact="medium", urgency="high",
        applications=[landscape["portal"]], service=landscape["service"], now=monday_9,
    )  # fmt: skip


def test_open_sets_number_priority_and_sla(incident, monday_9):
    assert incident.number == "INC-2026-000001"
    assert incident.priority == "p2"
    assert incident.state == "new"
    assert incident.response_due == monday_9 + datetime.timedelta(minutes=30)
    # P2 resolves in 8 business hours: 7.5 h on Monday (until 16:30), 0.5 h on Tuesday.
    assert incident.resolution_due == datetime.datetime(2026, 6, 2, 8, 0, tzinfo=BERLIN)
    assert [e.kind for e in incident.timeline.all()] == ["created"]
    assert incident.history.get().history_user.username == "desk"


def test_full_lifecycle_with_pending_pause(incident, agent, team, desk, monday_9):
    incident = svc.assign_incident(
        incident, user=desk, team=team, assignee=agent, now=monday_9 + 0.25 * H
    )
    assert incident.state == "assigned"
    assert incident.response_minutes == 15 and not incident.response_breached
    incident = svc.start_work(incident, user=agent, now=monday_9 + 0.5 * H)
    incident = svc.set_pending(incident, user=agent, reason="awaiting_caller", now=monday_9 + 1 * H)
    due_before = incident.resolution_due
    incident = svc.start_work(incident, user=agent, now=monday_9 + 3 * H)
    assert incident.paused_minutes == 120
    assert incident.resolution_due == due_before + 2 * H
    incident = svc.resolve_incident(
        incident, user=agent, resolution_code="solved_permanently",
        resolution_notes="Certificate renewed", now=monday_9 + 4 * H,
    )  # fmt: skip
    assert incident.state == "resolved"
    assert incident.resolution_minutes == 120  # 4 h open minus 2 h pending
    assert not incident.resolution_breached
    incident = svc.close_incident(incident, user=desk, now=monday_9 + 5 * H)
    assert incident.state == "closed" and incident.closed_at == monday_9 + 5 * H
    kinds = [(e.kind, e.to_state) for e in incident.timeline.all()]
    assert ("state_change", "pending") in kinds and ("state_change", "closed") in kinds
    reasons = list(incident.history.values_list("history_change_reason", flat=True))
    assert "pending: awaiting_caller" in reasons and reasons[0] == "closed"
    assert incident.version == 7


@pytest.mark.parametrize(
    "action,kwargs,code",
    [
        (svc.close_incident, {}, ("state", "invalid_transition")),
        (svc.start_work, {}, ("state", "invalid_transition")),
        (svc.set_pending, {"reason": "awaiting_caller"}, ("state", "invalid_transition")),
        (svc.reopen_incident, {"reason": "x"}, ("state", "invalid_transition")),
    ],
)
def test_illegal_transitions_change_nothing(incident, desk, action, kwargs, code):
    history_before = incident.history.count()
    events_before = incident.timeline.count()
    with pytest.raises(ValidationError) as exc:
        action(incident, user=desk, **kwargs)
    assert code in codes(exc.value)
    fresh = Incident.objects.get(pk=incident.pk)
    assert (fresh.state, fresh.version) == ("new", 1)
    assert fresh.history.count() == history_before
    assert fresh.timeline.count() == events_before


def test_target_state_requirements(incident, agent, team, desk, make_user):
    with pytest.raises(ValidationError) as exc:
        svc.assign_incident(incident, user=desk, team=team, assignee=None)
    assert ("assignee", "required") in codes(exc.value)
    outsider = make_user("outsider", "service_desk")
    with pytest.raises(ValidationError) as exc:
        svc.assign_incident(incident, user=desk, team=team, assignee=outsider)
    assert ("assignee", "not_team_member") in codes(exc.value)
    incident = svc.assign_incident(incident, user=desk, team=team, assignee=agent)
    with pytest.raises(ValidationError) as exc:
        svc.set_pending(incident, user=agent, reason="")
    assert ("reason", "required") in codes(exc.value)
    with pytest.raises(ValidationError) as exc:
        svc.resolve_incident(incident, user=agent, resolution_code="", resolution_notes=" ")
    assert codes(exc.value) == {("resolution_code", "required"), ("resolution_notes", "required")}
    assert Incident.objects.get(pk=incident.pk).state == "assigned"


def test_permissions(incident, make_user, team, agent):
    requester = make_user("req", "requester")
    auditor = make_user("aud", "auditor")
    with pytest.raises(PermissionDenied):
        svc.assign_incident(incident, user=requester, team=team, assignee=agent)
    with pytest.raises(PermissionDenied):
        svc.open_incident(user=auditor, title="x", impact="low", urgency="low")
    # A requester may report and comment on their own incident, but not write work notes.
    own = svc.open_incident(user=requester, title="Printer", impact="low", urgency="low")
    assert own.caller == requester and own.priority == "p4"
    svc.add_comment(own, user=requester, text="Still broken")
    with pytest.raises(PermissionDenied):
        svc.add_comment(own, user=requester, text="internal", public=False)
    with pytest.raises(PermissionDenied):
        svc.add_comment(incident, user=requester, text="not mine")


def test_stale_version_is_a_conflict(incident, desk, team, agent):
    svc.assign_incident(incident, user=desk, team=team, assignee=agent, expected_version=1)
    with pytest.raises(ValidationError) as exc:
        svc.cancel_incident(incident, user=desk, reason="dup", expected_version=1)
    assert ("version", "conflict") in codes(exc.value)
    assert Incident.objects.get(pk=incident.pk).state == "assigned"


def test_reopen_and_reassignment_counts(incident, desk, team, agent, make_user, monday_9):
    from cmdb.factories import TeamFactory

    other_agent = make_user("other", "service_desk")
    other_team = TeamFactory(members=[other_agent])
    svc.assign_incident(incident, user=desk, team=team, assignee=agent, now=monday_9)
    svc.assign_incident(
        incident, user=desk, team=other_team, assignee=other_agent, now=monday_9 + H
    )
    svc.resolve_incident(
        incident, user=other_agent, resolution_code="solved_workaround",
        resolution_notes="Cache cleared", now=monday_9 + 2 * H,
    )  # fmt: skip
    incident = svc.reopen_incident(
        incident, user=desk, reason="Happens again", now=monday_9 + 3 * H
    )
    assert incident.state == "in_progress"
    assert (incident.reopen_count, incident.reassignment_count) == (1, 1)
    assert incident.resolved_at is None and incident.resolution_code == ""


def test_only_a_resolved_incident_can_be_reopened(incident, desk, team, agent, monday_9):
    svc.assign_incident(incident, user=desk, team=team, assignee=agent, now=monday_9)
    with pytest.raises(ValidationError) as refused:
        svc.reopen_incident(incident, user=desk, reason="Again", now=monday_9 + H)
    assert refused.value.error_dict["state"][0].code == "invalid_transition"
    incident.refresh_from_db()
    assert (incident.state, incident.reopen_count) == ("assigned", 0)


def test_resolving_a_parent_resolves_its_children(calendar, desk, team, agent, monday_9):
    parent = svc.open_incident(
        user=desk, title="Mail outage", impact="high", urgency="high", is_major=True,
        now=monday_9,
    )  # fmt: skip
    children = [
        svc.open_incident(
            user=desk,
            title=f"No mail {i}",
            impact="low",
            urgency="medium",
            parent=parent,
            now=monday_9,
        )  # fmt: skip
        for i in range(2)
    ]
    svc.assign_incident(children[0], user=desk, team=team, assignee=agent, now=monday_9)
    svc.assign_incident(parent, user=desk, team=team, assignee=agent, now=monday_9)
    svc.resolve_incident(
        parent, user=agent, resolution_code="solved_permanently",
        resolution_notes="Mail relay restarted", now=monday_9 + H,
    )  # fmt: skip
    for child in children:
        child.refresh_from_db()
        assert child.state == "resolved"
        assert child.resolution_notes == "Mail relay restarted"
    with pytest.raises(ValidationError) as exc:
        svc.open_incident(
            user=desk, title="grandchild", impact="low", urgency="low", parent=children[0]
        )
    assert ("parent", "nested_parent") in codes(exc.value)


def test_auto_close_after_business_days(incident, desk, team, agent, monday_9):
    svc.assign_incident(incident, user=desk, team=team, assignee=agent, now=monday_9)
    friday = datetime.datetime(2026, 6, 5, 10, 0, tzinfo=BERLIN)
    svc.resolve_incident(
        incident, user=agent, resolution_code="solved_permanently", resolution_notes="ok",
        now=friday,
    )  # fmt: skip
    # Three business days after Friday 5 June 10:00: Mon 8, Tue 9, Wed 10 June 10:00.
    assert (
        svc.close_resolved_incidents(
            user=desk, business_days=3, now=datetime.datetime(2026, 6, 10, 9, 0, tzinfo=BERLIN)
        )
        == []
    )
    assert svc.close_resolved_incidents(
        user=desk, business_days=3, now=datetime.datetime(2026, 6, 10, 10, 0, tzinfo=BERLIN)
    ) == [incident.number]
    assert Incident.objects.get(pk=incident.pk).state == "closed"


def test_known_errors_and_open_incidents_through_dependencies(incident, desk, landscape, monday_9):
    idp_incident = svc.open_incident(
        user=desk, title="SSO slow", impact="low", urgency="low",
        applications=[landscape["idp"]], now=monday_9,
    )  # fmt: skip
    problem = problems.open_problem(
        user=desk, title="Token expiry too short", applications=[landscape["idp"]]
    )
    problems.transition_problem(problem, user=desk, to_state="investigating")
    problems.transition_problem(
        problem, user=desk, to_state="known_error", workaround="Log in again"
    )
    unrelated = problems.open_problem(user=desk, title="Printer driver")
    related = svc.related_for(incident)
    assert list(related["known_errors"]) == [problem]
    assert list(related["open_incidents"]) == [idp_incident]
    assert unrelated not in related["known_errors"]
    # The known error database, searched by text and by application.
    assert list(problems.search_known_errors(text="token")) == [problem]
    assert list(problems.search_known_errors(applications=[landscape["idp"]])) == [problem]
    assert list(problems.search_known_errors(applications=[landscape["payment"]])) == []
