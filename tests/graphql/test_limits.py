"""GraphQL limits through the real view: depth, aliases, fields, cost, page size, tokens, request
size, introspection, suggestions, mutations by POST only, CSRF for sessions, and the cache of
parsed and validated documents."""

import json
import time
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from graphene_django.settings import graphene_settings
from graphql import get_introspection_query

from cmdb.factories import ApplicationFactory, OrgUnitFactory
from landkarte import graphql_limits

pytestmark = pytest.mark.django_db

FAST = 0.100  # seconds: the issue demands that bombs are refused within 100 ms
SMALL = "{ applications { totalCount edges { node { name } } } }"


@pytest.fixture(autouse=True)
def empty_cache():
    graphql_limits.document_cache.clear()
    yield
    graphql_limits.document_cache.clear()


@pytest.fixture
def api(client, architect):
    """A signed-in session client that posts JSON; returns (status, body)."""
    client.force_login(architect)

    def post(query, variables=None, **extra):
        response = client.post(
            "/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            **extra,
        )
        return response.status_code, response.json()

    post("{ __typename }")  # the first request of a process loads the URLconf and schema
    return post


def timed(post, query, variables=None):
    started = time.perf_counter()
    status, body = post(query, variables)
    return time.perf_counter() - started, status, body


def code(body):
    return body["errors"][0]["extensions"]["code"]


def refused(status, body, expected_code):
    assert status == 400, body
    assert body.get("data") is None
    assert code(body) == expected_code, body
    return body["errors"][0]["message"]


def nested_org_units(levels: int) -> str:
    return (
        "{ orgUnits(first: 1) { edges { node { "
        + "parent { " * levels
        + "name"
        + " }" * levels
        + " } } } }"
    )


# -- normal queries ----------------------------------------------------------------------------


def test_a_normal_query_passes_every_limit(api):
    unit = OrgUnitFactory(name="Hauptamt")
    ApplicationFactory(name="Einwohnermeldewesen", owner_org_unit=unit)
    status, body = api(
        """query($first: Int) { applications(first: $first) { totalCount edges { node {
          name ownerOrgUnit { name parent { name } }
          providedInterfaces { name consumers { name } }
        } } } }""",
        {"first": 50},
    )
    assert status == 200, body
    assert "errors" not in body
    node = body["data"]["applications"]["edges"][0]["node"]
    assert node["name"] == "Einwohnermeldewesen"
    assert node["ownerOrgUnit"]["name"] == "Hauptamt"


def test_the_standard_introspection_query_passes_for_signed_in_users(api):
    status, body = api(get_introspection_query(descriptions=True))
    assert status == 200, body.get("errors")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


# -- depth -------------------------------------------------------------------------------------


def test_depth_bomb_is_refused_fast(api):
    seconds, status, body = timed(api, nested_org_units(200))
    refused(status, body, "query_too_deep")
    assert seconds <= FAST, f"refused in {seconds * 1000:.1f} ms"


def test_a_document_too_deep_for_the_parser_is_refused_as_too_deep(api):
    seconds, status, body = timed(api, nested_org_units(5000))
    refused(status, body, "query_too_deep")
    assert seconds <= FAST, f"refused in {seconds * 1000:.1f} ms"


def test_depth_limit_is_a_setting(api, settings):
    status, body = api(nested_org_units(3))  # depth 3 (orgUnits, edges, node) + 3 + name
    assert status == 200, body
    settings.LANDKARTE_GRAPHQL_MAX_DEPTH = 6
    message = refused(*api(nested_org_units(3)), "query_too_deep")
    assert "6" in message
    assert api(nested_org_units(2))[0] == 200


def test_depth_follows_fragments(api, settings):
    settings.LANDKARTE_GRAPHQL_MAX_DEPTH = 6
    query = """{ orgUnits(first: 1) { edges { node { ...Up } } } }
      fragment Up on OrgUnitType { parent { ...Up2 } }
      fragment Up2 on OrgUnitType { parent { parent { name } } }"""
    refused(*api(query), "query_too_deep")


def test_fragment_cycles_do_not_hang_and_are_refused_by_validation(api):
    query = """{ orgUnits(first: 1) { edges { node { ...A } } } }
      fragment A on OrgUnitType { name parent { ...B } }
      fragment B on OrgUnitType { name parent { ...A } }"""
    message = refused(*api(query), "graphql_validation_failed")
    assert "cycle" in message.lower() or "itself" in message.lower()


# -- aliases and field selections ---------------------------------------------------------------


def test_alias_bomb_is_refused_fast_and_before_validation_and_execution(api):
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"
    with (
        mock.patch.object(graphql_limits, "parse", wraps=graphql_limits.parse) as parse,
        mock.patch.object(graphql_limits, "validate", wraps=graphql_limits.validate) as validate,
        mock.patch("landkarte.graphql.execute") as execute,
    ):
        seconds, status, body = timed(api, query)
    message = refused(status, body, "too_many_aliases")
    assert "1000" in message
    assert body["errors"][0]["extensions"]["limit"] == 30
    assert seconds <= FAST, f"refused in {seconds * 1000:.1f} ms"
    # refused by the pre-scan: not even parsed, let alone validated or executed
    assert (parse.call_count, validate.call_count, execute.call_count) == (0, 0, 0)


def test_the_alias_pre_scan_skips_strings_comments_and_arguments(api, settings):
    settings.LANDKARTE_GRAPHQL_MAX_ALIASES = 1
    query = """# a comment: with: colons:
      query($n: Int = 1) { x: applications(search: "a:b:c", first: $n) { totalCount } }"""
    assert api(query)[0] == 200
    refused(*api('{ x: __typename y: __typename(s: ":") }'), "too_many_aliases")
    assert graphql_limits.scan_document(graphql_limits.parse(query)) == (2, 1, False)


def test_aliases_spread_through_fragments_count_each_time(api, settings):
    settings.LANDKARTE_GRAPHQL_MAX_ALIASES = 3
    fragment = "fragment F on Query { a: __typename b: __typename }"
    assert api("{ ...F } " + fragment)[0] == 200
    assert api("{ ...F x: applications { totalCount } } " + fragment)[0] == 200
    refused(*api("{ ...F x: __typename y: __typename } " + fragment), "too_many_aliases")
    nested = "fragment G on Query { ...F ...F } " + fragment
    refused(*api("{ ...G } " + nested), "too_many_aliases")


def test_too_many_field_selections_are_refused_before_validation(api):
    query = "{ " + "__typename " * 1000 + "}"
    with mock.patch.object(graphql_limits, "validate", wraps=graphql_limits.validate) as validate:
        refused(*api(query), "too_many_fields")
    assert validate.call_count == 0


def test_an_unused_fragment_counts_too(api):
    query = "{ __typename } fragment Unused on Query { " + "__typename " * 600 + "}"
    refused(*api(query), "too_many_fields")


# -- cost and page size ------------------------------------------------------------------------

COST_BOMB = """{ applications(first: 1000) { edges { node {
  providedInterfaces { consumers { providedInterfaces { consumers {
    providedInterfaces { consumers { name } } } } } }
} } }
  vendors(first: 1000) { edges { node { applications { providedInterfaces { consumers {
    name } } } } } } }"""


def test_cost_bomb_is_refused_fast_before_validation(api):
    with mock.patch.object(graphql_limits, "validate", wraps=graphql_limits.validate) as validate:
        seconds, status, body = timed(api, COST_BOMB)
    refused(status, body, "query_too_costly")
    assert body["errors"][0]["extensions"]["cost"] > graphql_limits.limit("MAX_COST")
    assert seconds <= FAST, f"refused in {seconds * 1000:.1f} ms"
    assert validate.call_count == 0


LIST = """query($first: Int) { applications(first: $first) { edges { node {
  name providedInterfaces { name } } } } }"""


def test_cost_multiplies_by_first_with_variables_resolved(api, settings):
    # per row: edge 1 + node 1 + name 1 + providedInterfaces 5 × (1 + name 1) = 13
    settings.LANDKARTE_GRAPHQL_MAX_COST = 1 + 13 * 100
    assert api(LIST, {"first": 100})[0] == 200
    body = api(LIST, {"first": 101})[1]
    assert code(body) == "query_too_costly"
    assert body["errors"][0]["extensions"]["cost"] == 1 + 13 * 101
    # absent first: graphene returns up to the maximum page size, so that is what is counted
    refused(*api(LIST), "query_too_costly")
    settings.LANDKARTE_GRAPHQL_MAX_PAGE_SIZE = 100
    assert api(LIST)[0] == 200


def test_cost_of_unpaginated_lists_uses_the_list_size_setting(api, settings):
    settings.LANDKARTE_GRAPHQL_MAX_COST = 1 + 10 * 13
    assert api(LIST, {"first": 10})[0] == 200
    settings.LANDKARTE_GRAPHQL_LIST_SIZE = 6
    refused(*api(LIST, {"first": 10}), "query_too_costly")


def test_page_size_limit(api, settings):
    message = refused(*api("{ applications(first: 1001) { totalCount } }"), "page_size_exceeded")
    assert "1000" in message
    refused(*api("{ vendors(last: 5000) { totalCount } }"), "page_size_exceeded")
    refused(*api(LIST, {"first": 1001}), "page_size_exceeded")
    assert api(LIST, {"first": 1000})[0] == 200
    settings.LANDKARTE_GRAPHQL_MAX_PAGE_SIZE = 20
    refused(*api(LIST, {"first": 21}), "page_size_exceeded")
    refused(*api("query($n: Int = 25) { applications(first: $n) { totalCount } }"),
            "page_size_exceeded")  # fmt: skip


def test_graphene_backstop_and_landkarte_page_size_agree():
    # LANDKARTE_GRAPHQL_MAX_PAGE_SIZE is the single source: graphene's connection fields must
    # not allow more (or fewer) rows than the pre-check.
    assert graphql_limits.limit("MAX_PAGE_SIZE") == graphene_settings.RELAY_CONNECTION_MAX_LIMIT


# -- tokens and request size -------------------------------------------------------------------


def test_token_limit(api, settings):
    settings.LANDKARTE_GRAPHQL_MAX_TOKENS = 20
    refused(*api(nested_org_units(8)), "too_many_tokens")
    assert api("{ __typename }")[0] == 200


def test_body_over_the_limit_is_refused_with_413(client, architect, settings):
    client.force_login(architect)
    padding = " " * (1024 * 1024)
    response = client.post(
        "/graphql/", data=json.dumps({"query": "{ __typename }" + padding}),
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 413
    assert code(response.json()) == "request_too_large"

    settings.LANDKARTE_GRAPHQL_MAX_BODY_BYTES = 100
    small = json.dumps({"query": "{ __typename }"})
    assert client.post("/graphql/", small, content_type="application/json").status_code == 200
    large = json.dumps({"query": "{ __typename }" + " " * 100})
    response = client.post("/graphql/", large, content_type="application/json")
    assert response.status_code == 413
    assert code(response.json()) == "request_too_large"


# -- introspection and suggestions -------------------------------------------------------------


def test_introspection_for_signed_in_users_only(api, client, settings):
    query = "{ __schema { queryType { name } } }"
    status, body = api(query)
    assert status == 200 and body["data"]["__schema"]["queryType"]["name"] == "Query"
    settings.LANDKARTE_GRAPHQL_INTROSPECTION = False
    refused(*api(query), "introspection_disabled")
    refused(*api('{ __type(name: "Query") { name } }'), "introspection_disabled")
    assert api("{ __typename }")[0] == 200  # not introspection

    client.logout()
    settings.LANDKARTE_GRAPHQL_INTROSPECTION = True
    response = client.post(
        "/graphql/", json.dumps({"query": query}), content_type="application/json"
    )
    assert response.status_code == 401


def test_introspection_refused_for_anonymous_by_the_rule_itself(rf):
    from django.contrib.auth.models import AnonymousUser

    entry = graphql_limits.prepare(
        graphene_settings.SCHEMA.graphql_schema, "{ __schema { queryType { name } } }"
    )
    with pytest.raises(Exception) as raised:
        graphql_limits.enforce(graphene_settings.SCHEMA.graphql_schema, entry, {}, AnonymousUser())
    assert raised.value.extensions["code"] == "introspection_disabled"


def test_no_field_suggestions_unless_enabled(api, settings):
    query = "{ applications { edges { node { nme } } } }"
    settings.LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS = False
    message = refused(*api(query), "graphql_validation_failed")
    assert "nme" in message
    assert "Did you mean" not in message
    settings.LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS = True
    message = refused(*api(query), "graphql_validation_failed")
    assert "Did you mean 'name'" in message


def test_suggestions_default_off_without_debug(settings):
    settings.DEBUG = False
    if hasattr(settings, "LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS"):
        del settings.LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS
    assert graphql_limits.limit("FIELD_SUGGESTIONS") is False


def test_no_suggestions_from_variable_coercion(api, settings):
    query = """mutation($input: ApplicationCreateInput!) {
      applicationCreate(input: $input) { errors { code } } }"""
    variables = {"input": {"nam": "X"}}
    settings.LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS = True
    status, body = api(query, variables)
    assert status == 400
    assert "Did you mean 'name'" in body["errors"][0]["message"]
    settings.LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS = False
    status, body = api(query, variables)
    assert status == 400
    assert "'nam'" in body["errors"][0]["message"]
    assert all("Did you mean" not in error["message"] for error in body["errors"])


# -- mutations by POST only, CSRF --------------------------------------------------------------

MUTATION = 'mutation { architectureDecisionReject(id: "x") { errors { code } } }'


def test_mutation_by_get_is_refused(client, architect):
    client.force_login(architect)
    with mock.patch("landkarte.graphql.execute") as execute:
        response = client.get("/graphql/", {"query": MUTATION}, HTTP_ACCEPT="application/json")
    assert response.status_code == 405
    assert code(response.json()) == "method_not_allowed"
    assert execute.call_count == 0
    response = client.get("/graphql/", {"query": "{ __typename }"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_session_post_needs_the_csrf_token(architect):
    client = Client(enforce_csrf_checks=True)
    client.force_login(architect)
    payload = json.dumps({"query": "{ __typename }"})
    response = client.post("/graphql/", payload, content_type="application/json")
    assert response.status_code == 403

    client.get("/graphql/", HTTP_ACCEPT="text/html")  # GraphiQL sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/graphql/", payload, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_bearer_token_requests_are_exempt_from_csrf(architect, capsys):
    call_command("create_api_token", "architect")
    raw = capsys.readouterr().out.strip()
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/graphql/", json.dumps({"query": "{ __typename }"}), content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


# -- the document cache ------------------------------------------------------------------------


def test_repeated_documents_are_parsed_and_validated_once(api):
    ApplicationFactory(name="Geoportal")
    with (
        mock.patch.object(graphql_limits, "parse", wraps=graphql_limits.parse) as parse,
        mock.patch.object(graphql_limits, "validate", wraps=graphql_limits.validate) as validate,
    ):
        for _ in range(3):
            status, body = api(LIST, {"first": 5})
            assert status == 200
            assert body["data"]["applications"]["edges"][0]["node"]["name"] == "Geoportal"
        assert (parse.call_count, validate.call_count) == (1, 1)

        api(LIST, {"first": 7})  # other variables, same document: still cached
        assert (parse.call_count, validate.call_count) == (1, 1)

        api(LIST.replace("name providedInterfaces", "name acronym providedInterfaces"))
        assert (parse.call_count, validate.call_count) == (2, 2)


def test_cached_documents_still_meet_changed_limits(api, settings):
    assert api(LIST, {"first": 10})[0] == 200
    settings.LANDKARTE_GRAPHQL_MAX_DEPTH = 3
    refused(*api(LIST, {"first": 10}), "query_too_deep")
    settings.LANDKARTE_GRAPHQL_MAX_DEPTH = 20
    settings.LANDKARTE_GRAPHQL_MAX_PAGE_SIZE = 5
    refused(*api(LIST, {"first": 10}), "page_size_exceeded")


def test_invalid_documents_are_validated_once_too(api):
    with mock.patch.object(graphql_limits, "validate", wraps=graphql_limits.validate) as validate:
        for _ in range(2):
            refused(*api("{ nothing }"), "graphql_validation_failed")
    assert validate.call_count == 1


def test_cache_is_bounded(api, settings):
    settings.LANDKARTE_GRAPHQL_DOCUMENT_CACHE_SIZE = 2
    for n in range(5):
        assert api(f"{{ applications(first: {n + 1}) {{ totalCount }} }}")[0] == 200
    assert len(graphql_limits.document_cache) == 2


def test_parse_errors_have_a_code(api):
    refused(*api("{ applications { "), "graphql_parse_failed")
    refused(*api('{ applications(search: "unterminated) { totalCount } }'),
            "graphql_parse_failed")  # fmt: skip


@pytest.mark.parametrize(
    "payload",
    [
        {"query": 123},
        {"query": ["{ __typename }"]},
        {"query": "{ applications(first: $n) { totalCount } }", "variables": [1]},
        {"query": "query($n: Int) { applications(first: $n) { totalCount } }",
         "variables": {"n": "many"}},
        {"query": "{ applications(first: -5) { totalCount } }"},
        {"query": "{ applications(first: 99999999999999999999) { totalCount } }"},
        {"query": "{ ... on Nowhere { x } ...Missing }"},
        {"query": "fragment F on Nowhere { x { y } } { ...F }"},
        {"query": "subscription { __typename }"},
    ],
)  # fmt: skip
def test_odd_documents_get_a_clear_error_never_a_500(client, architect, payload):
    client.force_login(architect)
    response = client.post("/graphql/", json.dumps(payload), content_type="application/json")
    assert response.status_code in (200, 400), response.content
    errors = response.json()["errors"]
    assert errors and all(error["message"] for error in errors)
    if response.status_code == 400:
        assert all(error["extensions"]["code"] for error in errors)
