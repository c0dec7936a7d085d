"""The IT requirements backlog: WSJF ranking, who submits and sees what, and the lifecycle."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from graphql_relay import to_global_id

# Registers the model before the test database is built, while itsm.models does not import it.
import itsm.models.requirement  # noqa: F401
from cmdb.choices import OrgUnitKind
from cmdb.factories import ApplicationFactory, OrgUnitFactory, TeamFactory, UserFactory
from itsm.models import Change
from itsm.models.requirement import Requirement, wsjf_score
from itsm.requirement_filtersets import RequirementFilterSet
from itsm.services import requirements as svc

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
INPUTS = {"business_value": 8, "time_criticality": 5, "risk_reduction": 3, "job_size": 2}


def codes(exc: ValidationError) -> set[tuple[str, str]]:
    return {(field, e.code) for field, errors in exc.error_dict.items() for e in errors}


@pytest.fixture
def make_user(roles):
    """Like the shared fixture, without hashing a password (a third of this module's runtime);
    these tests never sign in."""

    def make(username: str, role: str | None = None):
        user = UserFactory(username=username)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def org(db):
    """City → department → Bürgeramt (with a division) and Ordnungsamt."""
    city = OrgUnitFactory(name="Stadt", code="S", kind=OrgUnitKind.ADMINISTRATION)
    dept = OrgUnitFactory(name="Dezernat I", code="D1", kind=OrgUnitKind.DEPARTMENT, parent=city)
    office = OrgUnitFactory(name="Bürgeramt", code="A33", parent=dept)
    division = OrgUnitFactory(
        name="Meldewesen", code="A33-1", kind=OrgUnitKind.DIVISION, parent=office
    )
    other = OrgUnitFactory(name="Ordnungsamt", code="A32", parent=dept)
    return {"city": city, "dept": dept, "office": office, "division": division, "other": other}


@pytest.fixture
def requester(make_user, org):
    user = make_user("buergeramt", "requester")
    TeamFactory(name="Fachbetreuung Bürgeramt", org_unit=org["office"], members=[user])
    return user


@pytest.fixture
def colleague(make_user, org):
    """Another requester of the same office."""
    user = make_user("kollegin", "requester")
    TeamFactory(name="Leitung Bürgeramt", org_unit=org["office"], members=[user])
    return user


@pytest.fixture
def other_requester(make_user, org):
    user = make_user("ordnungsamt", "requester")
    TeamFactory(name="Fachbetreuung Ordnungsamt", org_unit=org["other"], members=[user])
    return user


@pytest.fixture
def change_manager(make_user):
    return make_user("change", "change_manager")


def submit(user, org_unit, *, title="Online-Terminvergabe", **overrides):
    data = {
        "user": user, "title": title, "kind": "enhancement", "requesting_org_unit": org_unit,
        "now": NOW, **INPUTS,
    }  # fmt: skip
    data.update(overrides)
    return svc.submit_requirement(**data)


@pytest.fixture
def requirement(requester, org):
    return submit(requester, org["office"])


def snapshot(requirement):
    requirement.refresh_from_db()
    return requirement.state, requirement.version, requirement.history.count()


def successful_change(user, number="CHG-2026-000001", **overrides):
    fields = {
        "number": number, "title": "Terminmodul einführen", "change_type": "normal",
        "state": "closed", "outcome": "successful", "requested_by": user, **overrides,
    }  # fmt: skip
    return Change.objects.create(**fields)


def to_in_delivery(requirement, architect):
    requirement = svc.review_requirement(requirement, user=architect)
    requirement = svc.approve_requirement(requirement, user=architect, reason="Fits the plan")
    requirement = svc.plan_requirement(requirement, user=architect)
    return svc.start_delivery(requirement, user=architect)


# --- WSJF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs,expected",
    [
        ((8, 5, 3, 2), Decimal("8")),
        ((20, 20, 20, 1), Decimal("60")),
        ((1, 1, 1, 20), Decimal("0.15")),
        ((13, 8, 5, 3), Decimal("8.667")),  # 26 / 3, rounded half up to three places
        ((5, 3, 2, 3), Decimal("3.333")),
    ],
)
def test_wsjf_score(inputs, expected):
    assert wsjf_score(*inputs) == expected


def test_wsjf_is_computed_on_submit_and_stored(requirement):
    assert requirement.number == "REQ-2026-000001"
    assert requirement.wsjf == Decimal("8")
    requirement.refresh_from_db()
    assert requirement.wsjf == Decimal("8.000")
    assert requirement.state == "submitted" and requirement.version == 1
    assert requirement.submitted_at == NOW
    assert requirement.history.get().history_user.username == "buergeramt"


def test_wsjf_follows_updated_inputs(requirement, requester):
    requirement = svc.update_requirement(requirement, user=requester, job_size=8)
    assert requirement.wsjf == Decimal("2")
    assert Requirement.objects.get(pk=requirement.pk).wsjf == Decimal("2")


def test_ranked_backlog_orders_by_wsjf_then_due_date_then_number(architect, org):
    office = org["office"]
    low = submit(architect, office, title="low", job_size=8)  # 16 / 8 = 2
    late = submit(architect, office, title="late", due_date=datetime.date(2026, 9, 1))  # 8
    undated_1 = submit(architect, office, title="undated 1")  # 8, no due date
    soon = submit(architect, office, title="soon", due_date=datetime.date(2026, 7, 1))  # 8
    undated_2 = submit(architect, office, title="undated 2")  # 8, no due date
    top = submit(architect, office, title="top", business_value=20, job_size=1)  # 28
    done = submit(architect, office, title="done", business_value=20, job_size=1)
    rejected = submit(architect, office, title="rejected", business_value=20, job_size=1)
    Requirement.objects.filter(pk=done.pk).update(state="done")
    Requirement.objects.filter(pk=rejected.pk).update(state="rejected")

    ranked = list(svc.ranked_backlog(architect))
    assert [r.title for r in ranked] == [
        top.title, soon.title, late.title, undated_1.title, undated_2.title, low.title,
    ]  # fmt: skip
    assert [r.wsjf for r in ranked][:2] == [Decimal("28"), Decimal("8")]
    assert [r.title for r in svc.ranked_backlog(architect, job_size=8)] == ["low"]


# --- submission and visibility --------------------------------------------------------------


def test_requester_submits_for_own_office_and_a_division_below(requester, org):
    for_office = submit(requester, org["office"])
    for_division = submit(requester, org["division"], title="Meldebescheinigung online")
    assert for_office.requesting_org_unit == org["office"]
    assert for_division.requesting_org_unit == org["division"]
    assert for_division.requested_by == requester


@pytest.mark.parametrize("unit", ["other", "dept"])
def test_requester_cannot_submit_for_another_or_a_higher_unit(requester, org, unit):
    with pytest.raises(ValidationError) as exc:
        submit(requester, org[unit])
    assert codes(exc.value) == {("requesting_org_unit", "not_your_org_unit")}
    assert not Requirement.objects.exists()


def test_requester_without_team_cannot_submit_anywhere(make_user, org):
    loner = make_user("loner", "requester")
    with pytest.raises(ValidationError) as exc:
        submit(loner, org["office"])
    assert ("requesting_org_unit", "not_your_org_unit") in codes(exc.value)


def test_architect_submits_for_any_unit(architect, org):
    assert submit(architect, org["other"]).requesting_org_unit == org["other"]


@pytest.mark.parametrize("role", ["auditor", "service_desk", None])
def test_other_roles_cannot_submit(make_user, org, role):
    with pytest.raises(PermissionDenied):
        submit(make_user("someone", role), org["office"])
    assert not Requirement.objects.exists()


def test_visibility_follows_the_org_tree(
    requester, other_requester, architect, make_user, org
):  # fmt: skip
    office_req = submit(requester, org["office"])
    division_req = submit(requester, org["division"])
    other_req = submit(other_requester, org["other"])
    everything = {office_req.pk, division_req.pk, other_req.pk}

    def visible(user):
        return set(svc.visible_requirements(user).values_list("pk", flat=True))

    assert visible(requester) == {office_req.pk, division_req.pk}
    assert visible(other_requester) == {other_req.pk}
    assert visible(architect) == everything
    assert visible(make_user("auditor", "auditor")) == everything
    assert visible(make_user("desk", "service_desk")) == everything
    assert visible(make_user("nobody")) == set()

    # A division sees its own requirements, not those of the office above it.
    division_user = make_user("meldewesen", "requester")
    TeamFactory(org_unit=org["division"], members=[division_user])
    assert visible(division_user) == {division_req.pk}
    # The backlog applies the same scope.
    assert {r.pk for r in svc.ranked_backlog(other_requester)} == {other_req.pk}


def test_wsjf_inputs_must_be_on_the_scale(requester, org):
    with pytest.raises(ValidationError) as exc:
        submit(requester, org["office"], business_value=0, job_size=4)
    assert codes(exc.value) == {("business_value", "not_on_scale"), ("job_size", "not_on_scale")}
    assert not Requirement.objects.exists()
    assert "1, 2, 3, 5, 8, 13, 20" in exc.value.message_dict["job_size"][0]


def test_update_with_invalid_input_changes_nothing(requirement, requester):
    before = snapshot(requirement)
    with pytest.raises(ValidationError) as exc:
        svc.update_requirement(requirement, user=requester, time_criticality=4, title="Neu")
    assert codes(exc.value) == {("time_criticality", "not_on_scale")}
    assert snapshot(requirement) == before
    assert requirement.title == "Online-Terminvergabe" and requirement.wsjf == Decimal("8")


def test_legal_obligation_needs_its_legal_basis(requester, org):
    with pytest.raises(ValidationError) as exc:
        submit(requester, org["office"], kind="legal_obligation")
    assert codes(exc.value) == {("legal_basis", "required")}
    requirement = submit(requester, org["office"], kind="legal_obligation", legal_basis="OZG 2.0")
    assert requirement.legal_basis == "OZG 2.0"


# --- editing --------------------------------------------------------------------------------


def test_requesting_office_edits_while_submitted(requirement, colleague, requester):
    app = ApplicationFactory(name="Terminvergabe")
    requirement = svc.update_requirement(
        requirement, user=colleague, title="Online-Terminvergabe für alle Standorte",
        applications=[app], expected_version=1,
    )  # fmt: skip
    assert requirement.version == 2
    assert list(requirement.applications.all()) == [app]
    assert requirement.history.first().history_change_reason == "updated applications, title"
    assert requirement.history.first().history_user == colleague


def test_other_office_cannot_edit_or_withdraw(requirement, other_requester):
    before = snapshot(requirement)
    with pytest.raises(PermissionDenied):
        svc.update_requirement(requirement, user=other_requester, title="Gekapert")
    with pytest.raises(PermissionDenied):
        svc.withdraw_requirement(requirement, user=other_requester, reason="x")
    assert snapshot(requirement) == before


def test_office_edits_only_while_submitted_reviewers_until_approved(
    requirement, requester, architect
):  # fmt: skip
    requirement = svc.review_requirement(requirement, user=architect)
    with pytest.raises(ValidationError) as exc:
        svc.update_requirement(requirement, user=requester, title="Zu spät")
    assert codes(exc.value) == {("state", "not_editable")}
    requirement = svc.update_requirement(requirement, user=architect, job_size=13)
    assert requirement.wsjf == Decimal("1.231")
    requirement = svc.approve_requirement(requirement, user=architect)
    with pytest.raises(ValidationError) as exc:
        svc.update_requirement(requirement, user=architect, job_size=1)
    assert codes(exc.value) == {("state", "not_editable")}


def test_unknown_fields_are_refused(requirement, requester):
    with pytest.raises(ValidationError) as exc:
        svc.update_requirement(requirement, user=requester, state="done")
    assert codes(exc.value) == {("state", "unknown")}


# --- lifecycle ------------------------------------------------------------------------------


def test_full_lifecycle_with_reasons(requirement, requester, architect, change_manager):
    later = NOW + datetime.timedelta(days=10)
    requirement = svc.review_requirement(requirement, user=architect, expected_version=1)
    requirement = svc.return_requirement(
        requirement, user=architect, reason="Bitte Fallzahlen ergänzen"
    )
    assert requirement.state == "submitted"
    assert requirement.decision_reason == "Bitte Fallzahlen ergänzen"
    requirement = svc.update_requirement(
        requirement, user=requester, description="40.000 Termine pro Jahr"
    )
    requirement = svc.review_requirement(requirement, user=architect)
    requirement = svc.approve_requirement(
        requirement, user=architect, reason="Hoher Nutzen für Bürger", now=later
    )
    assert requirement.state == "approved" and requirement.decided_at == later
    requirement = svc.plan_requirement(requirement, user=architect, reason="Q3")
    requirement = svc.start_delivery(requirement, user=change_manager)
    change = successful_change(change_manager)
    requirement = svc.link_change(requirement, change, user=change_manager)
    requirement = svc.complete_requirement(requirement, user=change_manager, now=later)
    assert requirement.state == "done" and requirement.done_at == later
    assert list(change.requirements.all()) == [requirement]
    assert requirement.version == 10

    history = list(requirement.history.order_by("history_date", "history_id"))
    assert [h.history_change_reason for h in history] == [
        "submitted",
        "submitted -> in_review",
        "in_review -> submitted: Bitte Fallzahlen ergänzen",
        "updated description",
        "submitted -> in_review",
        "in_review -> approved: Hoher Nutzen für Bürger",
        "approved -> planned: Q3",
        "planned -> in_delivery",
        "linked CHG-2026-000001",
        "in_delivery -> done",
    ]
    assert [h.history_user.username for h in history][-3:] == ["change"] * 3
    assert history[0].history_user == requester


def test_replanning_moves_one_step_back(requirement, architect):
    requirement = to_in_delivery(requirement, architect)
    requirement = svc.replan_requirement(requirement, user=architect, reason="Anbieter insolvent")
    assert requirement.state == "planned"
    requirement = svc.replan_requirement(requirement, user=architect, reason="Budget 2027")
    assert requirement.state == "approved"
    assert requirement.decision_reason == "Budget 2027"
    with pytest.raises(ValidationError) as exc:
        svc.replan_requirement(requirement, user=architect, reason="x")
    assert codes(exc.value) == {("state", "invalid_transition")}


@pytest.mark.parametrize(
    "action,kwargs",
    [
        (svc.approve_requirement, {"reason": "ok"}),
        (svc.reject_requirement, {"reason": "nein"}),
        (svc.return_requirement, {"reason": "mehr Infos"}),
        (svc.plan_requirement, {}),
        (svc.start_delivery, {}),
        (svc.complete_requirement, {"note": "erledigt"}),
        (svc.replan_requirement, {"reason": "x"}),
    ],
)
def test_illegal_transitions_change_nothing(requirement, architect, action, kwargs):
    before = snapshot(requirement)
    with pytest.raises(ValidationError) as exc:
        action(requirement, user=architect, **kwargs)
    assert codes(exc.value) == {("state", "invalid_transition")}
    assert snapshot(requirement) == before


def test_final_states_accept_nothing(requirement, requester, architect):
    requirement = svc.withdraw_requirement(requirement, user=requester, reason="Erledigt sich")
    before = snapshot(requirement)
    for action in (svc.review_requirement, svc.start_delivery):
        with pytest.raises(ValidationError) as exc:
            action(requirement, user=architect)
        assert codes(exc.value) == {("state", "invalid_transition")}
    assert snapshot(requirement) == before


def test_approval_and_planning_only_from_their_own_source_state(requirement, architect):
    requirement = to_in_delivery(requirement, architect)
    requirement = svc.replan_requirement(requirement, user=architect, reason="Pause")
    requirement = svc.replan_requirement(requirement, user=architect, reason="Pause")
    assert requirement.state == "approved"
    requirement = svc.plan_requirement(requirement, user=architect)
    # planned → approved exists in the table, but it is re-planning, not a second approval.
    with pytest.raises(ValidationError) as exc:
        svc.approve_requirement(requirement, user=architect)
    assert codes(exc.value) == {("state", "invalid_transition")}


def test_rejection_needs_a_reason(requirement, architect):
    requirement = svc.review_requirement(requirement, user=architect)
    before = snapshot(requirement)
    with pytest.raises(ValidationError) as exc:
        svc.reject_requirement(requirement, user=architect, reason="  ")
    assert codes(exc.value) == {("reason", "required")}
    assert snapshot(requirement) == before
    requirement = svc.reject_requirement(
        requirement, user=architect, reason="Doppelt zu REQ-2025-000042", now=NOW
    )
    assert requirement.state == "rejected" and requirement.decided_at == NOW
    assert requirement.decision_reason == "Doppelt zu REQ-2025-000042"


@pytest.mark.parametrize("action", [svc.return_requirement, svc.withdraw_requirement])
def test_return_and_withdrawal_need_a_reason(requirement, architect, action):
    requirement = svc.review_requirement(requirement, user=architect)
    before = snapshot(requirement)
    with pytest.raises(ValidationError) as exc:
        action(requirement, user=architect, reason="")
    assert codes(exc.value) == {("reason", "required")}
    assert snapshot(requirement) == before


def test_office_withdraws_until_delivery_starts(requirement, colleague, architect):
    requirement = svc.review_requirement(requirement, user=architect)
    requirement = svc.withdraw_requirement(requirement, user=colleague, reason="Landeslösung kommt")
    assert requirement.state == "withdrawn"
    assert requirement.history.first().history_user == colleague


def test_no_withdrawal_in_delivery(requirement, requester, architect):
    requirement = to_in_delivery(requirement, architect)
    with pytest.raises(ValidationError) as exc:
        svc.withdraw_requirement(requirement, user=requester, reason="doch nicht")
    assert codes(exc.value) == {("state", "invalid_transition")}


def test_requesters_and_service_desk_do_not_decide(requirement, requester, make_user):
    desk = make_user("desk", "service_desk")
    for user in (requester, desk):
        with pytest.raises(PermissionDenied):
            svc.review_requirement(requirement, user=user)
    assert snapshot(requirement)[0] == "submitted"


def test_completion_needs_delivery_evidence(requirement, architect):
    requirement = to_in_delivery(requirement, architect)
    failed = successful_change(architect, outcome="failed")
    unfinished = successful_change(
        architect, number="CHG-2026-000002", state="implementing", outcome=None
    )
    requirement = svc.link_change(requirement, failed, user=architect)
    requirement = svc.link_change(requirement, unfinished, user=architect)
    before = snapshot(requirement)
    with pytest.raises(ValidationError) as exc:
        svc.complete_requirement(requirement, user=architect)
    assert codes(exc.value) == {("note", "delivery_evidence")}
    assert snapshot(requirement) == before

    requirement = svc.complete_requirement(
        requirement, user=architect, note="Per Konfiguration im Bestandsverfahren umgesetzt"
    )
    assert requirement.state == "done"
    assert requirement.delivery_note == "Per Konfiguration im Bestandsverfahren umgesetzt"


def test_completion_by_a_successful_change(requirement, architect):
    requirement = to_in_delivery(requirement, architect)
    requirement = svc.link_change(requirement, successful_change(architect), user=architect)
    assert svc.complete_requirement(requirement, user=architect).state == "done"


def test_linking_changes(requirement, architect, change_manager):
    change = successful_change(change_manager)
    with pytest.raises(ValidationError) as exc:
        svc.link_change(requirement, change, user=change_manager)
    assert codes(exc.value) == {("state", "invalid_state")}
    requirement = to_in_delivery(requirement, architect)
    version = requirement.version
    requirement = svc.link_change(requirement, change, user=change_manager)
    requirement = svc.link_change(requirement, change, user=change_manager)  # no second write
    assert requirement.version == version + 1
    requirement = svc.unlink_change(requirement, change, user=change_manager)
    assert not requirement.changes.exists() and requirement.version == version + 2


def test_stale_version_is_a_conflict(requirement, requester, architect):
    svc.review_requirement(requirement, user=architect, expected_version=1)
    before = snapshot(requirement)
    with pytest.raises(ValidationError) as exc:
        svc.approve_requirement(requirement, user=architect, expected_version=1)
    assert codes(exc.value) == {("version", "conflict")}
    with pytest.raises(ValidationError) as exc:
        svc.update_requirement(requirement, user=architect, expected_version=1, title="x")
    assert codes(exc.value) == {("version", "conflict")}
    assert snapshot(requirement) == before
    requirement = svc.approve_requirement(requirement, user=architect, expected_version=2)
    assert requirement.version == 3


# --- filterset ------------------------------------------------------------------------------


def test_filterset(requester, other_requester, architect, org):
    app = ApplicationFactory(name="OK.EWO")
    submit(
        requester, org["office"], title="Terminbuchung", applications=[app],
        due_date=datetime.date(2026, 5, 1),
    )  # fmt: skip
    submit(requester, org["division"], title="Meldebescheinigung", job_size=1)
    other_req = submit(other_requester, org["other"], title="Parkausweis", job_size=8)
    svc.withdraw_requirement(other_req, user=other_requester, reason="Entfällt")

    def run(**data):
        queryset = Requirement.objects.all()
        return [r.title for r in RequirementFilterSet(data, queryset=queryset).qs]

    office_id = to_global_id("OrgUnitType", org["office"].pk)
    assert run(org_unit=[office_id], order_by="-wsjf") == ["Meldebescheinigung", "Terminbuchung"]
    assert run(org_unit=[to_global_id("OrgUnitType", org["other"].pk)]) == ["Parkausweis"]
    assert run(open="true", order_by="number") == ["Terminbuchung", "Meldebescheinigung"]
    assert run(open="false") == ["Parkausweis"]
    assert run(state=["withdrawn"]) == ["Parkausweis"]
    assert run(search="REQ-2026-000002") == ["Meldebescheinigung"]
    assert run(search="termin") == ["Terminbuchung"]
    assert run(application=[to_global_id("ApplicationType", app.pk)]) == ["Terminbuchung"]
    assert run(due_before="2026-06-01") == ["Terminbuchung"]
    assert run(kind=["legal_obligation"]) == []


# --- the steps offered to pages ---------------------------------------------------------------

# Each step as the pages call it, with every text the service may ask for.
STEPS = {
    "review": lambda r, u: svc.review_requirement(r, user=u),
    "approve": lambda r, u: svc.approve_requirement(r, user=u, reason="ok"),
    "reject": lambda r, u: svc.reject_requirement(r, user=u, reason="no"),
    "return": lambda r, u: svc.return_requirement(r, user=u, reason="more, please"),
    "withdraw": lambda r, u: svc.withdraw_requirement(r, user=u, reason="not needed"),
    "plan": lambda r, u: svc.plan_requirement(r, user=u),
    "replan": lambda r, u: svc.replan_requirement(r, user=u, reason="later"),
    "start_delivery": lambda r, u: svc.start_delivery(r, user=u),
    "complete": lambda r, u: svc.complete_requirement(r, user=u, note="configured"),
    "update": lambda r, u: svc.update_requirement(r, user=u, title="Renamed"),
}
PATHS = {
    "submitted": [],
    "in_review": ["review"],
    "approved": ["review", "approve"],
    "planned": ["review", "approve", "plan"],
    "in_delivery": ["review", "approve", "plan", "start_delivery"],
    "done": ["review", "approve", "plan", "start_delivery", "complete"],
    "rejected": ["review", "reject"],
    "withdrawn": ["withdraw"],
}


class _Rollback(Exception):
    pass


def _accepted(step, requirement, user) -> bool:
    from django.db import transaction

    try:
        with transaction.atomic():
            STEPS[step](requirement, user)
            raise _Rollback
    except _Rollback:
        return True
    except (PermissionDenied, ValidationError):
        return False


@pytest.mark.parametrize("state", list(PATHS))
def test_requirement_actions_are_exactly_the_steps_the_services_accept(
    requirement, requester, other_requester, architect, change_manager, state
):
    for step in PATHS[state]:
        requirement = STEPS[step](requirement, architect)
    assert requirement.state == state
    for user in (architect, change_manager, requester, other_requester):
        offered = svc.requirement_actions(requirement, user)
        accepted = [step for step in STEPS if _accepted(step, requirement, user)]
        assert offered == accepted, (state, user.username)
    assert snapshot(requirement)[0] == state  # every try was rolled back
