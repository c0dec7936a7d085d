"""The sourcing pages through the Django test client: access by role, filters, sorting,
exports, the assessment form (draft, submit, errors next to the criterion), the scorecard's
four-eyes approval, the procurement award gate, the landscape risk, and query counts."""

import datetime
import re

import pytest
from django.urls import reverse

from cmdb.factories import (
    ApplicationComponentFactory,
    ApplicationFactory,
    ITComponentFactory,
    OrgUnitFactory,
    VendorFactory,
)
from sourcing.choices import AssessmentState
from sourcing.models import Answer, Assessment
from sourcing.procurement_models import ProcurementState
from sourcing.services.assessments import (
    answer_criterion,
    return_assessment,
    start_assessment,
    submit_assessment,
)
from sourcing.services.catalogues import load_catalogue
from sourcing.services.procurement import add_candidate, open_case, publish_case, start_evaluation
from tests.sourcing import approved_assessment

pytestmark = pytest.mark.django_db

VENDOR_KNOCKOUTS = ["JUR-01", "JUR-03", "JUR-04", "JUR-07"]


@pytest.fixture
def catalogue():
    return load_catalogue()


@pytest.fixture
def buyer(make_user):
    return make_user("buyer", "procurement")


@pytest.fixture
def approver(make_user):
    return make_user("approver", "procurement")


@pytest.fixture
def auditor(make_user):
    return make_user("auditor", "auditor")


def signed_in(client, user):
    client.force_login(user)
    return client


def assess_vendor(buyer, approver, vendor, default=3, **levels):
    return approved_assessment(
        assessor=buyer, approver=approver, vendor=vendor, default=default, levels=levels
    )


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- access ----------------------------------------------------------------------------------


def read_urls(assessment, case, vendor):
    return [
        reverse("sourcing:vendors"),
        reverse("sourcing:vendor-detail", args=[vendor.pk]),
        reverse("sourcing:assessments"),
        reverse("sourcing:assessment-detail", args=[assessment.pk]),
        reverse("sourcing:cases"),
        reverse("sourcing:case-detail", args=[case.pk]),
        reverse("sourcing:risk"),
    ]


@pytest.fixture
def world(catalogue, buyer):
    vendor = VendorFactory(name="Kommunal IT GmbH", country="DE")
    assessment = start_assessment(user=buyer, vendor=vendor)
    case = open_case(
        user=buyer, title="Fachverfahren Bauantrag", org_unit=OrgUnitFactory(),
        protection_class="high",
    )  # fmt: skip
    return vendor, assessment, case


def test_anonymous_users_are_sent_to_sign_in(client, world):
    vendor, assessment, case = world
    urls = read_urls(assessment, case, vendor) + [
        reverse("sourcing:assessment-new"),
        reverse("sourcing:assessment-edit", args=[assessment.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url


def test_requester_may_not_open_sourcing_pages(client, world, make_user):
    vendor, assessment, case = world
    signed_in(client, make_user("req", "requester"))
    for url in read_urls(assessment, case, vendor):
        assert client.get(url).status_code == 403, url


def test_auditor_reads_but_cannot_assess(client, world, auditor):
    vendor, assessment, case = world
    signed_in(client, auditor)
    for url in read_urls(assessment, case, vendor):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("sourcing:assessment-new")).status_code == 403
    assert client.get(reverse("sourcing:assessment-edit", args=[assessment.pk])).status_code == 403
    page = text(client.get(reverse("sourcing:vendor-detail", args=[vendor.pk])))
    assert "Start an assessment" not in page
    page = text(client.get(reverse("sourcing:case-detail", args=[case.pk])))
    assert "Publish the tender" not in page


# --- vendors ---------------------------------------------------------------------------------


def test_vendor_list_filters_sorts_and_exports(client, catalogue, buyer, approver):
    group = VendorFactory(name="Hyperscale Inc", country="US")
    subsidiary = VendorFactory(name="Hyperscale Deutschland GmbH", country="DE", parent=group)
    local = VendorFactory(name="Stadtwerk Software eG", country="DE")
    ApplicationFactory.create_batch(3, vendor=local)
    assess_vendor(buyer, approver, local, default=4)
    signed_in(client, buyer)

    response = client.get(reverse("sourcing:vendors"), {"jurisdiction": "non_eu"})
    page = text(response)
    assert subsidiary.name in page and group.name in page
    assert local.name not in page
    assert "/exports/vendors.csv?jurisdiction=non_eu" in page
    assert "/exports/vendors.xlsx?jurisdiction=non_eu" in page

    page = text(client.get(reverse("sourcing:vendors"), {"search": "stadtwerk"}))
    assert local.name in page and group.name not in page
    assert "Grade A" in page  # the current assessment's grade

    response = client.get(reverse("sourcing:vendors"), {"sort": "-applications"})
    names = [v.name for v in response.context["vendors"]]
    assert names[0] == local.name


def test_vendor_list_htmx_answers_with_the_table_only(client, catalogue, buyer):
    VendorFactory(name="Alpha AG")
    signed_in(client, buyer)
    response = client.get(reverse("sourcing:vendors"), headers={"HX-Request": "true"})
    assert "Alpha AG" in text(response)
    assert "<h1>" not in text(response)


def test_vendor_page_shows_group_assessments_and_dependent_applications(
    client, catalogue, buyer, approver
):
    top = VendorFactory(name="Global Holding Corp", country="US")
    parent = VendorFactory(name="Europe Holding BV", country="NL", parent=top)
    vendor = VendorFactory(name="Software Deutschland GmbH", country="DE", parent=parent)
    child = VendorFactory(name="Software Service GmbH", country="DE", parent=vendor)
    direct = ApplicationFactory(name="Direct App", vendor=vendor)
    component = ITComponentFactory(name="Database Server", version="9", vendor=vendor)
    through = ApplicationFactory(name="Through App", vendor=VendorFactory())
    ApplicationComponentFactory(application=through, component=component)
    ApplicationComponentFactory(application=direct, component=component)
    assessment = assess_vendor(buyer, approver, vendor, default=1)
    signed_in(client, buyer)

    response = client.get(reverse("sourcing:vendor-detail", args=[vendor.pk]))
    page = text(response)
    assert "Europe Holding BV" in page and "Global Holding Corp" in page and child.name in page
    assert "US" in page and "non-EU" in page  # jurisdiction follows the ultimate parent
    assert f"/assessments/{assessment.pk}/" in page and "Grade E" in page
    assert "Database Server 9" in page
    assert "2 applications depend on this vendor" in page
    assert "1 as their software vendor, 2 through its IT components." in page
    assert "Direct App" in page and "Through App" in page
    assert response.context["current"] == assessment


def make_vendor_with_rows(buyer, approver, count: int):
    vendor = VendorFactory()
    for index in range(count):
        VendorFactory(parent=vendor)
        component = ITComponentFactory(vendor=vendor)
        app = ApplicationFactory(vendor=vendor if index % 2 else None)
        ApplicationComponentFactory(application=app, component=component)
    for _ in range(max(1, count // 3)):
        assess_vendor(buyer, approver, vendor)
    return vendor


def count_queries(client, django_assert_max_num_queries, url, params=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


def test_vendor_page_query_count_does_not_grow(
    client, catalogue, buyer, approver, django_assert_max_num_queries
):
    few = make_vendor_with_rows(buyer, approver, 1)
    many = make_vendor_with_rows(buyer, approver, 9)
    signed_in(client, buyer)
    url = lambda vendor: reverse("sourcing:vendor-detail", args=[vendor.pk])  # noqa: E731
    count_queries(client, django_assert_max_num_queries, url(few))  # warm up
    small = count_queries(client, django_assert_max_num_queries, url(few))
    with django_assert_max_num_queries(small):
        response = client.get(url(many))
    assert len(response.context["applications"]) == 9
    assert len(response.context["subsidiaries"]) == 9


def test_vendor_list_query_count_does_not_grow(
    client, catalogue, buyer, approver, django_assert_max_num_queries
):
    for _ in range(2):
        assess_vendor(buyer, approver, VendorFactory(parent=VendorFactory()))
    signed_in(client, buyer)
    url = reverse("sourcing:vendors")
    count_queries(client, django_assert_max_num_queries, url)
    small = count_queries(client, django_assert_max_num_queries, url)
    for _ in range(12):
        vendor = VendorFactory(parent=VendorFactory())
        ApplicationFactory(vendor=vendor)
        ITComponentFactory(vendor=vendor)
        assess_vendor(buyer, approver, vendor)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert len(response.context["vendors"]) == 28


# --- starting and answering an assessment ----------------------------------------------------


def test_start_assessment_needs_exactly_one_subject(client, catalogue, buyer):
    vendor = VendorFactory(name="Choice GmbH")
    signed_in(client, buyer)
    response = client.get(reverse("sourcing:assessment-new"), {"vendor": vendor.pk})
    assert response.context["form"].initial["vendor"] == str(vendor.pk)

    response = client.post(reverse("sourcing:assessment-new"), {"comment": "first try"})
    assert response.status_code == 400
    page = text(response)
    assert re.search(
        r'role="alert"><ul class="errorlist nonfield"><li>Name exactly one vendor', page
    )
    assert "first try" in page
    assert not Assessment.objects.exists()

    response = client.post(reverse("sourcing:assessment-new"), {"vendor": vendor.pk})
    assessment = Assessment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sourcing:assessment-edit", args=[assessment.pk])
    assert (assessment.vendor, assessment.assessor, assessment.state) == (vendor, buyer, "draft")


@pytest.fixture
def draft(catalogue, buyer):
    return start_assessment(user=buyer, vendor=VendorFactory(name="Draft Vendor GmbH"))


def form_data(assessment, levels=None):
    """The form as the browser sends it: every criterion with its stored answer, with the
    levels in `levels` ({code: 0..4, "na" or ""}) changed."""
    data = {"expected_version": assessment.version}
    for answer in assessment.answers.select_related("criterion"):
        code = answer.criterion.code
        data[f"level_{code}"] = (
            "na" if answer.not_applicable else ("" if answer.level is None else str(answer.level))
        )
        data[f"evidence_{code}"] = answer.evidence
    for code, level in (levels or {}).items():
        data[f"level_{code}"] = str(level)
    return data


def test_form_lists_criteria_with_levels_and_not_applicable_only_where_allowed(
    client, draft, buyer
):
    signed_in(client, buyer)
    response = client.get(reverse("sourcing:assessment-edit", args=[draft.pk]))
    assert response.status_code == 200
    page = text(response)
    form = response.context["form"]
    # JUR-01 applies to a vendor: no "not applicable"; DAT-01 (cloud data) does not.
    assert "na" not in dict(form.fields["level_JUR-01"].choices)
    assert "na" in dict(form.fields["level_DAT-01"].choices)
    assert form.initial["level_DAT-01"] == "na"
    jur01 = draft.catalogue.criteria.get(code="JUR-01")
    assert jur01.question in page and jur01.level_descriptions[3] in page
    assert "0 of 9 applicable criteria answered" in page
    assert page.index("JUR-01") < page.index("JUR-02") < page.index("DAT-01")


def test_save_as_draft_keeps_the_answers(client, draft, buyer):
    signed_in(client, buyer)
    url = reverse("sourcing:assessment-edit", args=[draft.pk])
    data = form_data(draft, {"JUR-01": 3, "JUR-02": 2})
    data["evidence_JUR-01"] = "Handelsregisterauszug HRB 1234"
    data["action"] = "save"
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == url
    answers = {a.criterion.code: a for a in draft.answers.select_related("criterion")}
    assert (answers["JUR-01"].level, answers["JUR-01"].evidence) == (
        3,
        "Handelsregisterauszug HRB 1234",
    )
    assert answers["JUR-02"].level == 2
    draft.refresh_from_db()
    assert draft.state == "draft"
    response = client.get(url)
    assert response.context["form"].initial["level_JUR-01"] == "3"
    assert "2 of 9 applicable criteria answered" in text(response)


def test_submit_with_a_knockout_unanswered_shows_the_error_next_to_it(client, draft, buyer):
    signed_in(client, buyer)
    url = reverse("sourcing:assessment-edit", args=[draft.pk])
    data = form_data(draft, {"JUR-01": 3, "JUR-03": 2, "JUR-04": 2})  # JUR-07 missing
    data["evidence_JUR-01"] = "kept evidence"
    data["action"] = "submit"
    before = draft.version
    response = client.post(url, data)
    assert response.status_code == 400
    page = text(response)
    error = re.search(
        r'<fieldset id="criterion-JUR-07" class="criterion has-error">.*?</fieldset>', page
    )
    assert error and "Answer this knock-out criterion before submitting." in error.group(0)
    assert "Answer these knock-out criteria before submitting: JUR-07." in page
    # The input is kept, and nothing was written.
    assert re.search(r'<input type="radio" name="level_JUR-01" value="3"[^>]*checked', page)
    assert "kept evidence" in page
    draft.refresh_from_db()
    assert (draft.state, draft.version) == ("draft", before)
    assert not draft.answers.filter(level__isnull=False).exists()


def test_submit_for_approval(client, draft, buyer):
    signed_in(client, buyer)
    url = reverse("sourcing:assessment-edit", args=[draft.pk])
    data = form_data(draft, {code: 3 for code in VENDOR_KNOCKOUTS})
    data["action"] = "submit"
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("sourcing:assessment-detail", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.state == AssessmentState.SUBMITTED
    # A submitted assessment can no longer be edited.
    response = client.get(url)
    assert response.status_code == 302


def test_stale_form_is_refused_with_a_conflict(client, draft, buyer):
    signed_in(client, buyer)
    data = form_data(draft, {"JUR-01": 2})
    answer_criterion(draft, user=buyer, criterion_code="JUR-02", level=1)  # someone else
    data["action"] = "save"
    response = client.post(reverse("sourcing:assessment-edit", args=[draft.pk]), data)
    assert response.status_code == 400
    assert "Someone else changed this" in text(response)
    assert Answer.objects.get(assessment=draft, criterion__code="JUR-01").level is None


def test_invalid_level_is_refused_next_to_the_criterion(client, draft, buyer):
    signed_in(client, buyer)
    data = form_data(draft)
    data["level_JUR-02"] = "7"
    data["action"] = "save"
    response = client.post(reverse("sourcing:assessment-edit", args=[draft.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors["level_JUR-02"]


# --- scorecard and four-eyes approval --------------------------------------------------------


@pytest.fixture
def submitted(draft, buyer):
    for code in VENDOR_KNOCKOUTS:
        answer_criterion(draft, user=buyer, criterion_code=code, level=3, evidence="ok")
    return submit_assessment(draft, user=buyer)


def test_scorecard_shows_score_grade_floor_knockouts_and_group_charts(client, submitted, buyer):
    signed_in(client, buyer)
    response = client.get(reverse("sourcing:assessment-detail", args=[submitted.pk]))
    page = text(response)
    result = response.context["result"]
    assert f'<div class="value" id="grade-value">{result.grade}</div>' in page
    assert str(result.score) in page
    # per protection class: the knock-out table has one row per class
    assert [row["value"] for row in response.context["per_class"]] == [
        "normal",
        "high",
        "very_high",
    ]
    assert page.count('<svg class="chart" role="img"') >= 2  # overview + at least one group
    assert "Jurisdiction, ownership and legal exposure" in page
    # The assessor cannot approve (four eyes): no approve button, a note instead.
    assert 'id="approve-form"' not in page
    assert "second procurement user" in page


def test_assessor_cannot_approve_own_assessment(client, submitted, buyer):
    signed_in(client, buyer)
    url = reverse("sourcing:assessment-detail", args=[submitted.pk])
    response = client.post(
        url, {"action": "approve", "approve-expected_version": submitted.version}
    )
    assert response.status_code == 302
    assert "This step is not possible for this assessment now." in text(client.get(url))
    submitted.refresh_from_db()
    assert submitted.state == AssessmentState.SUBMITTED


def test_stale_approval_shows_the_conflict_above_the_form(client, submitted, approver, buyer):
    signed_in(client, approver)
    url = reverse("sourcing:assessment-detail", args=[submitted.pk])
    stale = submitted.version
    return_assessment(submitted, user=buyer, reason="fix JUR-01")  # someone else
    answer_criterion(submitted, user=buyer, criterion_code="JUR-01", level=4)
    submit_assessment(submitted, user=buyer)
    response = client.post(url, {"action": "approve", "approve-expected_version": stale})
    assert response.status_code == 400
    assert response.context["approve_form"].non_field_errors() == [
        "Someone else changed this sovereignty assessment; reload it and try again."
    ]
    assert re.search(
        r'<ul class="errorlist nonfield"><li>Someone else changed this', text(response)
    )
    submitted.refresh_from_db()
    assert submitted.state == AssessmentState.SUBMITTED


def test_second_user_approves(client, submitted, approver):
    signed_in(client, approver)
    url = reverse("sourcing:assessment-detail", args=[submitted.pk])
    assert 'id="approve-form"' in text(client.get(url))
    valid_until = datetime.date.today() + datetime.timedelta(days=90)
    response = client.post(
        url,
        {
            "action": "approve",
            "approve-expected_version": submitted.version,
            "approve-valid_until": valid_until.isoformat(),
        },
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert (submitted.state, submitted.approved_by, submitted.valid_until) == (
        "approved",
        approver,
        valid_until,
    )


def test_approval_in_the_past_is_refused_next_to_the_date(client, submitted, approver):
    signed_in(client, approver)
    url = reverse("sourcing:assessment-detail", args=[submitted.pk])
    response = client.post(
        url,
        {
            "action": "approve",
            "approve-expected_version": submitted.version,
            "approve-valid_until": "2020-01-01",
        },
    )
    assert response.status_code == 400
    assert response.context["approve_form"].errors["valid_until"] == [
        "The validity must end after today."
    ]
    assert 'value="2020-01-01"' in text(response)


def test_return_needs_a_reason(client, submitted, approver):
    signed_in(client, approver)
    url = reverse("sourcing:assessment-detail", args=[submitted.pk])
    response = client.post(url, {"action": "return", "return-expected_version": submitted.version})
    assert response.status_code == 400
    assert response.context["return_form"].errors["reason"] == [
        "Say why the assessment is sent back."
    ]
    response = client.post(
        url,
        {
            "action": "return",
            "return-expected_version": submitted.version,
            "return-reason": "Evidence?",
        },
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert (submitted.state, submitted.return_reason) == ("draft", "Evidence?")


def test_scorecard_query_count_does_not_grow_with_answers(
    client, catalogue, buyer, approver, django_assert_max_num_queries
):
    few = start_assessment(user=buyer, vendor=VendorFactory())
    many = assess_vendor(buyer, approver, VendorFactory(), default=2)
    signed_in(client, approver)
    count_queries(
        client, django_assert_max_num_queries, reverse("sourcing:assessment-detail", args=[few.pk])
    )
    small = count_queries(
        client, django_assert_max_num_queries, reverse("sourcing:assessment-detail", args=[few.pk])
    )
    with django_assert_max_num_queries(small + 1):  # + the re-assessment check when approved
        response = client.get(reverse("sourcing:assessment-detail", args=[many.pk]))
    shown = sum(len(group["answers"]) for group in response.context["groups"])
    assert shown == many.answers.count() > 0


# --- assessments list ------------------------------------------------------------------------


def test_assessment_list_filters_and_exports(client, catalogue, buyer, approver):
    good = assess_vendor(buyer, approver, VendorFactory(name="Good GmbH"), default=4)
    bad = assess_vendor(buyer, approver, VendorFactory(name="Bad Corp"), default=0)
    draft = start_assessment(user=buyer, component=ITComponentFactory(name="Office Suite"))
    signed_in(client, buyer)
    url = reverse("sourcing:assessments")

    rows = client.get(url, {"grade": "A"}).context["assessments"]
    assert [a.pk for a in rows] == [good.pk]
    rows = client.get(url, {"grade": "E"}).context["assessments"]
    assert {a.pk for a in rows} == {bad.pk, draft.pk}
    rows = client.get(url, {"subject_kind": "component"}).context["assessments"]
    assert [a.pk for a in rows] == [draft.pk]
    response = client.get(url, {"state": "approved"})
    assert {a.pk for a in response.context["assessments"]} == {good.pk, bad.pk}
    assert "/exports/assessments.csv?state=approved" in text(response)


def test_assessment_list_query_count_does_not_grow(
    client, catalogue, buyer, approver, django_assert_max_num_queries
):
    assess_vendor(buyer, approver, VendorFactory())
    signed_in(client, buyer)
    url = reverse("sourcing:assessments")
    count_queries(client, django_assert_max_num_queries, url)
    small = count_queries(client, django_assert_max_num_queries, url)
    for _ in range(6):
        start_assessment(user=buyer, application=ApplicationFactory())
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert len(response.context["assessments"]) == 7


# --- procurement cases -----------------------------------------------------------------------


@pytest.fixture
def evaluation(catalogue, buyer, approver):
    strong = VendorFactory(name="Souverän GmbH", country="DE")
    weak = VendorFactory(name="Overseas Cloud Inc", country="US")
    assess_vendor(buyer, approver, strong, default=3)
    assess_vendor(buyer, approver, weak, default=3, **{"JUR-03": 1, "JUR-04": 0})
    case = open_case(user=buyer, title="E-Akte", org_unit=OrgUnitFactory(), protection_class="high")
    add_candidate(case, user=buyer, vendor=weak)
    add_candidate(case, user=buyer, vendor=strong)
    publish_case(case, user=buyer)
    return start_evaluation(case, user=buyer)


def test_case_page_ranks_candidates_and_names_failed_knockouts(client, evaluation, buyer):
    signed_in(client, buyer)
    response = client.get(reverse("sourcing:case-detail", args=[evaluation.pk]))
    ranking = response.context["ranking"]
    assert [str(row.candidate) for row in ranking] == ["Souverän GmbH", "Overseas Cloud Inc"]
    page = text(response)
    assert "knocked out" in page
    assert "Failed: JUR-03 (level 1, minimum 2); JUR-04 (level 0, minimum 2)" in page
    assert 'id="award-form"' in page


def test_award_to_a_knocked_out_candidate_is_refused(client, evaluation, buyer):
    signed_in(client, buyer)
    weak = evaluation.candidates.get(vendor__name="Overseas Cloud Inc")
    response = client.post(
        reverse("sourcing:case-detail", args=[evaluation.pk]),
        {
            "action": "award",
            "award-expected_version": evaluation.version,
            "award-candidate": weak.pk,
            "award-justification": "cheapest",
        },
    )
    assert response.status_code == 400
    errors = response.context["award_form"].errors["candidate"]
    assert "JUR-03" in errors[0] and "JUR-04" in errors[0]
    assert "cheapest" in text(response)
    evaluation.refresh_from_db()
    assert evaluation.state == ProcurementState.EVALUATION


def test_award_to_an_eligible_candidate(client, evaluation, buyer):
    signed_in(client, buyer)
    strong = evaluation.candidates.get(vendor__name="Souverän GmbH")
    url = reverse("sourcing:case-detail", args=[evaluation.pk])
    response = client.post(
        url,
        {
            "action": "award",
            "award-expected_version": evaluation.version,
            "award-candidate": strong.pk,
        },
    )
    assert response.status_code == 400
    assert response.context["award_form"].errors["justification"] == ["Justify the award."]
    response = client.post(
        url,
        {
            "action": "award",
            "award-expected_version": evaluation.version,
            "award-candidate": strong.pk,
            "award-justification": "best score, no knock-out",
        },
    )
    assert response.status_code == 302
    evaluation.refresh_from_db()
    assert (evaluation.state, evaluation.awarded_candidate) == ("awarded", strong)
    assert 'id="award-form"' not in text(client.get(url))


def test_case_list_filters_and_exports(client, evaluation, buyer):
    open_case(
        user=buyer, title="Telefonanlage", org_unit=OrgUnitFactory(), protection_class="normal"
    )
    signed_in(client, buyer)
    url = reverse("sourcing:cases")
    response = client.get(url, {"state": "evaluation"})
    assert [c.pk for c in response.context["object_list"]] == [evaluation.pk]
    assert "/exports/procurement_cases.csv?state=evaluation" in text(response)
    response = client.get(url, {"search": "telefon"})
    assert [c.title for c in response.context["object_list"]] == ["Telefonanlage"]


def test_case_pages_query_count_does_not_grow(
    client, evaluation, buyer, approver, django_assert_max_num_queries
):
    signed_in(client, buyer)
    detail = reverse("sourcing:case-detail", args=[evaluation.pk])
    count_queries(client, django_assert_max_num_queries, detail)
    small_detail = count_queries(client, django_assert_max_num_queries, detail)
    small_list = count_queries(client, django_assert_max_num_queries, reverse("sourcing:cases"))
    case = open_case(user=buyer, title="Many", org_unit=OrgUnitFactory(), protection_class="high")
    for _ in range(5):
        add_candidate(case, user=buyer, vendor=VendorFactory())
    for _ in range(3):
        vendor = VendorFactory()
        assess_vendor(buyer, approver, vendor)
        add_candidate(case, user=buyer, vendor=vendor)
    start_evaluation(publish_case(case, user=buyer), user=buyer)  # the same state as `small`
    with django_assert_max_num_queries(small_detail):
        response = client.get(reverse("sourcing:case-detail", args=[case.pk]))
    assert len(response.context["ranking"]) == 8
    with django_assert_max_num_queries(small_list):
        response = client.get(reverse("sourcing:cases"))
    assert len(response.context["object_list"]) == 2


# --- landscape risk --------------------------------------------------------------------------


def test_risk_page_loads_the_figures_with_htmx(client, catalogue, buyer):
    unit = OrgUnitFactory(name="Bauverwaltung", parent=OrgUnitFactory(name="Stadt"))
    vendor = VendorFactory(name="Big Vendor AG")
    ApplicationFactory.create_batch(2, vendor=vendor, owner_org_unit=unit)
    signed_in(client, buyer)
    page = text(client.get(reverse("sourcing:risk")))
    assert 'hx-get="/sovereignty/risk/figures/"' in page and 'hx-trigger="load"' in page

    response = client.get(reverse("sourcing:risk-figures"), headers={"HX-Request": "true"})
    fragment = text(response)
    assert "<html" not in fragment
    assert 'id="kpi-hhi-vendor">10000<' in fragment  # one vendor group: fully concentrated
    assert "Big Vendor AG" in fragment and "100.0 %" in fragment

    standalone = text(client.get(reverse("sourcing:risk-figures"), {"compare": "1"}))
    assert "<h1>" in standalone and "By department" in standalone
    assert re.search(r"<td>Bauverwaltung</td><td class=\"number\">2</td>", standalone)
