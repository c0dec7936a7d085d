import datetime

import pytest
from django.core.exceptions import ValidationError

from architecture.choices import DecisionStatus, StandardStatus
from architecture.models import ArchitectureDecision, TechCategory, TechnologyStandard
from architecture.services import decisions
from architecture.services.radar import radar, status_on, valid_exception
from cmdb.factories import ApplicationFactory, ITComponentFactory

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def arch(make_user):
    return make_user("arch", "architect")


def category(code, parent=None):
    return TechCategory.objects.create(name=code, code=code, parent=parent)


def standard(status, valid_from, valid_until=None, **subject):
    return TechnologyStandard.objects.create(
        status=status, valid_from=valid_from, valid_until=valid_until, **subject
    )


def test_component_standard_wins_over_category():
    component = ITComponentFactory()
    databases = category("db")
    databases.components.add(component)
    standard(StandardStatus.RETIRED, D(2020, 1, 1), category=databases)
    own = standard(StandardStatus.APPROVED, D(2021, 1, 1), component=component)
    assert status_on(component, D(2022, 1, 1)) == own
    # before the component's own standard, the category's applies
    assert status_on(component, D(2020, 6, 1)).status == StandardStatus.RETIRED


def test_ancestor_category_applies_and_nearest_wins():
    component = ITComponentFactory()
    databases = category("db")
    relational = category("db-rel", databases)
    relational.components.add(component)
    on_root = standard(StandardStatus.TOLERATED, D(2020, 1, 1), category=databases)
    assert status_on(component, D(2021, 1, 1)) == on_root
    nearer = standard(StandardStatus.APPROVED, D(2020, 1, 1), category=relational)
    # the nearest category decides, even when an ancestor is more restrictive
    assert status_on(component, D(2021, 1, 1)) == nearer


def test_no_standard():
    component = ITComponentFactory()
    assert status_on(component, D(2021, 1, 1)) is None
    category("empty").components.add(component)
    assert status_on(component, D(2021, 1, 1)) is None


def test_valid_from_and_until_edges():
    component = ITComponentFactory()
    s = standard(StandardStatus.APPROVED, D(2021, 1, 1), D(2022, 1, 1), component=component)
    assert status_on(component, D(2020, 12, 31)) is None
    assert status_on(component, D(2021, 1, 1)) == s
    assert status_on(component, D(2021, 12, 31)) == s
    assert status_on(component, D(2022, 1, 1)) is None  # valid_until is exclusive


def test_most_restrictive_of_several_categories():
    component = ITComponentFactory()
    a, b, c = category("a"), category("b"), category("c")
    for cat in (a, b, c):
        cat.components.add(component)
    standard(StandardStatus.APPROVED, D(2020, 1, 1), category=a)
    retired = standard(StandardStatus.RETIRED, D(2020, 1, 1), category=b)
    standard(StandardStatus.CANDIDATE, D(2020, 1, 1), category=c)
    assert status_on(component, D(2021, 1, 1)) == retired
    prohibited = standard(StandardStatus.PROHIBITED, D(2021, 1, 1), category=a)
    TechnologyStandard.objects.filter(category=a, status=StandardStatus.APPROVED).update(
        valid_until=D(2021, 1, 1)
    )
    assert status_on(component, D(2021, 6, 1)) == prohibited


def test_tolerated_beats_candidate_beats_approved():
    component = ITComponentFactory()
    a, b = category("a"), category("b")
    a.components.add(component)
    b.components.add(component)
    standard(StandardStatus.APPROVED, D(2020, 1, 1), category=a)
    cand = standard(StandardStatus.CANDIDATE, D(2020, 1, 1), category=b)
    assert status_on(component, D(2021, 1, 1)) == cand


def test_radar_lists_subjects_valid_on_date():
    component = ITComponentFactory(name="PostgreSQL")
    databases = category("db")
    standard(StandardStatus.APPROVED, D(2020, 1, 1), D(2021, 1, 1), component=component)
    new = standard(StandardStatus.RETIRED, D(2021, 1, 1), component=component)
    cat = standard(StandardStatus.TOLERATED, D(2020, 1, 1), category=databases)
    entries = radar(D(2021, 6, 1))
    assert [(e.category, e.component, e.standard) for e in entries] == [
        (databases, None, cat),
        (None, component, new),
    ]
    assert entries[1].status == StandardStatus.RETIRED
    assert radar(D(2019, 1, 1)) == []


def test_set_standard_closes_previous(arch):
    component = ITComponentFactory()
    first = decisions.set_standard(
        user=arch, component=component, status=StandardStatus.APPROVED, valid_from=D(2020, 1, 1)
    )
    second = decisions.set_standard(
        user=arch, component=component, status=StandardStatus.RETIRED, valid_from=D(2024, 1, 1),
        rationale="successor available",
    )  # fmt: skip
    first.refresh_from_db()
    assert first.valid_until == D(2024, 1, 1)
    assert second.valid_until is None
    assert status_on(component, D(2023, 12, 31)) == first
    assert status_on(component, D(2024, 1, 1)) == second
    assert first.history.first().history_user == arch


def test_set_standard_refusals(arch, make_user):
    component = ITComponentFactory()
    databases = category("db")
    with pytest.raises(ValidationError) as exc:
        decisions.set_standard(
            user=arch, component=component, category=databases,
            status=StandardStatus.APPROVED, valid_from=D(2020, 1, 1),
        )  # fmt: skip
    assert exc.value.error_dict["__all__"][0].code == "subject_required"
    decisions.set_standard(
        user=arch, category=databases, status=StandardStatus.APPROVED, valid_from=D(2022, 1, 1)
    )
    with pytest.raises(ValidationError) as exc:
        decisions.set_standard(
            user=arch, category=databases, status=StandardStatus.RETIRED,
            valid_from=D(2021, 1, 1),
        )  # fmt: skip
    assert exc.value.error_dict["valid_from"][0].code == "valid_from_order"
    assert TechnologyStandard.objects.get().valid_until is None
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        decisions.set_standard(
            user=make_user("req", "requester"), category=databases,
            status=StandardStatus.RETIRED, valid_from=D(2023, 1, 1),
        )  # fmt: skip


def _decision(status=DecisionStatus.ACCEPTED):
    return ArchitectureDecision.objects.create(
        number=f"ADR-9{status[:3]}", title="t", status=status
    )


def test_valid_exception(arch):
    application = ApplicationFactory()
    s = standard(StandardStatus.RETIRED, D(2020, 1, 1), component=ITComponentFactory())
    accepted = _decision()
    exception = decisions.grant_exception(
        user=arch, application=application, standard=s, decision=accepted, reason="migration",
        expires_on=D(2030, 6, 30), today=D(2026, 1, 1),
    )  # fmt: skip
    assert valid_exception(application, s, D(2030, 6, 30)) == exception
    assert valid_exception(application, s, D(2030, 7, 1)) is None  # expired
    assert valid_exception(ApplicationFactory(), s, D(2027, 1, 1)) is None
    # a decision deprecated later no longer carries the exception
    ArchitectureDecision.objects.filter(pk=accepted.pk).update(status=DecisionStatus.DEPRECATED)
    assert valid_exception(application, s, D(2027, 1, 1)) is None


def test_grant_exception_refusals(arch):
    application = ApplicationFactory()
    s = standard(StandardStatus.RETIRED, D(2020, 1, 1), component=ITComponentFactory())
    proposed = _decision(DecisionStatus.PROPOSED)
    with pytest.raises(ValidationError) as exc:
        decisions.grant_exception(
            user=arch, application=application, standard=s, decision=proposed, reason="r",
            expires_on=D(2030, 1, 1), today=D(2026, 1, 1),
        )  # fmt: skip
    assert exc.value.error_dict["decision"][0].code == "decision_not_accepted"
    with pytest.raises(ValidationError) as exc:
        decisions.grant_exception(
            user=arch, application=application, standard=s, decision=_decision(), reason="r",
            expires_on=D(2026, 1, 1), today=D(2026, 1, 1),
        )  # fmt: skip
    assert exc.value.error_dict["expires_on"][0].code == "expiry_past"
    assert not s.exceptions.exists()
