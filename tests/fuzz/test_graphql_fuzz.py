"""schemathesis (GraphQL mode) against the live schema: every query and every mutation, through
the real WSGI application and the bearer-token middleware, signed in as the demo user of a role.

A response must never be a 5xx, must be a JSON object that keeps the schema's contract (no null
in a non-null field), must not leak internals (traceback, exception class names, "Internal")
in its errors, and no resolver may let a Python exception escape other than the ones that carry a
message meant for the user (ValidationError, PermissionDenied, GraphQLError).

Every operation runs with two roles (a rotation over the six, so that each role fuzzes a third of
the operations); LANDKARTE_FUZZ_EXAMPLES sets the examples per operation and role (default 5),
LANDKARTE_FUZZ_RANDOM=1 draws new inputs instead of the reproducible default.
"""

import builtins
import json
import re
import zlib

import pytest
import schemathesis
from graphql_relay import to_global_id
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from landkarte.roles import ROLES
from landkarte.schema import schema as graphene_schema
from tests.fuzz.conftest import ID_POOL, fuzz_derandomize, fuzz_examples

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]


def _operations() -> list[tuple[str, str]]:
    gql = graphene_schema.graphql_schema
    return [("Query", name) for name in sorted(gql.query_type.fields)] + [
        ("Mutation", name) for name in sorted(gql.mutation_type.fields)
    ]


OPERATIONS = _operations()


def roles_for(index: int) -> list[str]:
    """Two roles per operation, rotating so that neighbours get different pairs."""
    return [ROLES[index % len(ROLES)], ROLES[(index + len(ROLES) // 2) % len(ROLES)]]


PLAN = [(root, name, roles_for(index)) for index, (root, name) in enumerate(OPERATIONS)]


def _id_values():
    """Relay IDs: mostly seeded rows (so lookups and mutations reach the services), else a
    well-formed ID of a missing row, garbage, or an integer."""
    from graphql_relay import from_global_id, to_global_id

    def pooled(index: int) -> str:
        return ID_POOL[index % len(ID_POOL)] if ID_POOL else "QXBwbGljYXRpb25UeXBlOjE="

    def missing(index: int, pk: int) -> str:
        kind = from_global_id(pooled(index))[0] or "ApplicationType"
        return to_global_id(kind, pk)

    indexes = st.integers(min_value=0, max_value=10_000)
    return st.one_of(
        indexes.map(pooled).map(nodes.String),
        indexes.map(pooled).map(nodes.String),
        st.builds(missing, indexes, st.integers(min_value=-1, max_value=10**12)).map(nodes.String),
        st.text(max_size=40).map(nodes.String),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
    )


schemathesis.graphql.scalar("ID", _id_values())

BUILTIN_EXCEPTIONS = sorted(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException) and name != "Exception"
)
LEAK = re.compile(
    r"Traceback \(most recent call last\)|\bInternal\b|matching query does not exist"
    r"|\b(?:" + "|".join(BUILTIN_EXCEPTIONS) + r"|IntegrityError|OperationalError"
    r"|ProgrammingError|DataError|DatabaseError|InterfaceError|DoesNotExist"
    r"|MultipleObjectsReturned|FieldError|FieldDoesNotExist)\b"
)
LEAKY_EXTENSIONS = {"exception", "stacktrace", "traceback"}


def check_response(case, response, crashes) -> bool:
    """Assert the response is sound; returns whether the operation was executed."""
    request = f"\n{case.body}"
    assert response.status_code < 500, f"HTTP {response.status_code}{request}"
    assert response.status_code != 401, f"the token was refused{request}"
    try:
        payload = json.loads(response.content)
    except ValueError:
        pytest.fail(f"not JSON: {response.content[:200]!r}{request}")
    assert isinstance(payload, dict), f"not a JSON object: {payload!r}{request}"
    assert set(payload) <= {"data", "errors", "extensions"}, f"{sorted(payload)}{request}"
    case.operation.schema.validate_response(case.operation, response, case=case)
    for error in payload.get("errors") or []:
        message = error.get("message")
        assert isinstance(message, str) and message, f"error without a message: {error}{request}"
        assert not LEAK.search(message), f"an error leaks internals: {message!r}{request}"
        extensions = error.get("extensions") or {}
        assert isinstance(extensions, dict), f"{error}{request}"
        assert not LEAKY_EXTENSIONS & set(extensions), f"an error leaks internals: {error}"
    assert not crashes, (
        "a resolver raised "
        + "; ".join(f"{type(exc).__name__}: {exc} at {path}" for exc, path in crashes)
        + request
    )
    # Executed: a resolver ran (data, or an error located at a field), rather than the whole
    # document being refused by parsing, validation or a limit.
    return payload.get("data") is not None or any(
        "path" in error for error in payload.get("errors") or []
    )


def live_schema(world):
    """The schema as the running application introspects it, for a signed-in API client."""
    from landkarte.wsgi import application

    if world.schema is None:
        world.schema = schemathesis.graphql.from_wsgi(
            "/graphql/",
            application,
            headers={"Authorization": f"Bearer {world.tokens['auditor']}"},
        )
    return world.schema


def fuzz(operation, token: str, crashes, seed_text: str) -> int:
    """Runs the bounded fuzz of one operation with one token; returns how many examples were
    executed (not refused before execution)."""
    headers = {"Authorization": f"Bearer {token}"}
    executed = []

    @settings(
        max_examples=fuzz_examples(),
        deadline=None,
        database=None,
        # No shrinking: the first failing document is reported as it is, and a failure costs
        # no more time than a pass (shrinking replays hundreds of requests).
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case):
        crashes.clear()
        response = case.call(headers=headers)
        if check_response(case, response, crashes):
            executed.append(case)

    if fuzz_derandomize():
        # Reproducible, but a different stream for every operation and role.
        run = seed(zlib.crc32(seed_text.encode()))(run)
    run()
    return len(executed)


def test_the_plan_covers_every_operation_and_every_role():
    assert {(root, name) for root, name, _roles in PLAN} == set(OPERATIONS)
    assert len(OPERATIONS) > 100
    assert all(len(set(roles)) == 2 for _root, _name, roles in PLAN)
    used = [role for _root, _name, roles in PLAN for role in roles]
    for role in ROLES:
        assert used.count(role) >= len(OPERATIONS) // len(ROLES), role
    for root in ("Query", "Mutation"):
        assert {role for r, _name, roles in PLAN if r == root for role in roles} == set(ROLES)


@pytest.mark.parametrize(
    ("root", "name", "roles"), PLAN, ids=[f"{root}.{name}" for root, name, _roles in PLAN]
)
def test_operation_survives_fuzzing(
    root, name, roles, fuzz_world, in_process_wsgi, resolver_crashes
):
    operation = live_schema(fuzz_world)[root][name]
    executed = {
        role: fuzz(operation, fuzz_world.tokens[role], resolver_crashes, f"{root}.{name}.{role}")
        for role in roles
    }
    # A fuzzer whose every document is refused before execution tests nothing.
    assert sum(executed.values()) > 0, f"no example of {root}.{name} was executed: {executed}"


def test_regression_requirement_submit_without_the_scores_is_refused_per_field(make_user, gql):
    """Found by the fuzzer: the input type is shared with requirementUpdate (all optional), and
    the service was called without its required arguments (TypeError)."""
    from cmdb.factories import OrgUnitFactory

    user = make_user("fuzz-requester", "requester")
    unit = to_global_id("OrgUnitType", OrgUnitFactory().pk)
    status, body = gql(
        """mutation($input: RequirementSubmitInput!) {
             requirementSubmit(input: $input) { requirement { id } errors { field code } } }""",
        {"input": {"requestingOrgUnit": unit, "title": "New form", "jobSize": 3}},
        user=user,
    )
    assert status == 200 and "errors" not in body, body
    result = body["data"]["requirementSubmit"]
    assert result["requirement"] is None
    assert sorted(e["field"] for e in result["errors"]) == [
        "businessValue", "kind", "riskReduction", "timeCriticality",
    ]  # fmt: skip
    assert {e["code"] for e in result["errors"]} == {"required"}
