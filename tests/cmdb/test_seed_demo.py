"""The demo city: size, realism the later features rely on, determinism and idempotency."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F

from cmdb import factories
from cmdb.choices import EU_COUNTRIES, OrgUnitKind
from cmdb.demo import DEMO_PASSWORD, DEMO_USERS, build_demo_city
from cmdb.models import (
    Application,
    ApplicationComponent,
    DataObject,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Service,
    Vendor,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return build_demo_city(seed=1, scale=1)


def generated_apps():
    return list(
        Application.objects.filter(external_id__startswith="demo:app:")
        .order_by("external_id")
        .values_list("external_id", "name", "criticality", "hosting", "active_date")
    )


def test_size_of_the_city(demo):
    assert Application.objects.count() >= 250
    assert Interface.objects.count() >= 600
    assert Vendor.objects.count() >= 60
    assert OrgUnit.objects.filter(kind=OrgUnitKind.OFFICE).count() >= 40
    assert OrgUnit.objects.filter(kind=OrgUnitKind.MUNICIPAL_ENTERPRISE).count() == 2
    assert OrgUnit.objects.get(parent=None).code == "LHS"
    assert DataObject.objects.filter(special_categories=True).exists()
    assert Service.objects.count() >= 30
    assert demo["total"]["Application"] == Application.objects.count()
    assert demo["created"]["Interface"] == Interface.objects.count()
    # Every application is owned by an office (or enterprise), a team and a business owner.
    assert not Application.objects.filter(owner_team=None).exists()
    assert not Application.objects.filter(business_owner="").exists()
    assert not Application.objects.filter(responsibilities=None).exists()


def test_vendors_in_and_outside_the_eu_with_group_structures(demo):
    countries = set(Vendor.objects.values_list("country", flat=True))
    assert "DE" in countries and "US" in countries
    assert countries & (EU_COUNTRIES - {"DE"})
    microsoft_de = Vendor.objects.get(name="Microsoft Deutschland GmbH")
    assert microsoft_de.country == "DE"
    assert microsoft_de.ultimate_parent.name == "Microsoft Corporation"
    assert microsoft_de.jurisdiction == "US" and not microsoft_de.is_eu
    us_owned = Vendor.objects.filter(country__in=EU_COUNTRIES, ultimate_parent__country="US")
    assert us_owned.count() >= 5
    assert Vendor.objects.get(name="Amazon Web Services EMEA SARL").country == "LU"


def test_components_with_real_end_of_life_dates(demo):
    today = datetime.date.today()
    w2012r2 = ITComponent.objects.get(eol_product="windows-server", eol_cycle="2012-r2")
    assert w2012r2.end_of_life == datetime.date(2023, 10, 10)
    assert w2012r2.vendor.name == "Microsoft Corporation"
    past = ITComponent.objects.filter(end_of_life__lt=today)
    assert past.filter(eol_product="postgresql").exists()
    assert ApplicationComponent.objects.filter(component__end_of_life__lt=today).exists()
    assert ITComponent.objects.filter(eol_product="", name="Keycloak").exists()
    for component in ITComponent.objects.all():
        dates = [component.release_date, component.end_of_support, component.end_of_life]
        dates = [d for d in dates if d is not None]
        assert dates == sorted(dates), component


def test_demo_users_one_per_role(demo):
    User = get_user_model()
    for username, role, *_rest in DEMO_USERS:
        user = User.objects.get(username=username)
        assert user.is_staff
        assert user.check_password(DEMO_PASSWORD)
        assert user.is_superuser == (username == "admin")
        if role:
            assert list(user.groups.values_list("name", flat=True)) == [role]


def test_interfaces_never_consumed_by_their_provider_and_history_has_the_admin(demo):
    assert not InterfaceConsumer.objects.filter(consumer=F("provider")).exists()
    assert not InterfaceConsumer.objects.exclude(provider=F("interface__provider")).exists()
    assert Interface.objects.filter(end_of_life__lt=datetime.date.today()).exists()
    edges = set(InterfaceConsumer.objects.values_list("consumer_id", "provider_id"))
    assert any((provider, consumer) in edges for consumer, provider in edges)  # cycles exist
    ewo = Application.objects.get(external_id="demo:app:ok-ewo")
    record = ewo.history.get()
    assert record.history_user.username == "admin"
    assert record.history_change_reason == "demo data"


def test_second_run_creates_nothing(demo):
    again = build_demo_city(seed=1, scale=1)
    assert not any(again["created"].values()), again["created"]
    assert again["total"] == demo["total"]


def test_same_seed_same_city_other_seed_other_city():
    with transaction.atomic():
        build_demo_city(seed=1)
        first = generated_apps()
        transaction.set_rollback(True)
    assert not Application.objects.exists()
    with transaction.atomic():
        build_demo_city(seed=1)
        assert generated_apps() == first
        transaction.set_rollback(True)
    build_demo_city(seed=2)
    second = generated_apps()
    assert [row[0] for row in second] == [row[0] for row in first]
    assert second != first


def test_command_prints_a_summary_and_refuses_a_bad_scale():
    out = io.StringIO()
    call_command("seed_demo", "--seed", "1", "--scale", "1", stdout=out)
    assert "Application" in out.getvalue() and "new" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("seed_demo", "--scale", "0", stdout=io.StringIO())


@pytest.mark.parametrize(
    "factory",
    [
        factories.UserFactory,
        factories.OrgUnitFactory,
        factories.TeamFactory,
        factories.VendorFactory,
        factories.ITComponentFactory,
        factories.ApplicationFactory,
        factories.ApplicationComponentFactory,
        factories.ResponsibilityFactory,
        factories.DataObjectFactory,
        factories.InterfaceFactory,
        factories.InterfaceConsumerFactory,
        factories.ServiceFactory,
        factories.SoftwarePackageFactory,
    ],
)
def test_factories_make_valid_objects(factory):
    first, second = factory(), factory()
    for instance in (first, second):
        instance.full_clean()
    assert first.pk != second.pk
