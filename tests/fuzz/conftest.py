"""Fixtures of the fuzz tests: a seeded demo city shared by the whole module, the live GraphQL
schema loaded through the real WSGI application, one API token per role, and a spy that records
every Python exception a resolver let escape."""

import io
import os
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from graphql.error import GraphQLError
from graphql.execution.execute import ExecutionContext
from graphql_relay import to_global_id

from landkarte.roles import ROLES

# Python exceptions a resolver may raise on purpose: graphene-django turns them into a GraphQL
# error with a message the user can act on. Anything else that escapes is a crash.
EXPECTED_EXCEPTIONS = ("ValidationError", "PermissionDenied", "GraphQLError")

# Library code that refuses client input with a plain exception and a message meant for the
# client: graphene-django-query-optimizer's pagination validators (ValueError "Argument 'first'
# must be a positive integer.") and graphene's relay node lookup (Exception "Unable to parse
# global ID ..." / "Must receive a XType id.").
EXPECTED_RAISERS = (
    "query_optimizer/validators.py",
    "graphene/relay/node.py",
    "graphene/relay/id_type.py",
)


def raised_by(exc: BaseException) -> str:
    """The file of the innermost frame that raised `exc`."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename.replace("\\", "/") if tb is not None else ""


# Demo user of each role (cmdb.demo.DEMO_USERS): they belong to teams and org units, so the
# role-scoped code paths (a requester's own org unit, a team's queue) see real rows.
DEMO_USER_OF_ROLE = {
    "service_desk": "desk",
    "change_manager": "change",
    "architect": "architect",
    "procurement": "procurement",
    "requester": "requester",
    "auditor": "auditor",
}

# Relay IDs of seeded rows that the generated ID arguments draw from (see test_graphql_fuzz).
ID_POOL: list[str] = []


def fuzz_examples() -> int:
    """Examples per operation and role: LANDKARTE_FUZZ_EXAMPLES (environment, then settings)."""
    value = os.environ.get("LANDKARTE_FUZZ_EXAMPLES") or getattr(
        settings, "LANDKARTE_FUZZ_EXAMPLES", 5
    )
    return max(1, int(value))


def fuzz_derandomize() -> bool:
    """Reproducible runs by default; LANDKARTE_FUZZ_RANDOM=1 explores new inputs on every run."""
    return os.environ.get("LANDKARTE_FUZZ_RANDOM", "") not in {"1", "true", "yes"}


@dataclass
class FuzzWorld:
    tokens: dict[str, str]
    ids: list[str]
    schema: object = None
    crashes: list = field(default_factory=list)


def seeded_global_ids(per_type: int = 3) -> list[str]:
    """A few Relay IDs per node type of the schema, taken from the seeded rows."""
    from landkarte.schema import schema

    ids = []
    for name, gql_type in sorted(schema.graphql_schema.type_map.items()):
        graphene_type = getattr(gql_type, "graphene_type", None)
        meta = getattr(graphene_type, "_meta", None)
        model = getattr(meta, "model", None)
        if model is None or getattr(model._meta, "abstract", False):
            continue
        pks = model._default_manager.order_by("pk").values_list("pk", flat=True)
        count = pks.count()
        if not count:
            continue
        picks = {pks[0], pks[count // 2], pks[count - 1]} if count > 2 else set(pks)
        ids.extend(to_global_id(name, pk) for pk in sorted(picks)[:per_type])
    return ids


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """The demo city (seed 1, scale 1) with a year of ITSM, sourcing and architecture data and a
    token for the demo user of each role, committed once for the module and flushed afterwards
    (the fuzz tests themselves run in rolled-back transactions on top of it)."""
    from landkarte.models import APIToken

    with django_db_blocker.unblock():
        call_command("seed_demo", "--seed", "1", "--scale", "1", stdout=io.StringIO())
        User = get_user_model()
        tokens = {}
        for role in ROLES:
            user = User.objects.get(username=DEMO_USER_OF_ROLE[role])
            assert user.groups.filter(name=role).exists(), (user, role)
            tokens[role] = APIToken.issue(user, name=f"fuzz {role}")[1]
        ID_POOL[:] = seeded_global_ids()
        world = FuzzWorld(tokens=tokens, ids=list(ID_POOL))
        try:
            yield world
        finally:
            ID_POOL.clear()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def in_process_wsgi(settings):
    """Calls into landkarte.wsgi.application from the test: the Host header of the WSGI client
    is allowed, and the per-request connection recycling is off, as in Django's test client
    (it would close the connection inside the test's transaction)."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def resolver_crashes(monkeypatch):
    """Every exception that escaped a resolver during the test, other than the expected ones,
    as (exception, path) pairs."""
    crashes = []
    original = ExecutionContext.build_response

    def spy(data, errors):
        for error in errors or ():
            cause = getattr(error, "original_error", None)
            if cause is None or isinstance(cause, GraphQLError):
                continue
            if type(cause).__name__ in EXPECTED_EXCEPTIONS:
                continue
            if raised_by(cause).endswith(EXPECTED_RAISERS):
                continue
            crashes.append((cause, error.path))
        return original(data, errors)

    monkeypatch.setattr(ExecutionContext, "build_response", staticmethod(spy))
    return crashes
