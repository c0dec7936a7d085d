"""Rules that hold in the database and give messages a user understands."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cmdb.models import (
    Application,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Responsibility,
    Team,
    Vendor,
)

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def unit():
    return OrgUnit.objects.create(name="Bürgeramt", code="33", kind="office")


def app(unit, name="App", **kwargs):
    return Application.objects.create(name=name, kind="saas", owner_org_unit=unit, **kwargs)


def test_application_cannot_consume_its_own_interface(unit):
    provider = app(unit)
    interface = Interface.objects.create(name="API", provider=provider, protocol="rest")
    link = InterfaceConsumer(interface=interface, consumer=provider)
    with pytest.raises(ValidationError) as exc:
        link.full_clean()
    assert "cannot consume its own interface" in str(exc.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        InterfaceConsumer.objects.create(interface=interface, consumer=provider)


def test_changing_the_provider_moves_the_edges_and_refuses_a_consumer_as_provider(unit):
    a, b, c = app(unit, "A"), app(unit, "B"), app(unit, "C")
    interface = Interface.objects.create(name="API", provider=a, protocol="rest")
    InterfaceConsumer.objects.create(interface=interface, consumer=b)
    interface.provider = c
    interface.save()
    assert InterfaceConsumer.objects.get().provider == c
    interface.provider = b
    with pytest.raises(ValidationError) as exc:
        interface.full_clean()
    assert exc.value.error_dict["provider"][0].code == "own_interface"


def test_lifecycle_dates_in_order(unit):
    bad = Application(
        name="X", kind="saas", owner_org_unit=unit,
        active_date=D(2024, 1, 1), phase_out_date=D(2023, 1, 1),
    )  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert exc.value.error_dict["phase_out_date"][0].code == "date_order"
    assert "cannot be before" in exc.value.messages[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        bad.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        ITComponent.objects.create(
            name="PG", version="9", kind="database",
            release_date=D(2020, 1, 1), end_of_life=D(2019, 1, 1),
        )  # fmt: skip


def test_phase_on_a_date_and_alive(unit):
    a = app(
        unit, plan_date=D(2020, 1, 1), phase_in_date=D(2021, 1, 1), active_date=D(2021, 6, 1),
        phase_out_date=D(2030, 1, 1), end_of_life_date=D(2031, 1, 1),
    )  # fmt: skip
    assert a.phase_on(D(2019, 1, 1)) is None
    assert a.phase_on(D(2020, 5, 1)) == "plan"
    assert a.phase_on(D(2021, 1, 1)) == "phase_in"
    assert a.phase_on(D(2025, 1, 1)) == "active"
    assert a.phase_on(D(2030, 6, 1)) == "phase_out"
    assert a.phase_on(D(2031, 1, 1)) == "end_of_life"
    assert not a.is_alive(D(2020, 5, 1))
    assert a.is_alive(D(2030, 6, 1))
    assert not a.is_alive(D(2032, 1, 1))
    assert app(unit, "no dates").is_alive(D(2000, 1, 1))


@pytest.mark.parametrize(
    "functional,technical,expected",
    [(4, 4, "invest"), (3, 1, "migrate"), (2, 3, "tolerate"), (1, 2, "eliminate"), (None, 3, None)],
)
def test_time_class(unit, functional, technical, expected):
    assert app(unit, functional_fit=functional, technical_fit=technical).time_class == expected


def test_vendor_group_structure_and_jurisdiction():
    parent = Vendor.objects.create(name="Microsoft Corporation", country="US")
    child = Vendor.objects.create(name="Microsoft Deutschland GmbH", country="DE", parent=parent)
    grandchild = Vendor.objects.create(name="MS Berlin", country="DE", parent=child)
    assert grandchild.ultimate_parent == parent
    assert grandchild.jurisdiction == "US" and not grandchild.is_eu
    independent = Vendor.objects.create(name="Dataport", country="DE")
    assert independent.ultimate_parent is None and independent.is_eu
    # Restructuring the group moves every member's jurisdiction.
    child.parent = independent
    child.save()
    grandchild.refresh_from_db()
    assert grandchild.ultimate_parent == independent and grandchild.is_eu
    independent.parent = grandchild
    with pytest.raises(ValidationError) as exc:
        independent.full_clean()
    assert exc.value.error_dict["parent"][0].code == "cycle"


def test_vendor_country_must_be_iso_code():
    with pytest.raises(ValidationError) as exc:
        Vendor(name="Acme", country="Germany").full_clean()
    assert "country" in exc.value.error_dict


def test_responsibility_names_a_team_or_a_person(unit, django_user_model):
    a = app(unit)
    team = Team.objects.create(name="Ops", org_unit=unit)
    person = django_user_model.objects.create(username="erika")
    Responsibility.objects.create(application=a, role="operations", team=team)
    Responsibility.objects.create(application=a, role="product_owner", person=person)
    with pytest.raises(IntegrityError), transaction.atomic():
        Responsibility.objects.create(application=a, role="support", team=team, person=person)
    with pytest.raises(IntegrityError), transaction.atomic():
        Responsibility.objects.create(application=a, role="support")


def test_org_unit_codes_are_unique_and_history_skips_tree_fields():
    city = OrgUnit.objects.create(name="City", code="LHS", kind="administration")
    OrgUnit.objects.create(name="Bürgeramt", code="33", kind="office", parent=city)
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.create(name="Other", code="33", kind="office")
    field_names = {f.name for f in OrgUnit.history.model._meta.fields}
    assert "lft" not in field_names and "tree_id" not in field_names
    assert "parent" in field_names


def test_many_to_many_changes_are_recorded(unit):
    from cmdb.factories import ApplicationFactory, ServiceFactory

    service = ServiceFactory()
    app = ApplicationFactory()
    before = service.history.count()
    service.applications.add(app)
    assert service.history.count() == before + 1
    snapshot = service.history.first()
    assert [row.application_id for row in snapshot.applications.all()] == [app.pk]
