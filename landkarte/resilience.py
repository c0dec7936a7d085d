"""Database outages answer with a clean 503, and the service recovers by itself.

When the database server is down or restarting, every request that needs it fails. Without this
module such a request ends in a 500 (an HTML error page, or a GraphQL body whose `errors` carry a
driver message). `DatabaseUnavailableMiddleware` turns them into `503 Service Unavailable` with a
`Retry-After` header: a JSON body in the GraphQL error shape for API clients, a short HTML page
for browsers. Nothing else changes: the next request after the server is back gets a fresh
connection (with `CONN_HEALTH_CHECKS = True`, a persistent connection that died is replaced
before it is used).

Only connection-level failures count as an outage: no connection could be opened, the server
closed it (shut down, crashed, not yet accepting connections: SQLSTATE classes 08 and 57P0x), or
the driver reports it closed. A lock timeout, a deadlock or a statement error is a different
problem and keeps its normal handling.

The failure is seen wherever it happens:
- before the view: for a request with a session cookie or a bearer token (which needs the
  database at once) the middleware opens, or health-checks, the connection first, so it gets
  its 503 before anything else runs;
- in the view: `process_exception`;
- in a later middleware (session, token lookup): Django has already turned the exception into a
  500 response; a `got_request_exception` receiver marks the request and the 503 replaces it;
- in a GraphQL resolver: graphql-core turns the exception into an entry of `errors`; a database
  execute wrapper (Django's query instrumentation) marks the request on the way.

Setting: `LANDKARTE_DB_RETRY_AFTER` (seconds for the `Retry-After` header, default 5).

Enable it right after WhiteNoise (static files need no database):
    "landkarte.resilience.DatabaseUnavailableMiddleware",
"""

import json
import logging
import sqlite3
import sys
from contextlib import ExitStack

import psycopg
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _

logger = logging.getLogger("landkarte.resilience")

MARK = "_landkarte_database_unavailable"

# PostgreSQL: connection exceptions, and admin/crash shutdown or "cannot connect now" (starting).
OUTAGE_SQLSTATE_CLASSES = {"08"}
OUTAGE_SQLSTATES = {"57P01", "57P02", "57P03"}
# SQLite: the file cannot be opened or read, or stays locked beyond the busy timeout.
OUTAGE_SQLITE_CODES = {
    getattr(sqlite3, name)
    for name in ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR")
    if hasattr(sqlite3, name)
}


# Driver exceptions that Django does not wrap: psycopg raises them from a server-side cursor's
# close() (QuerySet.iterator(), e.g. a form's choices) when the server goes away mid-query.
DRIVER_CONNECTION_ERRORS = (
    sqlite3.OperationalError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def retry_after_seconds() -> int:
    return int(getattr(settings, "LANDKARTE_DB_RETRY_AFTER", 5))


def is_database_outage(exc: BaseException | None) -> bool:
    """True for a failure of the connection to the database server, not of a statement."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, InterfaceError):
            return True
        if isinstance(exc, OperationalError):
            return _driver_error_is_outage(exc.__cause__)
        if isinstance(exc, DRIVER_CONNECTION_ERRORS):
            return _driver_error_is_outage(exc)
        # graphql-core wraps resolver exceptions; Django chains driver errors.
        exc = getattr(exc, "original_error", None) or exc.__cause__
    return False


def _driver_error_is_outage(driver_error: BaseException | None) -> bool:
    if driver_error is None:
        return True
    if isinstance(driver_error, sqlite3.Error):
        code = getattr(driver_error, "sqlite_errorcode", None)
        if code is None:
            return False
        return (code & 0xFF) in OUTAGE_SQLITE_CODES
    sqlstate = getattr(driver_error, "sqlstate", None)
    if sqlstate is None:
        # psycopg raises client-side OperationalErrors without a SQLSTATE only when the server
        # could not be reached or the connection broke.
        return True
    return sqlstate[:2] in OUTAGE_SQLSTATE_CLASSES or sqlstate in OUTAGE_SQLSTATES


def wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        request.path.startswith("/graphql")
        or request.content_type == "application/json"
        or ("application/json" in accept and "text/html" not in accept)
    )


def unavailable_response(request) -> HttpResponse:
    message = _("The database is temporarily unavailable. Please try again in a moment.")
    if wants_json(request):
        body = json.dumps(
            {"errors": [{"message": message, "extensions": {"code": "service_unavailable"}}]}
        )
        response = HttpResponse(body, status=503, content_type="application/json")
    else:
        title = _("Service temporarily unavailable")
        body = (
            f'<!DOCTYPE html><html lang="{escape(get_language() or "en")}"><head>'
            f'<meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><main><h1>{escape(title)}</h1><p>{escape(message)}</p></main></body></html>"
        )
        response = HttpResponse(body, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(retry_after_seconds())
    response["Cache-Control"] = "no-store"
    return response


def _mark(request, exc: BaseException) -> None:
    if request is not None and not getattr(request, MARK, False):
        setattr(request, MARK, True)
        logger.warning("Database unavailable (%s): %s %s", exc, request.method, request.path)


class _QueryWatch:
    """An execute wrapper that marks the request when a query meets a broken connection."""

    def __init__(self, request):
        self.request = request

    def __call__(self, execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except (OperationalError, InterfaceError) as exc:
            if is_database_outage(exc):
                _mark(self.request, exc)
            raise


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if carries_credentials(request):
            try:
                _check_connection()
            except (OperationalError, InterfaceError) as exc:
                if not is_database_outage(exc):
                    raise
                _mark(request, exc)
                return unavailable_response(request)
        with ExitStack() as stack:
            watch = _QueryWatch(request)
            for connection in connections.all(initialized_only=True):
                stack.enter_context(connection.execute_wrapper(watch))
            response = self.get_response(request)
        if getattr(request, MARK, False) and response.status_code != 503:
            return unavailable_response(request)
        return response

    def process_exception(self, request, exception):
        if is_database_outage(exception):
            _mark(request, exception)
            return unavailable_response(request)
        return None


def carries_credentials(request) -> bool:
    """A session cookie or a bearer token is looked up in the database at once; an anonymous
    request (the sign-in page) may not need the database at all."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "Authorization" in request.headers


def _check_connection() -> None:
    """Open the default connection, or replace a persistent one that died (with
    CONN_HEALTH_CHECKS), before anything else uses it."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.in_atomic_block:
        return  # a test's transaction, or a caller's: leave the connection alone
    connection.close_if_health_check_failed()
    connection.ensure_connection()


def _on_request_exception(sender, request=None, **kwargs):
    exc = sys.exc_info()[1]
    if exc is not None and is_database_outage(exc):
        _mark(request, exc)


got_request_exception.connect(_on_request_exception, dispatch_uid="landkarte.resilience")
