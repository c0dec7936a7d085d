import datetime
from zoneinfo import ZoneInfo

import pytest

from cmdb.factories import ApplicationFactory, InterfaceFactory, ServiceFactory, TeamFactory
from itsm.services import sla

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def calendar(db):
    calendar, _service_level = sla.ensure_default_calendar()
    return calendar


@pytest.fixture
def desk(make_user):
    return make_user("desk", "service_desk")


@pytest.fixture
def agent(make_user):
    return make_user("agent", "service_desk")


@pytest.fixture
def team(agent, desk):
    return TeamFactory(name="Application Operations", members=[agent, desk])


@pytest.fixture
def landscape(db):
    """Keycloak ← portal ← payment: the portal depends on Keycloak, payment on the portal."""
    idp = ApplicationFactory(name="Keycloak")
    portal = ApplicationFactory(name="Serviceportal")
    payment = ApplicationFactory(name="ePayBL")
    InterfaceFactory(provider=idp, consumers=[portal])
    InterfaceFactory(provider=portal, consumers=[payment])
    service = ServiceFactory(name="Online services", applications=[portal])
    return {"idp": idp, "portal": portal, "payment": payment, "service": service}


@pytest.fixture
def monday_9():
    return datetime.datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN)
