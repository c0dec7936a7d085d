"""Change lifecycle: normal, standard and emergency changes, approvals, freeze windows,
permissions and optimistic concurrency, all through itsm.services.changes."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from cmdb.choices import Criticality
from cmdb.factories import (
    ApplicationFactory,
    InterfaceFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
)
from itsm.choices import (
    ApprovalDecision,
    ChangeOutcome,
    ChangeRisk,
    ChangeState,
    ChangeType,
)
from itsm.models import Change, ChangeApproval, ChangeTemplate, FreezeWindow
from itsm.services import changes as svc
from landkarte.roles import sync_role_groups

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
START = datetime.datetime(2026, 3, 10, 20, 0, tzinfo=BERLIN)
END = datetime.datetime(2026, 3, 10, 23, 0, tzinfo=BERLIN)


# --- local factories -------------------------------------------------------------------------


@pytest.fixture
def make_user(db):
    """Users in role groups; without a password, which would cost a hash per user."""
    sync_role_groups()

    def make(username: str, role: str | None = None, superuser: bool = False):
        user = UserFactory(username=username, is_superuser=superuser)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("chg_admin", superuser=True)


@pytest.fixture
def desk(make_user):
    return make_user("chg_desk", "service_desk")


@pytest.fixture
def manager(make_user):
    return make_user("chg_manager", "change_manager")


@pytest.fixture
def other_manager(make_user):
    return make_user("chg_manager2", "change_manager")


@pytest.fixture
def requester_role(make_user):
    return make_user("chg_requester", "requester")


@pytest.fixture
def app(db):
    return ApplicationFactory(name="Fachverfahren Meldewesen")


def make_change(user, *, applications=(), **fields) -> Change:
    defaults = {
        "title": "Apply security patch",
        "reason": "Vendor advisory",
        "implementation_plan": "Install the patch on both nodes.",
        "backout_plan": "Restore the VM snapshot.",
        "test_plan": "Log in and search a record.",
    }
    return svc.create_change(user=user, applications=applications, now=NOW, **defaults | fields)


def to_authorization(change, user) -> Change:
    change = svc.submit_for_assessment(change, user=user)
    change = svc.assess_change(change, user=user)
    return svc.request_authorization(change, user=user)


def codes(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


def state_path(change) -> list[str]:
    """The states a change went through, from its history."""
    path = []
    for state in change.history.order_by("history_date", "history_id").values_list(
        "state", flat=True
    ):
        if not path or path[-1] != state:
            path.append(state)
    return path


def assert_refused(call, change, code, field=None):
    """The call fails with `code` and leaves the change exactly as it was."""
    change.refresh_from_db()
    state, version, history = change.state, change.version, change.history.count()
    with pytest.raises(ValidationError) as info:
        call()
    found = codes(info.value)
    if field is None:
        assert any(code in field_codes for field_codes in found.values()), found
    else:
        assert code in found.get(field, []), found
    change.refresh_from_db()
    assert (change.state, change.version, change.history.count()) == (state, version, history)
    return found


# --- normal changes ---------------------------------------------------------------------------


def test_create_numbers_the_change_and_starts_in_draft(desk, app):
    change = make_change(desk, applications=[app])
    assert change.number == "CHG-2026-000001"
    assert change.state == ChangeState.DRAFT
    assert change.version == 1
    assert change.requested_by == desk
    assert list(change.applications.all()) == [app]
    assert make_change(desk).number == "CHG-2026-000002"
    record = change.history.earliest()
    assert record.history_user == desk
    assert record.history_change_reason == "created"


def test_normal_change_full_lifecycle(desk, manager, app):
    change = make_change(desk, applications=[app])
    change = svc.submit_for_assessment(change, user=desk)
    assert change.state == ChangeState.ASSESSMENT
    change = svc.assess_change(change, user=desk)
    # Business operational (10), no dependents, normal type, no history.
    assert (change.risk, change.risk_score) == (ChangeRisk.LOW, 10)
    assert [f["factor"] for f in change.risk_factors] == [
        "criticality", "dependents", "change_type", "failure_rate",
    ]  # fmt: skip
    change = svc.request_authorization(change, user=desk)
    assert change.state == ChangeState.AUTHORIZATION

    required = svc.required_approvals(change)
    assert [(r.role, r.team, r.satisfied) for r in required] == [("change_manager", None, False)]

    change = svc.approve_change(change, user=manager, comment="Fine")
    [slot] = svc.required_approvals(change)
    assert slot.satisfied
    assert slot.approval.approver == manager
    assert slot.approval.decision == ApprovalDecision.APPROVED
    assert slot.approval.comment == "Fine"

    change = svc.schedule_change(change, user=desk, planned_start=START, planned_end=END)
    assert change.state == ChangeState.SCHEDULED
    assert (change.planned_start, change.planned_end) == (START, END)
    assert change.freeze_override_reason == ""

    started = START + datetime.timedelta(minutes=5)
    change = svc.start_implementation(change, user=desk, now=started)
    assert (change.state, change.actual_start) == (ChangeState.IMPLEMENTING, started)

    finished = START + datetime.timedelta(hours=1)
    change = svc.complete_implementation(
        change, user=desk, outcome=ChangeOutcome.SUCCESSFUL, notes="Patched", now=finished
    )
    # A normal change is reviewed even when it went well.
    assert change.state == ChangeState.REVIEW
    assert (change.outcome, change.actual_end) == (ChangeOutcome.SUCCESSFUL, finished)
    assert change.implementation_notes == "Patched"

    assert_refused(
        lambda: svc.close_change(change, user=manager, review_notes=" "),
        change,
        "review_required",
        "review_notes",
    )
    closed_at = finished + datetime.timedelta(days=1)
    change = svc.close_change(change, user=manager, review_notes="No findings.", now=closed_at)
    assert change.state == ChangeState.CLOSED
    assert change.closed_at == closed_at
    assert change.review_notes == "No findings."

    assert state_path(change) == [
        ChangeState.DRAFT, ChangeState.ASSESSMENT, ChangeState.AUTHORIZATION,
        ChangeState.SCHEDULED, ChangeState.IMPLEMENTING, ChangeState.REVIEW, ChangeState.CLOSED,
    ]  # fmt: skip
    last = change.history.latest()
    assert (last.history_user, last.history_change_reason) == (manager, "closed after review")
    # One version per write: created, submitted, assessed, authorization, approval,
    # scheduled, started, completed, closed.
    assert change.version == 9


def test_high_risk_change_needs_every_owning_team(desk, manager, make_user):
    alice = make_user("alice")
    bob = make_user("bob")
    stranger = make_user("stranger", "service_desk")
    team_a = TeamFactory(name="Team A", members=[alice])
    team_b = TeamFactory(name="Team B", members=[bob])
    team_c = TeamFactory(name="Team C", members=[stranger])
    core = ApplicationFactory(criticality=Criticality.MISSION_CRITICAL, owner_team=team_a)
    other = ApplicationFactory(owner_team=team_b)
    InterfaceFactory(provider=core, consumers=[ApplicationFactory() for _ in range(10)])

    change = to_authorization(make_change(desk, applications=[core, other]), desk)
    # Mission critical (35) + 10 dependents (25) = 60: high.
    assert (change.risk, change.risk_score) == (ChangeRisk.HIGH, 60)
    required = svc.required_approvals(change)
    assert [(r.role, r.team) for r in required] == [
        ("change_manager", None),
        (None, team_a),
        (None, team_b),
    ]

    # A member of another team can neither approve for team A nor for their own team.
    with pytest.raises(PermissionDenied):
        svc.approve_change(change, user=stranger, team=team_a)
    assert_refused(
        lambda: svc.approve_change(change, user=stranger, team=team_c),
        change,
        "approval_not_required",
        "team",
    )

    change = svc.approve_change(change, user=manager)
    change = svc.approve_change(change, user=alice)  # the one requirement alice may decide
    found = assert_refused(
        lambda: svc.schedule_change(change, user=desk, planned_start=START, planned_end=END),
        change,
        "approval_missing",
        "approvals",
    )
    assert found == {"approvals": ["approval_missing"]}
    change = svc.approve_change(change, user=bob, team=team_b.pk, comment="ok for B")
    assert all(r.satisfied for r in svc.required_approvals(change))
    change = svc.schedule_change(change, user=desk, planned_start=START, planned_end=END)
    assert change.state == ChangeState.SCHEDULED
    assert ChangeApproval.objects.filter(change=change).count() == 3


def test_scheduling_a_normal_change_without_approval_is_refused(desk, app):
    change = to_authorization(make_change(desk, applications=[app]), desk)
    assert_refused(
        lambda: svc.schedule_change(change, user=desk, planned_start=START, planned_end=END),
        change,
        "approval_missing",
        "approvals",
    )
    change.refresh_from_db()
    assert change.planned_start is None


def test_scheduling_a_normal_change_in_assessment_is_refused(desk, app):
    change = svc.assess_change(
        svc.submit_for_assessment(make_change(desk, applications=[app]), user=desk), user=desk
    )
    assert_refused(
        lambda: svc.schedule_change(change, user=desk, planned_start=START, planned_end=END),
        change,
        "approval_missing",
        "approvals",
    )


def test_rejection_by_a_required_approver_ends_the_change(desk, manager, app):
    change = to_authorization(make_change(desk, applications=[app]), desk)
    assert_refused(
        lambda: svc.reject_change(change, user=manager, comment=""), change, "required", "comment"
    )
    change = svc.reject_change(change, user=manager, comment="Too risky before the election")
    assert change.state == ChangeState.REJECTED
    approval = change.approvals.get()
    assert (approval.decision, approval.role, approval.approver) == (
        ApprovalDecision.REJECTED,
        "change_manager",
        manager,
    )
    assert approval.comment == "Too risky before the election"
    assert_refused(
        lambda: svc.approve_change(change, user=manager), change, "invalid_state", "state"
    )


def test_change_manager_may_reject_in_assessment(desk, manager, app):
    change = svc.submit_for_assessment(make_change(desk, applications=[app]), user=desk)
    change = svc.reject_change(change, user=manager, comment="Duplicate of CHG-2026-000007")
    assert change.state == ChangeState.REJECTED


def test_back_to_authorization_withdraws_approvals(desk, manager, app):
    change = to_authorization(make_change(desk, applications=[app]), desk)
    change = svc.approve_change(change, user=manager)
    change = svc.schedule_change(change, user=desk, planned_start=START, planned_end=END)
    assert_refused(
        lambda: svc.request_authorization(change, user=desk),
        change,
        "reason_required",
        "reason",
    )
    change = svc.request_authorization(change, user=desk, reason="Window moved by a week")
    assert change.state == ChangeState.AUTHORIZATION
    assert not change.approvals.exists()
    assert not svc.required_approvals(change)[0].satisfied
    # The withdrawn approval stays in the history.
    assert ChangeApproval.history.filter(history_type="-").count() == 1


# --- standard changes -------------------------------------------------------------------------


@pytest.fixture
def template(db):
    return ChangeTemplate.objects.create(
        name="Monthly OS patch",
        implementation_plan="Run the patch playbook.",
        backout_plan="Restore snapshot.",
        test_plan="Monitoring green.",
        max_risk=ChangeRisk.LOW,
    )


def make_standard(user, template, applications, **fields) -> Change:
    return svc.create_change(
        user=user,
        applications=applications,
        title="Patch",
        change_type=ChangeType.STANDARD,
        template=template,
        now=NOW,
        **fields,
    )


def test_standard_change_skips_authorization(desk, template, app):
    change = make_standard(desk, template, [app], planned_start=START, planned_end=END)
    # The plans come from the template.
    assert change.implementation_plan == "Run the patch playbook."
    assert svc.required_approvals(change) == []
    change = svc.submit_for_assessment(change, user=desk)
    change = svc.assess_change(change, user=desk)
    # Business operational (10) - standard (15), clamped at 0.
    assert (change.risk, change.risk_score) == (ChangeRisk.LOW, 0)
    assert change.state == ChangeState.SCHEDULED
    change = svc.start_implementation(change, user=desk, now=START)
    change = svc.complete_implementation(
        change, user=desk, outcome=ChangeOutcome.SUCCESSFUL, now=END
    )
    assert change.state == ChangeState.CLOSED
    assert change.closed_at == END
    assert state_path(change) == [
        ChangeState.DRAFT, ChangeState.ASSESSMENT, ChangeState.SCHEDULED,
        ChangeState.IMPLEMENTING, ChangeState.REVIEW, ChangeState.CLOSED,
    ]  # fmt: skip
    assert not change.approvals.exists()


def test_standard_change_without_window_is_scheduled_later(desk, template, app):
    change = make_standard(desk, template, [app])
    change = svc.assess_change(svc.submit_for_assessment(change, user=desk), user=desk)
    assert change.state == ChangeState.ASSESSMENT
    assert_refused(
        lambda: svc.schedule_change(change, user=desk),
        change,
        "window_required",
        "planned_start",
    )
    assert_refused(
        lambda: svc.request_authorization(change, user=desk), change, "invalid_transition"
    )
    change = svc.schedule_change(change, user=desk, planned_start=START, planned_end=END)
    assert change.state == ChangeState.SCHEDULED


def test_failed_standard_change_is_reviewed(desk, manager, template, app):
    change = make_standard(desk, template, [app], planned_start=START, planned_end=END)
    change = svc.assess_change(svc.submit_for_assessment(change, user=desk), user=desk)
    change = svc.start_implementation(change, user=desk, now=START)
    change = svc.complete_implementation(
        change, user=desk, outcome=ChangeOutcome.ROLLED_BACK, now=END
    )
    assert change.state == ChangeState.REVIEW
    change = svc.close_change(change, user=manager, review_notes="Playbook fixed.")
    assert change.state == ChangeState.CLOSED


def test_standard_change_needs_a_template(desk, app):
    with pytest.raises(ValidationError) as info:
        svc.create_change(
            user=desk, applications=[app], title="Patch", change_type=ChangeType.STANDARD
        )
    assert codes(info.value) == {"template": ["template_required"]}
    assert not Change.objects.exists()


def test_inactive_template_is_refused(desk, template, app):
    template.active = False
    template.save()
    with pytest.raises(ValidationError) as info:
        make_standard(desk, template, [app])
    assert codes(info.value) == {"template": ["template_inactive"]}


def test_standard_change_above_template_risk_needs_authorization(desk, manager, template):
    core = ApplicationFactory(criticality=Criticality.MISSION_CRITICAL)
    InterfaceFactory(provider=core, consumers=[ApplicationFactory() for _ in range(3)])
    change = make_standard(desk, template, [core], planned_start=START, planned_end=END)
    change = svc.assess_change(svc.submit_for_assessment(change, user=desk), user=desk)
    # Mission critical (35) + 3 dependents (20) - standard (15) = 40: medium > low.
    assert (change.risk, change.risk_score, change.state) == (
        ChangeRisk.MEDIUM,
        40,
        ChangeState.ASSESSMENT,
    )
    assert_refused(
        lambda: svc.schedule_change(change, user=desk), change, "risk_exceeds_template", "risk"
    )
    # Converted into a normal change, the risk is re-assessed and the CAB decides.
    change = svc.update_change(
        change, user=desk, change_type=ChangeType.NORMAL, expected_version=change.version
    )
    assert (change.risk, change.risk_score) == (ChangeRisk.MEDIUM, 55)
    change = svc.request_authorization(change, user=desk)
    change = svc.approve_change(change, user=manager)
    change = svc.schedule_change(change, user=desk)
    assert change.state == ChangeState.SCHEDULED


# --- emergency changes ------------------------------------------------------------------------


@pytest.fixture
def freeze(app):
    window = FreezeWindow.objects.create(
        name="Election night",
        start=START - datetime.timedelta(days=1),
        end=END + datetime.timedelta(days=1),
        reason="Federal election",
    )
    window.applications.add(app)
    return window


def test_emergency_change_lifecycle_with_freeze_override(desk, manager, app, freeze):
    change = make_change(desk, applications=[app], change_type=ChangeType.EMERGENCY)
    change = to_authorization(change, desk)
    # Business operational (10) + emergency (20) = 30: medium.
    assert (change.risk, change.risk_score) == (ChangeRisk.MEDIUM, 30)
    [slot] = svc.required_approvals(change)
    assert slot.role == "emergency_cab"

    assert_refused(
        lambda: svc.schedule_change(change, user=desk, planned_start=START, planned_end=END),
        change,
        "approval_missing",
        "approvals",
    )
    assert_refused(
        lambda: svc.approve_change(change, user=manager, role="change_manager"),
        change,
        "approval_not_required",
        "role",
    )
    change = svc.approve_change(change, user=manager, role="emergency_cab")

    # Into the freeze window only with a reason …
    assert_refused(
        lambda: svc.schedule_change(change, user=desk, planned_start=START, planned_end=END),
        change,
        "reason_required",
        "freeze_override_reason",
    )
    change = svc.schedule_change(
        change,
        user=desk,
        planned_start=START,
        planned_end=END,
        freeze_override_reason="Registry down; citizens cannot vote without it.",
    )
    # … which is recorded on the change and in its history.
    assert change.state == ChangeState.SCHEDULED
    assert change.freeze_override_reason == "Registry down; citizens cannot vote without it."
    assert (
        "freeze window overridden (Election night)" in change.history.latest().history_change_reason
    )

    change = svc.start_implementation(change, user=desk, now=START)
    change = svc.complete_implementation(
        change, user=desk, outcome=ChangeOutcome.SUCCESSFUL, now=END
    )
    # Emergency changes are always reviewed, even when successful.
    assert change.state == ChangeState.REVIEW
    change = svc.close_change(change, user=manager, review_notes="Root cause: expired cert.")
    assert change.state == ChangeState.CLOSED


# --- freeze windows ---------------------------------------------------------------------------


def approved(desk, manager, app) -> Change:
    change = to_authorization(make_change(desk, applications=[app]), desk)
    return svc.approve_change(change, user=manager)


def test_normal_change_in_a_freeze_window_is_refused(desk, manager, app, freeze):
    change = approved(desk, manager, app)
    found = assert_refused(
        lambda: svc.schedule_change(change, user=desk, planned_start=START, planned_end=END),
        change,
        "freeze_window",
        "planned_start",
    )
    assert found == {"planned_start": ["freeze_window"]}
    # After the freeze (touching its end) it may go ahead.
    later = freeze.end
    change = svc.schedule_change(
        change, user=desk, planned_start=later, planned_end=later + datetime.timedelta(hours=2)
    )
    assert change.state == ChangeState.SCHEDULED


@pytest.mark.parametrize("scope", ["all", "service", "other_application"])
def test_freeze_window_scope(desk, manager, app, scope):
    window = FreezeWindow.objects.create(name="Year end", start=START, end=END)
    if scope == "all":
        window.applies_to_all = True
        window.save()
    elif scope == "service":
        window.services.add(ServiceFactory(applications=[app]))
    else:
        window.applications.add(ApplicationFactory())
    change = approved(desk, manager, app)
    call = lambda: svc.schedule_change(  # noqa: E731
        change, user=desk, planned_start=START, planned_end=END
    )
    if scope == "other_application":
        assert call().state == ChangeState.SCHEDULED
    else:
        assert_refused(call, change, "freeze_window", "planned_start")


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (lambda c, u: svc.schedule_change(c, user=u, planned_start=START, planned_end=END),
         "invalid_transition"),
        (lambda c, u: svc.start_implementation(c, user=u), "invalid_transition"),
        (lambda c, u: svc.complete_implementation(c, user=u, outcome="successful"),
         "invalid_transition"),
        (lambda c, u: svc.close_change(c, user=u, review_notes="x"), "invalid_transition"),
        (lambda c, u: svc.request_authorization(c, user=u), "invalid_transition"),
        (lambda c, u: svc.reject_change(c, user=u, comment="no"), "invalid_transition"),
        (lambda c, u: svc.approve_change(c, user=u), "invalid_state"),
        (lambda c, u: svc.assess_change(c, user=u), "invalid_state"),
    ],
)  # fmt: skip
def test_illegal_transitions_from_draft_change_nothing(admin_user, desk, app, action, code):
    change = make_change(desk, applications=[app])
    assert_refused(lambda: action(change, admin_user), change, code, "state")


def test_closed_and_cancelled_changes_are_final(desk, manager, app):
    change = make_change(desk, applications=[app])
    assert_refused(
        lambda: svc.cancel_change(change, user=desk, reason=""), change, "reason_required"
    )
    change = svc.cancel_change(change, user=desk, reason="Superseded")
    assert (change.state, change.cancellation_reason) == (ChangeState.CANCELLED, "Superseded")
    for call in (
        lambda: svc.cancel_change(change, user=desk, reason="again"),
        lambda: svc.submit_for_assessment(change, user=desk),
    ):
        assert_refused(call, change, "invalid_transition", "state")
    assert_refused(
        lambda: svc.update_change(change, user=desk, title="New"), change, "invalid_state"
    )


def test_implementation_needs_an_outcome(desk, manager, app):
    change = approved(desk, manager, app)
    change = svc.schedule_change(change, user=desk, planned_start=START, planned_end=END)
    change = svc.start_implementation(change, user=desk, now=START)
    assert_refused(
        lambda: svc.complete_implementation(change, user=desk, outcome=""),
        change,
        "outcome_required",
        "outcome",
    )
    assert_refused(
        lambda: svc.complete_implementation(change, user=desk, outcome="great"),
        change,
        "invalid_choice",
        "outcome",
    )


def test_submission_needs_scope_and_authorization_needs_plans(desk):
    change = make_change(desk, backout_plan="")
    assert_refused(
        lambda: svc.submit_for_assessment(change, user=desk),
        change,
        "scope_required",
        "applications",
    )
    change = svc.update_change(change, user=desk, applications=[ApplicationFactory()])
    change = svc.assess_change(svc.submit_for_assessment(change, user=desk), user=desk)
    found = assert_refused(lambda: svc.request_authorization(change, user=desk), change, "required")
    assert found == {"backout_plan": ["required"]}


def test_bad_input_is_refused_with_field_errors(desk, app):
    with pytest.raises(ValidationError) as info:
        make_change(desk, state=ChangeState.CLOSED)
    assert codes(info.value) == {"state": ["unknown"]}
    with pytest.raises(ValidationError) as info:
        make_change(desk, planned_start=END, planned_end=START)
    assert codes(info.value)["planned_end"] == ["window_order"]
    with pytest.raises(ValidationError) as info:
        make_change(desk, planned_start=datetime.datetime(2026, 3, 10, 20, 0), planned_end=END)
    assert codes(info.value)["planned_start"] == ["naive_datetime"]
    assert not Change.objects.exists()


# --- permissions ------------------------------------------------------------------------------


def test_permissions(desk, manager, other_manager, requester_role, make_user, app):
    with pytest.raises(PermissionDenied):
        make_change(requester_role, applications=[app])
    architect = make_user("chg_architect", "architect")
    assert make_change(architect, applications=[app]).state == ChangeState.DRAFT

    change = to_authorization(make_change(desk, applications=[app]), desk)
    history = change.history.count()
    # A requester (and a service-desk agent) cannot approve.
    for user in (requester_role, desk):
        with pytest.raises(PermissionDenied):
            svc.approve_change(change, user=user)
        with pytest.raises(PermissionDenied):
            svc.approve_change(change, user=user, role="change_manager")
    # Nor may a change manager decide on a change they requested themselves.
    own = to_authorization(make_change(manager, applications=[app]), manager)
    with pytest.raises(PermissionDenied):
        svc.approve_change(own, user=manager)
    with pytest.raises(PermissionDenied):
        svc.reject_change(own, user=manager, comment="no")
    assert svc.approve_change(own, user=other_manager).approvals.count() == 1

    change.refresh_from_db()
    assert change.history.count() == history
    assert not change.approvals.exists()

    # Only a change manager closes after the review.
    change = svc.approve_change(change, user=manager)
    change = svc.schedule_change(change, user=desk, planned_start=START, planned_end=END)
    change = svc.start_implementation(change, user=desk, now=START)
    change = svc.complete_implementation(change, user=desk, outcome="failed", now=END)
    with pytest.raises(PermissionDenied):
        svc.close_change(change, user=desk, review_notes="done")


def test_superuser_may_do_everything(admin_user, app):
    change = to_authorization(make_change(admin_user, applications=[app]), admin_user)
    change = svc.approve_change(change, user=admin_user)
    change = svc.schedule_change(change, user=admin_user, planned_start=START, planned_end=END)
    assert change.state == ChangeState.SCHEDULED


# --- concurrency ------------------------------------------------------------------------------


def test_stale_expected_version_is_a_conflict(desk, app):
    change = make_change(desk, applications=[app])
    seen = change.version
    change = svc.update_change(change, user=desk, title="First editor", expected_version=seen)
    assert change.version == seen + 1
    found = assert_refused(
        lambda: svc.update_change(change, user=desk, title="Second editor", expected_version=seen),
        change,
        "conflict",
        "version",
    )
    assert found == {"version": ["conflict"]}
    change.refresh_from_db()
    assert change.title == "First editor"
    with pytest.raises(ValidationError) as info:
        svc.submit_for_assessment(change, user=desk, expected_version=seen)
    error = info.value.error_dict["version"][0]
    assert error.message == "Someone else changed this change; reload it and try again."
    assert svc.submit_for_assessment(change, user=desk, expected_version=seen + 1).version == (
        seen + 2
    )


def test_update_reassesses_risk_and_records_the_scope(desk, app):
    change = svc.submit_for_assessment(make_change(desk, applications=[app]), user=desk)
    change = svc.assess_change(change, user=desk)
    assert change.risk_score == 10
    critical = ApplicationFactory(criticality=Criticality.MISSION_CRITICAL)
    change = svc.update_change(change, user=desk, applications=[app, critical])
    assert (change.risk, change.risk_score) == (ChangeRisk.MEDIUM, 35)
    record = change.history.latest()
    assert record.history_change_reason == "updated applications"
    assert {m.application_id for m in record.applications.all()} == {app.pk, critical.pk}


def test_long_reasons_are_kept_in_full_on_the_change_and_short_in_history(desk, app):
    reason = "The vendor withdrew the release. " * 10
    change = svc.cancel_change(make_change(desk, applications=[app]), user=desk, reason=reason)
    assert change.cancellation_reason == reason
    recorded = change.history.latest().history_change_reason
    assert len(recorded) == 100 and recorded.startswith("cancelled: The vendor")


# --- reading for pages ------------------------------------------------------------------------


def test_change_impact_lists_the_dependents_on_the_planned_start(desk, app):
    # app ← portal ← kiosk (transitively), app ← report; an interface live only after the
    # planned start does not count yet; the second affected application is no dependent.
    portal = ApplicationFactory(name="Serviceportal")
    kiosk = ApplicationFactory(name="Kiosk")
    report = ApplicationFactory(name="Berichtswesen")
    later = ApplicationFactory(name="Later consumer")
    other = ApplicationFactory(name="Also affected")
    InterfaceFactory(provider=app, consumers=[portal, report, other])
    InterfaceFactory(provider=portal, consumers=[kiosk])
    InterfaceFactory(
        provider=app, consumers=[later], active_from=START.date() + datetime.timedelta(days=1)
    )
    change = make_change(desk, applications=[app, other], planned_start=START, planned_end=END)

    impact = svc.change_impact(change)
    assert sorted(a.name for a in impact.affected) == ["Also affected", "Fachverfahren Meldewesen"]
    assert [(row.application.name, row.depth) for row in impact.dependents] == [
        ("Berichtswesen", 1),
        ("Serviceportal", 1),
        ("Kiosk", 2),
    ]
    assert (impact.dependent_count, impact.more) == (3, 0)
    # The same count as the risk's dependents factor.
    change = svc.assess_change(svc.submit_for_assessment(change, user=desk), user=desk)
    factor = next(f for f in change.risk_factors if f["factor"] == "dependents")
    assert factor["value"] == impact.dependent_count

    # A limit lists the nearest ones (by steps) and counts the rest.
    limited = svc.change_impact(change, limit=2)
    assert [row.depth for row in limited.dependents] == [1, 1]
    assert (limited.dependent_count, limited.more) == (3, 1)

    # After the later interface goes live, its consumer depends on the change too.
    change.planned_start += datetime.timedelta(days=2)
    assert "Later consumer" in [r.application.name for r in svc.change_impact(change).dependents]
    assert svc.change_impact(make_change(desk)).dependent_count == 0
