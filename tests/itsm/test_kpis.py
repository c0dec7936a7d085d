"""KPIs on a small hand-built data set equal hand-computed values."""

import datetime

import pytest

from cmdb.factories import ApplicationFactory, OrgUnitFactory, ServiceFactory
from itsm.models import Change, Incident
from itsm.services.kpis import compute_kpis
from tests.itsm.conftest import BERLIN

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 1, tzinfo=BERLIN)
END = datetime.datetime(2026, 4, 1, tzinfo=BERLIN)


def at(day, hour=9):
    return datetime.datetime(2026, 3, day, hour, tzinfo=BERLIN)


def incident(n, unit, service=None, **fields):
    defaults = {"title": f"I{n}", "impact": "low", "urgency": "low", "priority": "p4",
                "caller_org_unit": unit, "service": service}  # fmt: skip
    defaults.update(fields)
    if defaults.get("state") in ("resolved", "closed"):
        defaults.setdefault("resolution_code", "solved_permanently")
        defaults.setdefault("resolution_notes", "done")
    return Incident.objects.create(number=f"INC-2026-{n:06d}", **defaults)


@pytest.fixture
def data(make_user):
    requester = make_user("change-requester", "change_manager")
    city = OrgUnitFactory(code="LHS", kind="administration")
    office = OrgUnitFactory(parent=city)
    other = OrgUnitFactory(parent=city)
    mail = ServiceFactory()
    # Opened in March: responded after 10, 20 and 30 minutes; one never responded.
    incident(
        1,
        office,
        mail,
        opened_at=at(2),
        responded_at=at(2),
        response_minutes=10,
        state="resolved",
        resolved_at=at(3),
        resolution_minutes=100,
    )
    incident(
        2,
        office,
        mail,
        opened_at=at(3),
        responded_at=at(3),
        response_minutes=20,
        state="closed",
        resolved_at=at(5),
        resolution_minutes=200,
        reopen_count=1,
        resolution_breached=True,
    )
    incident(
        3,
        other,
        None,
        opened_at=at(4),
        responded_at=at(4),
        response_minutes=30,
        state="resolved",
        resolved_at=at(6),
        resolution_minutes=300,
        reassignment_count=2,
    )
    incident(4, office, None, opened_at=at(30), state="new")
    # Opened in February, resolved in March, and one still open at the end of March.
    incident(
        5,
        other,
        mail,
        opened_at=datetime.datetime(2026, 2, 20, tzinfo=BERLIN),
        responded_at=datetime.datetime(2026, 2, 20, tzinfo=BERLIN),
        response_minutes=50,
        state="resolved",
        resolved_at=at(10),
        resolution_minutes=400,
    )
    incident(
        6,
        office,
        None,
        opened_at=datetime.datetime(2026, 2, 25, tzinfo=BERLIN),
        state="in_progress",
    )
    # Cancelled in March: not in the backlog at the end.
    incident(7, office, None, opened_at=at(1), state="cancelled", closed_at=at(2))
    # Resolved in April: in March's backlog.
    incident(
        8,
        office,
        None,
        opened_at=at(20),
        state="resolved",
        resolved_at=datetime.datetime(2026, 4, 2, tzinfo=BERLIN),
        resolution_minutes=9,
    )
    app = ApplicationFactory(owner_org_unit=office)
    for n, (kind, outcome, start_day) in enumerate(
        [
            ("normal", "successful", 2),
            ("normal", "failed", 5),
            ("emergency", "successful", 9),
            ("standard", "rolled_back", 12),
            ("normal", None, 20),
        ],
        start=1,
    ):
        change = Change.objects.create(
            number=f"CHG-2026-{n:06d}",
            title=f"C{n}",
            change_type=kind,
            requested_by=requester,
            state="review" if outcome else "scheduled",
            planned_start=at(start_day),
            planned_end=at(start_day, 11),
            outcome=outcome,
            actual_start=at(start_day) if outcome else None,
            actual_end=at(start_day, 10) if outcome else None,
        )
        change.applications.add(app)
    return {"city": city, "office": office, "mail": mail}


def test_kpis_for_the_whole_city(data):
    kpis = compute_kpis(START, END)
    assert kpis.incidents_opened == 6  # 1, 2, 3, 4, 7, 8
    assert kpis.mtta_minutes == 20.0  # (10 + 20 + 30) / 3
    assert kpis.incidents_resolved == 4  # 1, 2, 3, 5
    assert kpis.mttr_minutes == 250.0  # (100 + 200 + 300 + 400) / 4
    assert kpis.sla_compliance == 75.0  # 2 breached its resolution target
    assert kpis.reopen_rate == 25.0  # 2 was reopened
    assert kpis.first_time_fix_rate == 50.0  # 1 and 5
    assert kpis.backlog_size == 3  # 4, 6 and 8 at the end of March
    # Ages on 1 April 00:00 (summer time since 29 March, one hour less for older ones):
    # 4 opened 30 March 09:00 (1.625 d), 6 on 25 Feb 00:00 (35 d - 1 h), 8 on 20 March 09:00
    # (11.625 d - 1 h): mean 16.06 days.
    assert kpis.backlog_mean_age_days == 16.1
    assert kpis.changes_completed == 4
    assert kpis.change_success_rate == 50.0
    assert kpis.changes_planned == 5
    assert kpis.emergency_change_share == 20.0


def test_kpis_for_an_office_and_a_service(data):
    office = compute_kpis(START, END, org_unit=data["office"])
    assert office.incidents_opened == 5  # 1, 2, 4, 7, 8 (3 is another office's)
    assert office.incidents_resolved == 2  # 1 and 2
    assert office.mttr_minutes == 150.0
    assert office.changes_completed == 4  # the application is owned by the office
    city = compute_kpis(START, END, org_unit=data["city"])
    assert city.incidents_opened == 6
    service = compute_kpis(START, END, service=data["mail"])
    assert (service.incidents_opened, service.incidents_resolved) == (2, 3)
    assert service.sla_compliance == pytest.approx(66.7)
    assert service.changes_completed == 0


def test_empty_period():
    kpis = compute_kpis(START, END)
    assert kpis.incidents_opened == 0 and kpis.mttr_minutes is None
    assert kpis.sla_compliance is None and kpis.backlog_mean_age_days is None


def test_incidents_per_week_count_what_compute_kpis_counts(data):
    from itsm.services.kpis import incidents_per_week

    for scope in ({}, {"org_unit": data["office"]}, {"service": data["mail"]}):
        weeks = incidents_per_week(START, END, **scope)
        kpis = compute_kpis(START, END, **scope)
        assert len(weeks) == 5 and weeks[0].start == START
        assert sum(w.opened for w in weeks) == kpis.incidents_opened, scope
        assert sum(w.resolved for w in weeks) == kpis.incidents_resolved, scope
    office = incidents_per_week(START, END, org_unit=data["office"])
    assert [w.opened for w in office] == [3, 0, 1, 0, 1]  # 1, 2, 7; 8; 4
    assert [w.resolved for w in office] == [2, 0, 0, 0, 0]  # 1 and 2
