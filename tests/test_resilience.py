"""A database outage answers with a clean 503 (JSON for the API, HTML for pages, Retry-After),
wherever the request meets it: before the view, in a middleware, in a view, in a GraphQL
resolver. Statement errors that are not an outage keep their normal handling. The real outage
(PostgreSQL stopped under load) is scripts/fault_test.sh, see docs/operations.md."""

import json
import sqlite3

import psycopg
import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, ProgrammingError, connection
from django.db.backends import utils as backend_utils
from graphql import GraphQLError

from itsm.models import Incident
from landkarte.models import APIToken
from landkarte.resilience import is_database_outage

MIDDLEWARE = "landkarte.resilience.DatabaseUnavailableMiddleware"
QUEUE = "{ incidents(first: 5) { totalCount edges { node { number } } } }"


@pytest.fixture(autouse=True)
def resilience(settings):
    """The middleware right after WhiteNoise, as docs/operations.md says."""
    middleware = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    index = middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1
    settings.MIDDLEWARE = [*middleware[:index], MIDDLEWARE, *middleware[index:]]
    settings.LANDKARTE_DB_RETRY_AFTER = 7


@pytest.fixture
def outage_on(monkeypatch):
    """Make every SQL statement that mentions `table` fail as if the server had gone away
    (psycopg's client-side error: no SQLSTATE). Returns a switch to end the outage."""
    original = backend_utils.CursorWrapper._execute
    state = {"table": None}

    def execute(self, sql, params, *ignored):
        if state["table"] and state["table"] in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return original(self, sql, params, *ignored)

    monkeypatch.setattr(backend_utils.CursorWrapper, "_execute", execute)

    def switch(table):
        state["table"] = table

    return switch


def assert_clean_json_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response["Content-Type"].startswith("application/json")
    error = json.loads(response.content)["errors"][0]
    assert error["extensions"]["code"] == "service_unavailable"
    assert "temporarily unavailable" in error["message"]
    assert "closed the connection" not in response.content.decode()


def test_a_resolver_that_loses_the_database_gives_503_not_a_graphql_error(
    client, make_user, outage_on
):
    client.force_login(make_user("desk", "service_desk"))
    outage_on('"itsm_incident"')
    response = client.post("/graphql/", {"query": QUEUE}, content_type="application/json")
    assert_clean_json_503(response)

    outage_on(None)  # the server is back: the next request works, nothing is sticky
    response = client.post("/graphql/", {"query": QUEUE}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["data"]["incidents"]["totalCount"] == 0


def test_a_mutation_during_an_outage_gives_503_and_writes_nothing(client, make_user, outage_on):
    desk = make_user("desk", "service_desk")
    _, token = APIToken.issue(desk)
    outage_on('INSERT INTO "itsm_incident"')
    mutation = """mutation { incidentCreate(input: {title: "Printer", impact: "low",
        urgency: "low"}) { errors { code } incident { number } } }"""
    response = client.post(
        "/graphql/", {"query": mutation}, content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert_clean_json_503(response)
    assert not Incident.objects.exists()


def test_an_outage_in_a_middleware_gives_503(client, make_user, outage_on):
    _, token = APIToken.issue(make_user("desk", "service_desk"))
    outage_on('"landkarte_apitoken"')  # the bearer-token lookup runs in a middleware
    # Django has turned the exception into a 500 before the 503 replaces it; the test client
    # would re-raise it (as it does for every 500), a real server does not.
    client.raise_request_exception = False
    response = client.post(
        "/graphql/", {"query": QUEUE}, content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert_clean_json_503(response)


def test_a_page_gives_an_html_503(client, make_user, outage_on):
    client.force_login(make_user("desk", "service_desk"))
    outage_on('"itsm_incident"')
    response = client.get("/incidents/")
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert body.count("<h1>") == 1
    assert "temporarily unavailable" in body


def test_a_request_while_the_server_is_down_gets_503_before_any_view(client, settings, monkeypatch):
    """No test transaction here: for a request with credentials the middleware opens the
    connection itself, first."""

    def refuse():
        raise OperationalError('connection to server on socket "/tmp/x" failed')

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    client.cookies[settings.SESSION_COOKIE_NAME] = "a-signed-in-browser"
    response = client.get("/incidents/", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert "<h1>" in response.content.decode()

    response = client.post(
        "/graphql/", {"query": QUEUE}, content_type="application/json",
        headers={"Authorization": "Bearer lk_anything"},
    )  # fmt: skip
    assert_clean_json_503(response)


def test_an_anonymous_page_that_needs_no_database_is_served_without_one(client):
    """No test transaction and no database access allowed: the sign-in page works as before."""
    response = client.get("/login/")
    assert response.status_code == 200


class FakePostgresError(Exception):
    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(django_error, driver_error):
    exc = django_error(str(driver_error))
    exc.__cause__ = driver_error
    return exc


def sqlite_error(code: int) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("sqlite")
    exc.sqlite_errorcode = code
    return exc


@pytest.mark.parametrize(
    "exc, outage",
    [
        (wrapped(OperationalError, FakePostgresError("57P01")), True),  # admin shutdown
        (wrapped(OperationalError, FakePostgresError("57P03")), True),  # starting up
        (wrapped(OperationalError, FakePostgresError("08006")), True),  # connection failure
        (wrapped(OperationalError, FakePostgresError(None)), True),  # no server answer
        (OperationalError("the connection is closed"), True),
        (InterfaceError("connection already closed"), True),
        (wrapped(OperationalError, FakePostgresError("55P03")), False),  # lock not available
        (wrapped(OperationalError, FakePostgresError("40P01")), False),  # deadlock
        (wrapped(OperationalError, FakePostgresError("57014")), False),  # statement timeout
        (wrapped(OperationalError, sqlite_error(sqlite3.SQLITE_BUSY)), True),
        (wrapped(OperationalError, sqlite_error(sqlite3.SQLITE_CANTOPEN)), True),
        (wrapped(OperationalError, sqlite_error(sqlite3.SQLITE_ERROR)), False),  # no such table
        # Unwrapped driver errors (a server-side cursor's close() when the server went away).
        (psycopg.OperationalError("consuming input failed: server closed the connection"), True),
        (psycopg.InterfaceError("the connection is closed"), True),
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.errors.LockNotAvailable("lock not available"), False),
        (sqlite_error(sqlite3.SQLITE_BUSY), True),
        (sqlite3.OperationalError("no such table: x"), False),
        (IntegrityError("duplicate key"), False),
        (ProgrammingError("syntax error"), False),
        (GraphQLError("x", original_error=OperationalError("gone")), True),
        (GraphQLError("x", original_error=ValueError("bad input")), False),
        (ValueError("bad input"), False),
    ],
)
def test_only_connection_failures_count_as_an_outage(exc, outage):
    assert is_database_outage(exc) is outage
