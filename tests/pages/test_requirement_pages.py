"""Requirement pages: submit, the office's list, the WSJF backlog and the review steps."""

import re

import pytest
from graphql_relay import to_global_id

from cmdb.choices import OrgUnitKind
from cmdb.factories import ApplicationFactory, OrgUnitFactory, TeamFactory
from itsm.models import Requirement
from itsm.requirement_choices import RequirementState
from itsm.services import requirements as svc

pytestmark = pytest.mark.django_db

WSJF = {"business_value": 8, "time_criticality": 5, "risk_reduction": 3, "job_size": 2}


@pytest.fixture
def org(db):
    city = OrgUnitFactory(name="Stadt", code="S", kind=OrgUnitKind.ADMINISTRATION)
    office = OrgUnitFactory(name="Bürgeramt", code="A33", parent=city)
    other = OrgUnitFactory(name="Ordnungsamt", code="A32", parent=city)
    return {"city": city, "office": office, "other": other}


@pytest.fixture
def office_requester(make_user, org):
    user = make_user("buergeramt", "requester")
    TeamFactory(name="Fachbetreuung Bürgeramt", org_unit=org["office"], members=[user])
    return user


@pytest.fixture
def other_requester(make_user, org):
    user = make_user("ordnungsamt", "requester")
    TeamFactory(name="Fachbetreuung Ordnungsamt", org_unit=org["other"], members=[user])
    return user


def submit(user, unit, title="Online appointment booking", **fields):
    data = {"title": title, "kind": "enhancement", "requesting_org_unit": unit, **WSJF}
    data.update(fields)
    return svc.submit_requirement(user=user, **data)


def form_data(unit, **fields):
    data = {
        "title": "E-file for registrations",
        "kind": "enhancement",
        "requesting_org_unit": unit.pk,
        "description": "Scanned forms go to the e-file.",
        **{k: str(v) for k, v in WSJF.items()},
    }
    data.update(fields)
    return data


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/requirements/", "/requirements/backlog/", "/requirements/new/"])
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_roles_without_access_get_403(client, make_user, office_requester):
    desk = make_user("desk", "service_desk")
    client.force_login(desk)
    assert client.get("/requirements/new/").status_code == 403  # only offices and reviewers
    client.force_login(office_requester)
    assert client.get("/requirements/backlog/").status_code == 403  # the board's view


# --- submit -------------------------------------------------------------------------------------


def test_requester_submits_and_lands_on_the_requirement(client, office_requester, org):
    client.force_login(office_requester)
    page = client.get("/requirements/new/")
    assert page.status_code == 200
    # The requester submits for their own office only; it is preselected.
    units = list(page.context["form"].fields["requesting_org_unit"].queryset)
    assert units == [org["office"]]
    app = ApplicationFactory(name="OK.EWO")
    response = client.post(
        "/requirements/new/", form_data(org["office"], applications=[app.pk]), follow=True
    )
    requirement = Requirement.objects.get()
    assert response.redirect_chain[-1][0] == f"/requirements/{requirement.number}/"
    assert requirement.requested_by == office_requester
    assert requirement.state == RequirementState.SUBMITTED
    assert list(requirement.applications.all()) == [app]
    assert str(requirement.wsjf) == "8.000"
    content = response.content.decode()
    assert f"Requirement {requirement.number} submitted." in content
    assert "E-file for registrations" in content


def test_missing_field_is_shown_next_to_it_and_input_kept(client, office_requester, org):
    client.force_login(office_requester)
    response = client.post("/requirements/new/", form_data(org["office"], title="", job_size=""))
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"title", "job_size"}
    content = response.content.decode()
    assert 'id="id_title_error"' in content and 'id="id_job_size_error"' in content
    assert "Scanned forms go to the e-file." in content  # input kept
    assert Requirement.objects.count() == 0


def test_service_refusal_lands_on_the_field(client, office_requester, org):
    """A legal obligation needs its legal basis: the model's rule, reported by the service."""
    client.force_login(office_requester)
    response = client.post(
        "/requirements/new/", form_data(org["office"], kind="legal_obligation", legal_basis="")
    )
    assert response.status_code == 400
    assert "legal_basis" in response.context["form"].errors
    assert "Name the law or regulation" in response.content.decode()
    assert Requirement.objects.count() == 0


def test_requester_cannot_submit_for_another_office(client, office_requester, org):
    client.force_login(office_requester)
    response = client.post("/requirements/new/", form_data(org["other"]))
    assert response.status_code == 400
    assert "requesting_org_unit" in response.context["form"].errors
    assert Requirement.objects.count() == 0


# --- list ----------------------------------------------------------------------------------------


def test_requester_sees_only_their_office(client, office_requester, other_requester, org):
    mine = submit(office_requester, org["office"], title="Ours")
    theirs = submit(other_requester, org["other"], title="Theirs")
    client.force_login(office_requester)
    content = client.get("/requirements/").content.decode()
    assert mine.number in content
    assert theirs.number not in content


def test_list_filters_sort_and_export_links(client, architect, office_requester, org):
    a = submit(office_requester, org["office"], title="Alpha", job_size=20)
    b = submit(office_requester, org["office"], title="Beta", kind="infrastructure")
    c = submit(architect, org["other"], title="Gamma")
    client.force_login(architect)
    response = client.get("/requirements/", {"kind": "infrastructure"})
    assert [r.number for r in response.context["object_list"]] == [b.number]
    unit = to_global_id("OrgUnitType", org["office"].pk)
    response = client.get("/requirements/", {"org_unit": unit, "sort": "-wsjf"})
    numbers = [r.number for r in response.context["object_list"]]
    assert numbers == [b.number, a.number]
    assert c.number not in numbers
    exports = dict(response.context["exports"])
    assert exports["CSV"].startswith("/exports/requirements.csv?")
    assert "org_unit=" in exports["CSV"] and "sort" not in exports["CSV"]
    # The org unit filter is a select of units, shown with the chosen one selected.
    assert f'<option value="{unit}" selected>' in response.content.decode()
    response = client.get("/requirements/", {"sort": "title"})
    assert [r.title for r in response.context["object_list"]] == ["Alpha", "Beta", "Gamma"]


def test_list_query_count_does_not_grow(
    client, architect, office_requester, org, django_assert_max_num_queries
):
    for n in range(3):
        submit(office_requester, org["office"], title=f"Few {n}")
    client.force_login(architect)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get("/requirements/").status_code == 200
    for n in range(30):
        submit(architect, org["other"] if n % 2 else org["office"], title=f"Many {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/requirements/")
    assert len(response.context["object_list"]) == 33


# --- backlog -------------------------------------------------------------------------------------


def test_backlog_ranks_open_requirements_by_wsjf(client, architect, office_requester, org):
    low = submit(office_requester, org["office"], title="Low", job_size=20)
    high = submit(office_requester, org["office"], title="High", job_size=1)
    done = submit(office_requester, org["office"], title="Withdrawn")
    svc.withdraw_requirement(done, user=office_requester, reason="not needed")
    client.force_login(architect)
    response = client.get("/requirements/backlog/")
    assert [r.number for r in response.context["object_list"]] == [high.number, low.number]
    content = response.content.decode()
    assert "16.000" in content and "0.800" in content  # the WSJF of each
    assert "Withdrawn" not in content
    assert "open=true&amp;order_by=-wsjf" in content  # export of the same rows


def test_backlog_query_count_does_not_grow(
    client, architect, office_requester, org, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    submit(office_requester, org["office"], title="One")
    client.force_login(architect)
    with CaptureQueriesContext(connection) as few:
        client.get("/requirements/backlog/")
    for n in range(25):
        submit(office_requester, org["office"], title=f"Many {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/requirements/backlog/")
    assert len(response.context["object_list"]) == 26


# --- detail and review steps ---------------------------------------------------------------------


def test_detail_shows_facts_wsjf_history_and_the_reviewers_steps(
    client, architect, office_requester, org
):
    requirement = submit(office_requester, org["office"])
    client.force_login(architect)
    response = client.get(f"/requirements/{requirement.number}/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Bürgeramt" in content and "8.000" in content and "= 16 / 2" in content
    assert "submitted" in content  # the history's first entry
    steps = [form.name for form in response.context["action_forms"]]
    assert steps == ["review", "withdraw"]
    # The office itself may only withdraw.
    client.force_login(office_requester)
    response = client.get(f"/requirements/{requirement.number}/")
    assert [form.name for form in response.context["action_forms"]] == ["withdraw"]


def test_requester_of_another_office_gets_404(client, office_requester, other_requester, org):
    requirement = submit(office_requester, org["office"])
    client.force_login(other_requester)
    assert client.get(f"/requirements/{requirement.number}/").status_code == 404


def test_reviewer_takes_the_steps_through_the_service(client, architect, office_requester, org):
    requirement = submit(office_requester, org["office"])
    client.force_login(architect)
    url = f"/requirements/{requirement.number}/"
    response = client.post(url, {"action": "review", "review-expected_version": 1}, follow=True)
    requirement.refresh_from_db()
    assert requirement.state == RequirementState.IN_REVIEW
    assert "review" not in [f.name for f in response.context["action_forms"]]
    assert "approve" in [f.name for f in response.context["action_forms"]]
    # Rejecting needs a reason: the service's refusal lands on the reason field.
    response = client.post(url, {"action": "reject", "reject-expected_version": 2})
    assert response.status_code == 400
    failed = next(f for f in response.context["action_forms"] if f.name == "reject")
    assert "reason" in failed.errors
    assert "Tell the office why" in response.content.decode()
    # A stale version is refused with a conflict, nothing written.
    response = client.post(
        url, {"action": "approve", "approve-expected_version": 1, "approve-reason": "ok"}
    )
    assert response.status_code == 400
    assert "Someone else changed this" in response.content.decode()
    requirement.refresh_from_db()
    assert requirement.state == RequirementState.IN_REVIEW
    response = client.post(
        url,
        {"action": "approve", "approve-expected_version": 2, "approve-reason": "Fits the plan"},
        follow=True,
    )
    requirement.refresh_from_db()
    assert requirement.state == RequirementState.APPROVED
    assert requirement.decision_reason == "Fits the plan"
    assert re.search(r"approved.*Fits the plan", response.content.decode(), re.S)


def test_step_not_open_to_the_user_is_refused(client, office_requester, org):
    requirement = submit(office_requester, org["office"])
    client.force_login(office_requester)
    response = client.post(
        f"/requirements/{requirement.number}/",
        {"action": "review", "review-expected_version": 1},
    )
    assert response.status_code == 403
    assert "This step is not open to you" in response.content.decode()
    requirement.refresh_from_db()
    assert requirement.state == RequirementState.SUBMITTED


def test_detail_query_count_does_not_grow_with_history(
    client, architect, office_requester, org, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    requirement = submit(office_requester, org["office"])
    client.force_login(architect)
    url = f"/requirements/{requirement.number}/"
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(5):
        requirement = svc.update_requirement(requirement, user=architect, title=f"Title {n}")
    requirement.applications.set([ApplicationFactory() for _ in range(5)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["history"]) == 6
