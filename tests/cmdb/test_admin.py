"""The admin works for real people: lists with filters, edits recorded with their author."""

import pytest
from django.urls import reverse

from cmdb.factories import ApplicationFactory, InterfaceFactory, OrgUnitFactory, VendorFactory
from cmdb.models import Application

pytestmark = pytest.mark.django_db

MODELS = [
    "orgunit", "team", "vendor", "itcomponent", "application", "interface",
    "interfaceconsumer", "dataobject", "service", "softwarepackage",
    "applicationcomponent", "responsibility",
]  # fmt: skip


@pytest.fixture
def landscape():
    city = OrgUnitFactory(name="City", code="LHS", kind="administration")
    office = OrgUnitFactory(name="Bürgeramt", code="33", kind="office", parent=city)
    us = VendorFactory(name="Microsoft Corporation", country="US")
    app = ApplicationFactory(
        name="Einwohnermeldewesen", owner_org_unit=office,
        vendor=VendorFactory(country="DE", parent=us),
    )  # fmt: skip
    InterfaceFactory(provider=app)
    return {"city": city, "app": app}


@pytest.mark.parametrize("model", MODELS)
def test_changelists_and_add_forms_load(client, admin_user, landscape, model):
    client.force_login(admin_user)
    assert client.get(reverse(f"admin:cmdb_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:cmdb_{model}_add")).status_code == 200


def test_application_filters_and_change_page(client, admin_user, landscape):
    client.force_login(admin_user)
    url = reverse("admin:cmdb_application_changelist")
    city = landscape["city"]
    for query in (
        f"?org_unit_subtree={city.pk}",
        "?vendor_jurisdiction=non_eu",
        "?lifecycle_phase=active",
        "?criticality__exact=mission_critical",
        "?q=einwohner",
    ):
        response = client.get(url + query)
        assert response.status_code == 200, query
    assert b"Einwohnermeldewesen" in client.get(url + f"?org_unit_subtree={city.pk}").content
    elsewhere = OrgUnitFactory(name="Kämmerei", parent=city)
    response = client.get(url + f"?org_unit_subtree={elsewhere.pk}")
    assert b"Einwohnermeldewesen" not in response.content
    response = client.get(url + "?vendor_jurisdiction=non_eu")
    assert b"Einwohnermeldewesen" in response.content
    response = client.get(url + "?vendor_jurisdiction=eu")
    assert b"Einwohnermeldewesen" not in response.content
    app = landscape["app"]
    page = client.get(reverse("admin:cmdb_application_change", args=[app.pk]))
    assert page.status_code == 200
    assert b"provided interfaces" in page.content.lower()
    history = client.get(reverse("admin:cmdb_application_history", args=[app.pk]))
    assert history.status_code == 200


def test_admin_edit_is_recorded_with_the_author(client, architect, landscape):
    app = landscape["app"]
    client.force_login(architect)
    url = reverse("admin:cmdb_application_change", args=[app.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data = {k: (v.pk if hasattr(v, "pk") else v) for k, v in data.items()}
    data.update(name="Einwohnermeldewesen (neu)", criticality="mission_critical")
    for prefix in ("responsibilities", "component_uses", "provided_interfaces", "consumer_links"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data["provided_interfaces-TOTAL_FORMS"] = 0
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    app = Application.objects.get(pk=app.pk)
    assert app.name == "Einwohnermeldewesen (neu)"
    record = app.history.first()
    assert record.history_user == architect
    assert record.history_change_reason == "changed in admin"


def test_requester_may_view_but_not_change(client, requester, landscape):
    client.force_login(requester)
    app = landscape["app"]
    assert client.get(reverse("admin:cmdb_application_changelist")).status_code == 200
    response = client.post(
        reverse("admin:cmdb_application_change", args=[app.pk]), {"name": "hacked"}
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:cmdb_application_add")).status_code == 403
