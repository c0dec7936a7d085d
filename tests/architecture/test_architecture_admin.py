import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

MODELS = [
    "capability", "techcategory", "technologystandard", "architecturedecision",
    "standardexception",
]  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
def test_changelists_load(client, admin_user, model):
    client.force_login(admin_user)
    assert client.get(reverse(f"admin:architecture_{model}_changelist")).status_code == 200


def test_check_trees_covers_the_architecture_trees(capsys):
    from django.core.management import call_command

    call_command("check_trees")
    out = capsys.readouterr().out
    assert "capabilities: OK" in out
    assert "technology categories: OK" in out
