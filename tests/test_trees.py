import pytest
from django.core.management import CommandError, call_command

from cmdb.factories import OrgUnitFactory
from cmdb.models import OrgUnit
from landkarte.trees import tree_problems

pytestmark = pytest.mark.django_db


def test_check_trees_finds_and_repairs_a_corrupt_tree(capsys):
    city = OrgUnitFactory(code="LHS", kind="administration")
    dept = OrgUnitFactory(parent=city, kind="department")
    OrgUnitFactory(parent=dept)
    OrgUnitFactory(parent=city)
    assert tree_problems(OrgUnit) == []
    call_command("check_trees")
    assert "OK (4 nodes)" in capsys.readouterr().out

    OrgUnit.objects.filter(pk=dept.pk).update(rght=dept.lft + 1)
    assert tree_problems(OrgUnit)
    with pytest.raises(CommandError):
        call_command("check_trees")
    call_command("check_trees", "--rebuild")
    assert "rebuilt, 0 problems left" in capsys.readouterr().out
    assert tree_problems(OrgUnit) == []
