"""Limits for GraphQL documents, checked before validation and execution, and a cache of parsed
and validated documents so that the checks cost (almost) nothing on repeated queries.

A document goes through these steps (`prepare()` and `enforce()`):

1. The LRU cache is asked for the query text (per schema, rules and suggestion setting). On a hit
   nothing below is parsed or validated again; only the per-request checks (introspection for
   this user, page sizes and cost for these variables, all memoised) run.
2. `parse` with a token, comment and source-length budget (a document nested too deeply for the
   parser is refused as too deep).
3. A syntactic walk of the whole document (every selection set once) counts field selections and
   aliases and notes introspection fields: graphql-core's validation is quadratic in the fields
   of one selection set (its issue #212: 1,000 aliased `__typename` took seconds), so these
   counts must be bounded before validation ever sees the document.
4. A schema-aware walk of every operation with its fragments expanded (memoised per fragment,
   cycle-safe, fragment nesting bounded) measures the depth, the expanded field and alias counts
   and the cost: every field costs 1, a field returning a list multiplies the cost of what it
   selects by an assumed list size, and a connection's `edges` by its `first`/`last` argument
   (variables resolved; the maximum page size when absent, as graphene-django then returns that
   many rows).
5. `validate` runs once per cached document; its errors are cached too.

Every limit is a setting read on each request (so tests and deployments can change it):

| setting | default | refusal code |
|---|---|---|
| LANDKARTE_GRAPHQL_MAX_DEPTH | 20 | query_too_deep |
| LANDKARTE_GRAPHQL_MAX_ALIASES | 30 | too_many_aliases |
| LANDKARTE_GRAPHQL_MAX_FIELDS | 500 | too_many_fields |
| LANDKARTE_GRAPHQL_MAX_COST | 200000 | query_too_costly |
| LANDKARTE_GRAPHQL_LIST_SIZE | 5 (assumed rows of an unpaginated list) | |
| LANDKARTE_GRAPHQL_MAX_PAGE_SIZE | 1000 (`first`/`last`) | page_size_exceeded |
| LANDKARTE_GRAPHQL_MAX_TOKENS | 10000 (lexical tokens; comments alike) | too_many_tokens |
| LANDKARTE_GRAPHQL_DOCUMENT_CACHE_SIZE | 500 documents (0 = no cache) | |
| LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS | DEBUG ("Did you mean …?") | |
| LANDKARTE_GRAPHQL_INTROSPECTION | True (signed-in users only) | introspection_disabled |
| LANDKARTE_GRAPHQL_MAX_BODY_BYTES | 1 MiB (HTTP 413) | request_too_large |

LANDKARTE_GRAPHQL_MAX_PAGE_SIZE is the single source of the page size: graphene's
RELAY_CONNECTION_MAX_LIMIT (the connection fields' own backstop) should be set from it.
"""

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
)
from graphql.error import GraphQLSyntaxError
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from graphql.validation import validate

DEFAULTS = {
    "MAX_DEPTH": 20,
    "MAX_ALIASES": 30,
    "MAX_FIELDS": 500,
    "MAX_COST": 200_000,
    "LIST_SIZE": 5,
    "MAX_PAGE_SIZE": 1000,
    "MAX_TOKENS": 10_000,
    "DOCUMENT_CACHE_SIZE": 500,
    "INTROSPECTION": True,
    "MAX_BODY_BYTES": 1024 * 1024,
}

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# Block strings, strings and comments (skipped), and the punctuators the pre-scan counts.
PRESCAN = re.compile(r'"""(?:[^"\\]|\\"""|\\|"(?!""))*"""|"(?:[^"\\\n\r]|\\.)*"|#[^\n\r]*|[(){}:]')
PAGE_ARGUMENTS = ("first", "last")


def limit(name: str):
    """The setting LANDKARTE_GRAPHQL_<name>, or its safe default."""
    if name == "FIELD_SUGGESTIONS":
        return bool(getattr(settings, "LANDKARTE_GRAPHQL_FIELD_SUGGESTIONS", settings.DEBUG))
    return getattr(settings, f"LANDKARTE_GRAPHQL_{name}", DEFAULTS[name])


def refusal(message: str, code: str, **details) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **details})


def strip_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message)


# -- measuring ---------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, error: GraphQLError):
        self.error = error


@dataclass(frozen=True)
class Measure:
    depth: int = 0
    fields: int = 0
    aliases: int = 0
    cost: int = 0

    def __add__(self, other):
        return Measure(
            max(self.depth, other.depth),
            self.fields + other.fields,
            self.aliases + other.aliases,
            self.cost + other.cost,
        )


ZERO = Measure()


def _too_deep(depth: int, maximum: int) -> _Refused:
    return _Refused(
        refusal(
            _("The query is nested too deeply (more than %(max)d levels).") % {"max": maximum},
            "query_too_deep",
            limit=maximum,
        )
    )


def _too_many_aliases(count: int, maximum: int) -> _Refused:
    return _Refused(
        refusal(
            _("The query uses %(count)d aliases; at most %(max)d are allowed.")
            % {"count": count, "max": maximum},
            "too_many_aliases",
            limit=maximum,
        )
    )


def _too_many_fields(count: int, maximum: int) -> _Refused:
    return _Refused(
        refusal(
            _("The query selects %(count)d fields; at most %(max)d are allowed.")
            % {"count": count, "max": maximum},
            "too_many_fields",
            limit=maximum,
        )
    )


def _too_costly(cost: int, maximum: int) -> _Refused:
    return _Refused(
        refusal(
            _(
                "The query would cost about %(cost)d (rows × fields); at most %(max)d is "
                "allowed. Ask for smaller pages with first/last or fewer nested lists."
            )
            % {"cost": cost, "max": maximum},
            "query_too_costly",
            cost=cost,
            limit=maximum,
        )
    )


def prescan(query: str):
    """Refuses the plainest bombs before the parser (graphql-core's lexer costs some 10 µs per
    token: a 1,000-alias document takes tens of milliseconds only to parse). Outside strings and
    comments, a colon outside parentheses can only follow an alias (arguments, variables, object
    values and directive arguments are all inside parentheses), and braces outside parentheses
    open selection sets. Every character counted is a token, so the scan stops at the token
    budget."""
    max_aliases, max_depth, max_tokens = (
        limit("MAX_ALIASES"),
        limit("MAX_DEPTH"),
        limit("MAX_TOKENS"),
    )
    # An inline fragment opens a selection set without a field: allow one per level.
    max_braces = 2 * max_depth
    parens = braces = aliases = 0
    for count, match in enumerate(PRESCAN.finditer(query)):
        if count >= max_tokens:
            raise refusal(
                _("Document contains more than %(max)d tokens.") % {"max": max_tokens},
                "too_many_tokens",
                limit=max_tokens,
            )
        char = match.group()
        if len(char) != 1:
            continue  # a string or a comment
        if char == "(":
            parens += 1
        elif char == ")":
            parens = max(parens - 1, 0)
        elif parens:
            continue
        elif char == ":":
            aliases += 1
            if aliases > max_aliases:
                # The exact number of aliases, for the message, costs another linear scan.
                total = aliases + sum(1 for _ in _colons_outside_parentheses(query, match.end()))
                raise _too_many_aliases(total, max_aliases).error
        elif char == "{":
            braces += 1
            if braces > max_braces:
                raise _too_deep(braces, max_depth).error
        elif char == "}":
            braces = max(braces - 1, 0)


def _colons_outside_parentheses(query: str, start: int):
    parens = 0
    for match in PRESCAN.finditer(query, start):
        char = match.group()
        if char == "(":
            parens += 1
        elif char == ")":
            parens = max(parens - 1, 0)
        elif char == ":" and not parens:
            yield match


def scan_document(document) -> tuple[int, int, bool]:
    """Every field selection of the document counted once (fragments where they are defined,
    unused ones too, as validation visits them all): (fields, aliases, uses introspection)."""
    fields = aliases = 0
    introspection = False
    stack = [
        definition.selection_set
        for definition in document.definitions
        if getattr(definition, "selection_set", None) is not None
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                fields += 1
                if selection.alias is not None:
                    aliases += 1
                if selection.name.value in INTROSPECTION_FIELDS:
                    introspection = True
            if getattr(selection, "selection_set", None) is not None:
                stack.append(selection.selection_set)
    return fields, aliases, introspection


def _field_definition(schema, parent_type, name: str):
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent_type is not None and parent_type is schema.query_type:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
    fields = getattr(parent_type, "fields", None)
    return fields.get(name) if fields else None


class _Walker:
    """Depth, expanded counts and cost of the operations, aborting at the first limit passed."""

    def __init__(self, schema, document, page_sizes: dict, limits: dict):
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.page_sizes = page_sizes  # id(FieldNode) -> requested page size
        self.limits = limits
        self.memo: dict = {}
        self.in_progress: set = set()
        self.fragment_nesting = 0
        self.total_fields = 0
        self.total_aliases = 0

    def operations(self, document) -> Measure:
        result = ZERO
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            root = self.schema.get_root_type(definition.operation)
            measure = self.selection_set(definition.selection_set, root, None, 0)
            self.check(measure)
            # Only one operation runs: the deepest and the costliest are what matters; fields
            # and aliases add up because validation sees them all.
            result = Measure(
                max(result.depth, measure.depth),
                result.fields + measure.fields,
                result.aliases + measure.aliases,
                max(result.cost, measure.cost),
            )
            self.check(result)
        return result

    def check(self, measure: Measure):
        limits = self.limits
        if measure.depth > limits["MAX_DEPTH"]:
            raise _too_deep(measure.depth, limits["MAX_DEPTH"])
        if measure.aliases > limits["MAX_ALIASES"]:
            raise _too_many_aliases(measure.aliases, limits["MAX_ALIASES"])
        if measure.fields > limits["MAX_FIELDS"]:
            raise _too_many_fields(measure.fields, limits["MAX_FIELDS"])
        if measure.cost > limits["MAX_COST"]:
            raise _too_costly(measure.cost, limits["MAX_COST"])

    def selection_set(self, selection_set, parent_type, edges_size, level) -> Measure:
        if level > self.limits["MAX_DEPTH"]:
            raise _too_deep(level, self.limits["MAX_DEPTH"])
        result = ZERO
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                part = self.field(selection, parent_type, edges_size, level)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                fragment_type = (
                    self.schema.get_type(condition.name.value) if condition else parent_type
                )
                part = self.selection_set(selection.selection_set, fragment_type, edges_size, level)
            elif isinstance(selection, FragmentSpreadNode):
                part = self.fragment(selection.name.value, edges_size, level)
            else:  # pragma: no cover - the parser knows no other selection
                continue
            result = result + part
            # Fields and aliases multiply through fragments spread many times: stop early. (The
            # cost needs no early stop: fragments are measured once, and it is reported whole.)
            if result.fields > self.limits["MAX_FIELDS"]:
                raise _too_many_fields(result.fields, self.limits["MAX_FIELDS"])
            if result.aliases > self.limits["MAX_ALIASES"]:
                raise _too_many_aliases(result.aliases, self.limits["MAX_ALIASES"])
        return result

    def field(self, node: FieldNode, parent_type, edges_size, level) -> Measure:
        definition = _field_definition(self.schema, parent_type, node.name.value)
        return_type = definition.type if definition is not None else None
        named = get_named_type(return_type) if return_type is not None else None
        multiplier = 1
        if return_type is not None and is_list_type(get_nullable_type(return_type)):
            multiplier = edges_size if edges_size is not None else self.limits["LIST_SIZE"]
            if definition is not None and any(name in definition.args for name in PAGE_ARGUMENTS):
                # A plain list that pages with `first` returns up to that many rows.
                multiplier = self.page_sizes.get(id(node), self.limits["MAX_PAGE_SIZE"])
        child_edges = None
        if (
            definition is not None
            and any(name in definition.args for name in PAGE_ARGUMENTS)
            and "edges" in (getattr(named, "fields", None) or {})
        ):
            child_edges = self.page_sizes.get(id(node), self.limits["MAX_PAGE_SIZE"])
        inner = ZERO
        if node.selection_set is not None:
            inner = self.selection_set(node.selection_set, named, child_edges, level + 1)
        return Measure(
            depth=inner.depth + 1,
            fields=inner.fields + 1,
            aliases=inner.aliases + (node.alias is not None),
            cost=multiplier * (1 + inner.cost),
        )

    def fragment(self, name: str, edges_size, level) -> Measure:
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:
            return ZERO  # unknown or cyclic: validation reports it
        key = (name, edges_size)
        if key not in self.memo:
            self.fragment_nesting += 1
            if self.fragment_nesting > self.limits["MAX_DEPTH"]:
                raise _Refused(
                    refusal(
                        _("Fragments are nested too deeply (more than %(max)d levels).")
                        % {"max": self.limits["MAX_DEPTH"]},
                        "query_too_deep",
                        limit=self.limits["MAX_DEPTH"],
                    )
                )
            self.in_progress.add(name)
            try:
                condition = self.schema.get_type(definition.type_condition.name.value)
                # Measured from its own top, so one measure serves every place it is spread.
                selections = definition.selection_set
                self.memo[key] = self.selection_set(selections, condition, edges_size, 0)
            finally:
                self.in_progress.discard(name)
                self.fragment_nesting -= 1
        measure = self.memo[key]
        if level + measure.depth > self.limits["MAX_DEPTH"]:
            raise _too_deep(level + measure.depth, self.limits["MAX_DEPTH"])
        return measure


# -- the cache ---------------------------------------------------------------------------------


@dataclass
class PreparedDocument:
    document: object
    fields: int
    aliases: int
    introspection: bool
    # (field node, argument name, value node) of every first/last argument
    page_arguments: list
    variable_defaults: dict
    validation_errors: list | None = None
    measures: dict = field(default_factory=dict)  # (page sizes, limits) -> Measure | GraphQLError


class DocumentCache:
    """A thread-safe LRU of PreparedDocument keyed by the schema, the validation rules and
    options, and the query text."""

    def __init__(self):
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, entry, size: int):
        if size <= 0:
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > size:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)


document_cache = DocumentCache()


def _parse_error(error: GraphQLSyntaxError) -> GraphQLError:
    message = error.message
    if "nested too deeply" in message:
        code = "query_too_deep"
    elif "tokens. Parsing aborted" in message or "comments. Parsing aborted" in message:
        code = "too_many_tokens"
    elif "code points. Parsing aborted" in message:
        code = "request_too_large"
    else:
        code = "graphql_parse_failed"
    return GraphQLError(
        message, nodes=error.nodes, source=error.source, positions=error.positions,
        extensions={"code": code},
    )  # fmt: skip


def prepare(schema, query: str, rules=None, max_errors=None) -> PreparedDocument:
    """The parsed document with its syntactic counts, from the cache or parsed now. Raises
    GraphQLError (with extensions.code) when it cannot be parsed or its counts pass a limit."""
    if not isinstance(query, str):
        raise refusal(_("The query must be a string."), "graphql_parse_failed")
    suggestions = limit("FIELD_SUGGESTIONS")
    key = (schema, tuple(rules) if rules else None, max_errors, suggestions, query)
    entry = document_cache.get(key)
    if entry is not None:
        check_counts(entry.fields, entry.aliases)
        return entry
    prescan(query)
    max_tokens = limit("MAX_TOKENS")
    try:
        document = parse(
            query, max_lexical_tokens=max_tokens, max_comments=max_tokens,
            max_source_length=limit("MAX_BODY_BYTES"),
        )  # fmt: skip
    except GraphQLSyntaxError as error:
        raise _parse_error(error) from None
    fields, aliases, introspection = scan_document(document)
    check_counts(fields, aliases)
    page_arguments = []
    variable_defaults: dict = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                default = variable.default_value
                if isinstance(default, IntValueNode):
                    name = variable.variable.name.value
                    value = int(default.value)
                    # Several operations may default one name differently: assume the largest.
                    variable_defaults[name] = max(value, variable_defaults.get(name, value))
    _collect_page_arguments(document, page_arguments)
    entry = PreparedDocument(
        document=document, fields=fields, aliases=aliases, introspection=introspection,
        page_arguments=page_arguments, variable_defaults=variable_defaults,
    )  # fmt: skip
    document_cache.put(key, entry, limit("DOCUMENT_CACHE_SIZE"))
    return entry


def _collect_page_arguments(document, found: list):
    stack = [d.selection_set for d in document.definitions if getattr(d, "selection_set", None)]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    if argument.name.value in PAGE_ARGUMENTS:
                        found.append((selection, argument.name.value, argument.value))
            if getattr(selection, "selection_set", None) is not None:
                stack.append(selection.selection_set)


def check_counts(fields: int, aliases: int):
    if aliases > limit("MAX_ALIASES"):
        raise _too_many_aliases(aliases, limit("MAX_ALIASES")).error
    if fields > limit("MAX_FIELDS"):
        raise _too_many_fields(fields, limit("MAX_FIELDS")).error


def _page_sizes(entry: PreparedDocument, variables: dict) -> dict:
    """id(field node) -> the page size it asks for (the smaller of first and last), checked
    against the maximum page size."""
    maximum = limit("MAX_PAGE_SIZE")
    sizes: dict = {}
    for node, argument, value in entry.page_arguments:
        size = None
        if isinstance(value, IntValueNode):
            size = int(value.value)
        elif isinstance(value, VariableNode):
            name = value.name.value
            raw = variables.get(name) if isinstance(variables, dict) else None
            if raw is None:
                raw = entry.variable_defaults.get(name)
            if isinstance(raw, int) and not isinstance(raw, bool):
                size = raw
        if size is None:
            continue  # not an integer: coercion or validation refuses it
        if size > maximum:
            raise refusal(
                _(
                    "Requesting %(size)d rows with %(argument)s on %(field)s exceeds the "
                    "maximum page size of %(max)d."
                )
                % {"size": size, "argument": argument, "field": node.name.value, "max": maximum},
                "page_size_exceeded",
                limit=maximum,
            )
        size = max(size, 0)
        key = id(node)
        sizes[key] = min(size, sizes[key]) if key in sizes else size
    return sizes


def enforce(schema, entry: PreparedDocument, variables, user):
    """The per-request checks: introspection for this user, page sizes, and depth, expanded
    counts and cost for these variables (memoised per page sizes and limits)."""
    if entry.introspection and not (limit("INTROSPECTION") and user.is_authenticated):
        raise refusal(_("Introspection is not allowed."), "introspection_disabled")
    sizes = _page_sizes(entry, variables or {})
    limits = {
        name: limit(name)
        for name in ("MAX_DEPTH", "MAX_ALIASES", "MAX_FIELDS", "MAX_COST", "LIST_SIZE",
                     "MAX_PAGE_SIZE")
    }  # fmt: skip
    key = (tuple(sorted(sizes.items())), tuple(sorted(limits.items())))
    outcome = entry.measures.get(key)
    if outcome is None:
        walker = _Walker(schema, entry.document, sizes, limits)
        try:
            outcome = walker.operations(entry.document)
        except _Refused as refused:
            outcome = refused.error
        if len(entry.measures) >= 32:
            entry.measures.clear()
        entry.measures[key] = outcome
    if isinstance(outcome, GraphQLError):
        raise outcome
    return outcome


def validation_errors(schema, entry: PreparedDocument, rules=None, max_errors=None) -> list:
    """Validates the document once; later requests reuse the result."""
    if entry.validation_errors is None:
        errors = validate(
            schema, entry.document, rules, max_errors,
            hide_suggestions=not limit("FIELD_SUGGESTIONS"),
        )  # fmt: skip
        for error in errors:
            extensions = dict(error.extensions or {})
            extensions.setdefault("code", "graphql_validation_failed")
            error.extensions = extensions
        entry.validation_errors = errors
    return entry.validation_errors
