import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from landkarte.roles import ROLES, sync_role_groups


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher costs about 0.3 s per user; tests create hundreds of them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roles(db):
    sync_role_groups()


@pytest.fixture
def make_user(db, roles):
    def make(username: str, role: str | None = None, superuser: bool = False):
        User = get_user_model()
        user = User.objects.create_user(
            username=username, password="pw-for-tests-only", is_staff=True,
            is_superuser=superuser,
        )  # fmt: skip
        if role:
            assert role in ROLES
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", superuser=True)


@pytest.fixture
def architect(make_user):
    return make_user("architect", "architect")


@pytest.fixture
def requester(make_user):
    return make_user("requester", "requester")


@pytest.fixture
def gql(client):
    """POST a GraphQL document through the real view (middleware, auth, CSRF exemption for
    tokens). Returns (status code, decoded JSON)."""

    def run(query: str, variables: dict | None = None, user=None, token: str | None = None):
        client.logout()
        headers = {}
        if user is not None:
            client.force_login(user)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = client.post(
            "/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            headers=headers,
        )
        return response.status_code, response.json()

    return run
