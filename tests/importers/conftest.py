"""Fixtures of the tabular importer tests: a small city with one office, vendor and team, and
the architect who imports."""

import pytest

from cmdb.models import OrgUnit, Team, Vendor


@pytest.fixture
def city(db):
    root = OrgUnit.objects.create(name="Stadt Musterstadt", code="STADT", kind="administration")
    office = OrgUnit.objects.create(name="Bürgeramt", code="33", kind="office", parent=root)
    vendor = Vendor.objects.create(name="Dataport", country="DE")
    team = Team.objects.create(name="Team Fachverfahren", org_unit=office)
    return {"root": root, "office": office, "vendor": vendor, "team": team}


@pytest.fixture
def user(make_user):
    return make_user("architect", "architect")
