"""The ITSM admin shows tickets with their timeline but leaves changes to the workflow."""

import pytest
from django.urls import reverse

from itsm.services import incidents as svc

pytestmark = pytest.mark.django_db

MODELS = [
    "incident", "problem", "change", "changetemplate", "freezewindow", "businesscalendar",
    "servicelevel",
]  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
def test_changelists_load(client, admin_user, calendar, model):
    client.force_login(admin_user)
    assert client.get(reverse(f"admin:itsm_{model}_changelist")).status_code == 200


def test_incident_page_shows_the_timeline_read_only(client, admin_user, calendar, desk):
    incident = svc.open_incident(user=desk, title="Scanner offline", impact="low", urgency="low")
    svc.add_comment(incident, user=desk, text="Checking the network port")
    client.force_login(admin_user)
    page = client.get(reverse("admin:itsm_incident_change", args=[incident.pk]))
    assert page.status_code == 200
    assert b"Checking the network port" in page.content
    assert b'name="_save"' not in page.content  # no save button: tickets move via services
    assert client.get(reverse("admin:itsm_incident_add")).status_code == 403
    calendar_page = client.get(reverse("admin:itsm_businesscalendar_change", args=[calendar.pk]))
    assert b"working_hours" in calendar_page.content or b"Working hours" in calendar_page.content
