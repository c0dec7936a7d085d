"""The GraphQL kernel: a base object type that enforces read permissions, the fields that list
rows (one query per list level, counting only when asked), computed fields batched over a list,
the fields of model instances inside a service's answer (loaded for the selection, one query
per list level), a base mutation with typed field errors, and the view."""

import json
from functools import lru_cache, partial

import graphene
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.utils.translation import gettext as _
from graphene.relay.connection import connection_adapter, page_info_adapter
from graphene.utils.str_converters import to_camel_case, to_snake_case
from graphene_django.constants import MUTATION_ERRORS_FLAG
from graphene_django.converter import convert_django_field, get_django_field_description
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_named_type,
    get_operation_ast,
    validate_schema,
)
from graphql_relay import from_global_id
from graphql_relay.connection.array_connection import offset_to_cursor
from query_optimizer import DjangoConnectionField, DjangoListField, DjangoObjectType
from query_optimizer.ast import get_model_field
from query_optimizer.compiler import OptimizationCompiler
from query_optimizer.fields import RelatedField
from query_optimizer.filter_info import get_filter_info
from query_optimizer.optimizer import QueryOptimizer
from query_optimizer.prefetch_hack import evaluate_with_prefetch_hack
from query_optimizer.utils import calculate_queryset_slice
from query_optimizer.validators import validate_pagination_args

from landkarte import graphql_limits as limits
from landkarte.graphql_execution import SyncExecutionContext, execution_state, gc_paused
from landkarte.roles import can_read

# -- lists and connections ---------------------------------------------------------------------
#
# graphene-django-query-optimizer compiles each root list into one query per list level: the
# root rows with their to-one relations joined, and one prefetch per to-many relation, each
# narrowed by its type's filter_queryset (the permissions) and filterset. Three things here make
# reading the result cheap and keep it at one query per level:
#
# * to-many prefetches land in a plain list attribute (PREFETCHED + field name or alias) instead
#   of Django's prefetch cache, which builds a QuerySet per parent row;
# * RelatedListField, the field of every to-many relation, returns that list as it is;
# * ConnectionField counts only when totalCount (or `last`) needs it, and otherwise
#   fetches one row more than the page to know whether there is a next page.

PREFETCHED = "_prefetched_"
SERVICE_PREFETCH = "_service_"  # optimizer key of a prefetch that field_reads asks for


@lru_cache(maxsize=1024)
def _snake(name: str) -> str:
    return to_snake_case(name)


def _is_to_many(model, name: str) -> bool:
    field = get_model_field(model, name) if model is not None else None
    return bool(field is not None and (field.many_to_many or field.one_to_many))


def _read(compiler, model, optimizer, path: str):
    """Make `optimizer` (loading `model`) load `path` (see BaseNodeType.field_reads): a column,
    "*" for the whole row, or a path through relations: to-one relations are joined, to-many
    relations prefetched into Django's prefetch cache (where services look for them), without
    the related type's filters (the services saw every row before)."""
    head, _, rest = path.partition("__")
    if head == "*":
        optimizer.only_fields.extend(f.attname for f in model._meta.concrete_fields)
        return
    field = model._meta.get_field(head)
    if field.many_to_many or field.one_to_many:
        key = SERVICE_PREFETCH + head
        child = optimizer.prefetch_related.get(key)
        if child is None:
            child = QueryOptimizer(
                model=field.related_model, info=compiler.info, name=head, parent=optimizer
            )
            child.for_services = True
            optimizer.prefetch_related[key] = child
            # Services get whole rows of what they read through a to-many relation.
            _read(compiler, field.related_model, child, "*")
        if rest:
            _read(compiler, field.related_model, child, rest)
        return
    if not rest:
        optimizer.only_fields.append(field.attname)
        return
    child = optimizer.select_related.get(head)
    if child is None:
        child = QueryOptimizer(
            model=field.related_model, info=compiler.info, name=head, parent=optimizer
        )
        optimizer.select_related[head] = child
        optimizer.related_fields.append(field.attname)
    _read(compiler, field.related_model, child, rest)


class LandkarteOptimizationCompiler(OptimizationCompiler):
    """The library's compiler (swapped in by subclassing). The optimizer loads only the
    columns a query selects; a computed field (one that is no model field) loads what its type
    declares in `field_reads`, and the whole row when its type declares nothing for it, so that
    no resolver reads a column that was left out (each such read would be a query per row)."""

    def handle_custom_field(self, field_type, field_node):
        graphene_type = field_type.graphene_type
        name = _snake(field_node.name.value)
        field = graphene_type._meta.fields.get(name)
        own_hook = field is not None and (
            getattr(field, "field_name", None) is not None or hasattr(field, "optimizer_hook")
        )
        if not own_hook and self.model is not None:
            reads = getattr(graphene_type, "field_reads", {}).get(name)
            if reads is None:
                self.optimizer.only_fields.extend(
                    f.attname for f in self.model._meta.concrete_fields
                )
            else:
                for path in reads:
                    _read(self, self.model, self.optimizer, path)
        return super().handle_custom_field(field_type, field_node)


class LandkarteQueryOptimizer(QueryOptimizer):
    """The library's optimizer (swapped in by subclassing) with to-many prefetches into lists,
    and the prefetches that field_reads asks for into Django's cache."""

    for_services = False

    def process_prefetch(self, to_attr, results, filter_info):
        prefetch = super().process_prefetch(to_attr, results, filter_info)
        if self.for_services:
            return Prefetch(self.name, prefetch.queryset)
        if filter_info.get("is_connection") or not _is_to_many(self.parent.model, self.name):
            return prefetch  # nested connections and promoted to-one relations: as before
        return Prefetch(self.name, prefetch.queryset, to_attr=PREFETCHED + to_attr)

    def filter_queryset(self, queryset, filter_info):
        if self.for_services:
            return queryset
        return super().filter_queryset(queryset, filter_info)


class RelatedListField(DjangoListField):
    """A to-many relation. When the optimizer prefetched it (filtered by the related type's
    filter_queryset, and by the field's filter arguments), the rows are returned as they are;
    otherwise (a parent the optimizer did not load, a custom resolver) the library's resolver
    builds, narrows and optimizes the queryset."""

    def wrap_resolve(self, parent_resolver):
        resolver = super().wrap_resolve(parent_resolver)
        # A resolve_<field> method of the type decides by itself; only the default resolver
        # (a partial of graphene's attribute resolver) may be replaced by the prefetched list.
        self.default_resolver = isinstance(parent_resolver, partial)
        return resolver

    def list_resolver(self, root, info, **kwargs):
        if self.default_resolver:
            alias = info.field_nodes[0].alias
            key = alias.value if alias is not None else _snake(info.field_name)
            rows = getattr(root, PREFETCHED + key, None)
            if rows is not None:
                return rows
        return super().list_resolver(root, info, **kwargs)


@convert_django_field.register(models.ManyToManyField)
@convert_django_field.register(models.ManyToManyRel)
@convert_django_field.register(models.ManyToOneRel)
def convert_to_many_field(field, registry=None):
    """Every to-many relation of a model type becomes a RelatedListField (registered after
    query_optimizer's converter, which it replaces)."""

    def dynamic_type():
        type_ = registry.get_type_for_model(field.related_model)
        if type_ is None:
            return None
        actual_field = field if isinstance(field, models.ManyToManyField) else field.field
        return RelatedListField(
            type_, required=True, description=get_django_field_description(actual_field)
        )

    return graphene.Dynamic(dynamic_type)


class RelatedObjectField(RelatedField):
    """A to-one relation (joined by the optimizer): the library's field without converting the
    field name on every row."""

    def related_resolver(self, root, info):
        related = getattr(root, self.field_name or _snake(info.field_name), None)
        if related is None:
            return None
        self.underlying_type.run_instance_checks(related, info)
        return related


@convert_django_field.register(models.OneToOneField)
@convert_django_field.register(models.ForeignKey)
@convert_django_field.register(models.OneToOneRel)
def convert_to_one_field(field, registry=None):
    """Every to-one relation of a model type becomes a RelatedObjectField (registered after
    query_optimizer's converter, which it replaces)."""

    def dynamic_type():
        type_ = registry.get_type_for_model(field.related_model)
        if type_ is None:
            return None
        actual_field = field.field if isinstance(field, models.OneToOneRel) else field
        required = False if isinstance(field, models.OneToOneRel) else not field.null
        return RelatedObjectField(
            type_, description=get_django_field_description(actual_field), required=required
        )

    return graphene.Dynamic(dynamic_type)


class ModelListField(DjangoListField):
    """A root field listing model rows (not paged): the resolver returns a queryset, which is
    narrowed by the type's filter_queryset and optimized like a connection's, so that nested
    relations cost one query per level; `limit` caps the rows."""

    def __init__(self, type_, *, limit: int | None = None, **kwargs):
        kwargs.setdefault("no_filters", True)
        kwargs.setdefault("required", True)
        super().__init__(type_, **kwargs)
        self.limit = limit

    def list_resolver(self, root, info, **kwargs):
        queryset = self.to_queryset(self.resolver(root, info, **kwargs))
        queryset = self.underlying_type.get_queryset(queryset, info)
        max_complexity = getattr(self.underlying_type._meta, "max_complexity", None)
        optimizer = OptimizationCompiler(info, max_complexity=max_complexity).compile(queryset)
        if optimizer is not None:
            queryset = optimizer.optimize_queryset(queryset)
        if self.limit is not None:
            queryset = queryset[: self.limit]
        rows = evaluate_with_prefetch_hack(queryset)
        register_rows(info, rows)
        return rows


# -- computed fields over many rows ------------------------------------------------------------
#
# A computed field (dependencies, conflicts, known errors...) asked for on every row of a list
# is computed for all rows of the list at once: the root lists register their rows, and a
# resolver calls `batched(info, row, key, compute)`, where compute(rows) returns {pk: value}.
# Within a query operation one LoadedGraph (the dependency graph in memory) serves every walk.


def _batches(info) -> dict:
    state = execution_state(info)
    if "rows" not in state:
        state.update(rows={}, results={}, graphs={})
    return state


def register_rows(info, rows: list):
    """`rows` came in one list: a computed field on one of them is computed for them all. Rows
    are model instances, or plain objects holding instances (InstanceField), whose instances
    are then loaded for them all."""
    if len(rows) > 1:
        index = _batches(info)["rows"]
        for row in rows:
            index[id(row)] = rows


def batch_rows(info, row) -> list:
    """The rows `row` came with (itself alone when it did not come in a registered list)."""
    return _batches(info)["rows"].get(id(row)) or [row]


def batched(info, row, key, compute):
    """The value of a computed field on `row`: compute(rows) -> {pk: value} runs once per
    request for all the rows `row` came with (and `key`, which names the field and its
    arguments)."""
    rows = batch_rows(info, row)
    if len(rows) == 1:
        return compute(rows)[row.pk]
    results = _batches(info)["results"]
    cache_key = (key, id(rows))
    values = results.get(cache_key)
    if values is None:
        values = results[cache_key] = compute(rows)
    return values[row.pk]


def request_graph(info, as_of=None):
    """The dependency graph (cmdb.graph.LoadedGraph) as of a date, loaded once per query
    operation; None in a mutation, whose steps may change it."""
    if info.operation.operation != OperationType.QUERY:
        return None
    from cmdb.graph import LoadedGraph  # the kernel imports no app at module level

    graphs = _batches(info)["graphs"]
    if as_of not in graphs:
        graphs[as_of] = LoadedGraph(as_of)
    return graphs[as_of]


# -- model instances inside computed answers ---------------------------------------------------
#
# A service's answer (an impact analysis, a dependency walk, change conflicts, a landscape
# snapshot, a risk report...) holds model instances, or their ids, inside plain objects. The
# GraphQL types of those answers declare them with InstanceField and InstanceListField. Resolved
# on one object, such a field loads the instances of every object that object came with
# (register_rows) at once, with load_selected: from the database again, narrowed by the type's
# filter_queryset and optimized for exactly what the query selects below the field, like a root
# list (one query per list level, however many objects and however deep the answer). A resolver
# that builds such an answer registers the lists of plain objects it returns; what the service
# loaded with its instances is not used.


def _instance_type(info):
    """The model type (BaseNodeType) of the rows that info's field returns."""
    return get_named_type(info.return_type).graphene_type


def _as_is(value) -> bool:
    """A model instance that is no row of the database as it is now (a historical record as it
    was then, or one never saved): it is used as given, only its relations are loaded."""
    return isinstance(value, models.Model) and value._state.adding


def _pk(value):
    return value.pk if isinstance(value, models.Model) else value


def _narrows(node_type) -> bool:
    """Whether the type's filter_queryset narrows the rows beyond the read permission."""
    own = getattr(node_type.filter_queryset, "__func__", None)
    return own is not BaseNodeType.filter_queryset.__func__


def visible_pks(node_type, pks, info) -> set:
    """The pks among `pks` of the rows of `node_type` the reader may see (its filter_queryset);
    without a query when the type narrows nothing beyond the read permission."""
    pks = set(pks)
    if not pks or not can_read(info.context.user):
        return set()
    if not _narrows(node_type):
        return pks
    visible = node_type.filter_queryset(
        node_type._meta.model._default_manager.filter(pk__in=pks), info
    )
    return set(visible.values_list("pk", flat=True))


def _compile(info, node_type, queryset):
    max_complexity = getattr(node_type._meta, "max_complexity", None)
    return OptimizationCompiler(info, max_complexity=max_complexity).compile(queryset)


def _load_as_is(info, node_type, instances: list) -> list:
    """`instances` (no rows as they are now) that the reader may see, with the relations the
    selection asks for loaded into them: one query per relation and level (to-one relations
    too, which the rows of a query would have joined)."""
    visible = visible_pks(node_type, {instance.pk for instance in instances}, info)
    instances = [instance for instance in instances if instance.pk in visible]
    model = node_type._meta.model
    optimizer = _compile(info, node_type, model._default_manager.all()) if instances else None
    if optimizer is None:
        return instances
    children = get_filter_info(info, model).get("children", {})
    lookups = []
    for name, child in optimizer.select_related.items():
        nested = children.get(name, {})
        results = child.process(child.model._default_manager.all(), nested)
        lookups.append(Prefetch(name, child.optimize(results, nested)))
    for name, child in optimizer.prefetch_related.items():
        if child.model is None:  # a generic relation: the library prefetches it by name
            lookups.append(child.name)
            continue
        nested = children.get(name, {})
        results = child.process(child.model._default_manager.all(), nested)
        lookups.append(child.process_prefetch(name, results, nested))
    if lookups:
        evaluate_with_prefetch_hack(_Prefetching(instances, lookups))
    return instances


def load_selected(info, values) -> dict:
    """The model instances (or ids) `values`, of the type that info's field returns, as {pk:
    instance}, loaded for what the query selects below that field: one query for the rows,
    narrowed by the type's filter_queryset (what the reader may not see is left out), with
    their to-one relations joined, and one per to-many relation (into lists, as on root lists)
    at every level. Instances that are no rows as they are now (historical records) are kept
    as given and only their relations are loaded. The rows are registered (register_rows): a
    computed field on one of them is computed for all."""
    node_type = _instance_type(info)
    model = node_type._meta.model
    pks, as_is = set(), {}
    for value in values:
        if value is None:
            continue
        if _as_is(value):
            as_is[value.pk] = value
        else:
            pks.add(_pk(value))
    rows = []
    if pks:
        queryset = node_type.get_queryset(
            model._default_manager.filter(pk__in=pks).order_by(), info
        )
        optimizer = _compile(info, node_type, queryset)
        if optimizer is not None:
            queryset = optimizer.optimize_queryset(queryset)
        rows = evaluate_with_prefetch_hack(queryset)
    if as_is:
        rows += _load_as_is(info, node_type, list(as_is.values()))
    register_rows(info, rows)
    return {row.pk: row for row in rows}


def _values(value) -> list:
    """What an instance field holds, as a list: an instance or an id, a list of them, or a
    queryset (of which the ids are read)."""
    if value is None:
        return []
    if isinstance(value, models.QuerySet):
        return list(value.values_list("pk", flat=True))
    if isinstance(value, list | tuple):
        return value
    return [value]


def _loaded(info, root, values: list, get, kwargs) -> dict:
    """load_selected for the `values` of info's field on `root` and for those on every object
    `root` came with (batch_rows, read with `get`), once per request."""
    rows = batch_rows(info, root)
    if len(rows) == 1:
        return load_selected(info, values)
    results = _batches(info)["results"]
    key = ("instances", *map(id, info.field_nodes), id(rows))
    loaded = results.get(key)
    if loaded is None:
        every = [
            value
            for row in rows
            for value in (values if row is root else _values(get(row, info, **kwargs)))
        ]
        loaded = results[key] = load_selected(info, every)
    return loaded


def _pick(loaded: dict, value):
    row = loaded.get(_pk(value))
    if row is not None and _as_is(value) and row is not value:
        return None  # another record with this pk
    return row


class InstanceField(graphene.Field):
    """A model instance, or its id, held by a plain object (see load_selected): loaded for the
    query's selection, together with the same field of the objects it came with. Null when the
    reader may not see it: a resolver that builds objects for a required field leaves out
    those whose instance is hidden (visible_pks)."""

    def wrap_resolve(self, parent_resolver):
        get = super().wrap_resolve(parent_resolver)

        def resolve(root, info, **kwargs):
            value = get(root, info, **kwargs)
            if value is None:
                return None
            return _pick(_loaded(info, root, [value], get, kwargs), value)

        return resolve


class InstanceListField(graphene.Field):
    """A list of model instances (or ids, or a queryset) held by a plain object, loaded like
    InstanceField's; in the given order, without the ones the reader may not see."""

    def __init__(self, type_, *args, **kwargs):
        super().__init__(graphene.List(graphene.NonNull(type_)), *args, **kwargs)

    def wrap_resolve(self, parent_resolver):
        get = super().wrap_resolve(parent_resolver)

        def resolve(root, info, **kwargs):
            values = _values(get(root, info, **kwargs))
            if not values:
                return values
            loaded = _loaded(info, root, values, get, kwargs)
            return [row for row in map(partial(_pick, loaded), values) if row is not None]

        return resolve


class CountableConnection(graphene.relay.Connection):
    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="rows matching the filters")

    @staticmethod
    def resolve_total_count(root, info):
        # Counted when asked for (or already known, e.g. because `last` needed it).
        if root.length is None:
            root.length = root.count_queryset.count()
        return root.length


def _page(queryset, start: int, stop: int | None) -> tuple[list, bool]:
    """Rows [start, stop) of `queryset` and whether there are more: one row more is fetched to
    know it, and the prefetches run for the page only (the row after it may be one with
    thousands of related rows)."""
    lookups = queryset._prefetch_related_lookups
    rows = list(queryset.prefetch_related(None)[start : stop + 1 if stop is not None else None])
    more = stop is not None and len(rows) > stop - start
    if more:
        del rows[stop - start :]
    if lookups and rows:
        evaluate_with_prefetch_hack(_Prefetching(rows, lookups))
    return rows, more


class _Prefetching:
    """Iterating it runs the prefetches of `lookups` on `rows` (under the optimizer's prefetch
    hack, which evaluate_with_prefetch_hack installs while it iterates)."""

    def __init__(self, rows, lookups):
        self.rows, self.lookups = rows, lookups

    def __iter__(self):
        prefetch_related_objects(self.rows, *self.lookups)
        return iter(self.rows)


class ConnectionField(DjangoConnectionField):
    """A root connection that counts only when it must: `totalCount` counts when it is
    resolved, `last` needs the count to find the end; otherwise the page is fetched with one
    row more than asked for, which tells whether there is a next page. Cursors (offsets) and
    pageInfo are the library's."""

    def connection_resolver(self, root, info, **kwargs):
        if root is not info.root_value:
            # A nested connection reads the optimizer's prefetch, counted per parent: the
            # library's way.
            return super().connection_resolver(root, info, **kwargs)
        pagination = validate_pagination_args(
            first=kwargs.pop("first", None),
            last=kwargs.pop("last", None),
            offset=kwargs.pop("offset", None),
            after=kwargs.pop("after", None),
            before=kwargs.pop("before", None),
            max_limit=self.max_limit,
        )
        queryset = self.to_queryset(self.resolver(root, info, **kwargs))
        queryset = self.underlying_type.get_queryset(queryset, info)
        max_complexity = getattr(self.underlying_type._meta, "max_complexity", None)
        optimizer = OptimizationCompiler(info, max_complexity=max_complexity).compile(queryset)
        if optimizer is not None:
            queryset = optimizer.optimize_queryset(queryset)

        count = None
        start = pagination["after"] or 0
        first, last, before = pagination["first"], pagination["last"], pagination["before"]
        if last is not None:
            count = queryset.count()
            cut = calculate_queryset_slice(**{**pagination, "size": count})
            rows = evaluate_with_prefetch_hack(queryset[cut])
            has_next = cut.stop < count
        else:
            stop = before
            if first is not None and (stop is None or first < stop - start):
                stop = start + first
            if stop is not None and stop <= start:
                # `before` right after `after`: nothing between them (the library's answer).
                count = queryset.count()
                rows, has_next = [], min(stop, count) < count
            else:
                rows, has_next = _page(queryset, start, stop)
            if not rows and start > 0 and count is None:
                # Past the end: the library's semantics (start = the count) need the count.
                count = queryset.count()
                start = min(start, count)
            cut = slice(start, start + len(rows))

        edge_type = self.connection_type.Edge
        edges = [
            edge_type(node=row, cursor=offset_to_cursor(cut.start + index))
            for index, row in enumerate(rows)
        ]
        result = connection_adapter(
            cls=self.connection_type,
            edges=edges,
            pageInfo=page_info_adapter(
                startCursor=edges[0].cursor if edges else None,
                endCursor=edges[-1].cursor if edges else None,
                hasPreviousPage=cut.start > 0,
                hasNextPage=has_next,
            ),
        )
        register_rows(info, rows)
        result.iterable = rows
        result.length = count
        result.count_queryset = queryset
        return result


class BaseNodeType(DjangoObjectType):
    """Every model type derives from this. Users without a role see no rows, wherever the type
    appears: as a root list, a node lookup or a nested relation.

    Lists load only the columns a query selects (see LandkarteOptimizationCompiler). A type
    declares what else its resolvers read: `field_reads` maps a computed field to the columns
    (or "relation__column" paths) it reads, an empty tuple when it reads none (a computed field
    missing here loads the whole row); `always_reads` lists columns read whenever the type is
    loaded (by a relation's resolver that checks visibility, for instance)."""

    field_reads: dict[str, tuple[str, ...]] = {}
    always_reads: tuple[str, ...] = ()

    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(cls, **options):
        options.setdefault("connection_class", CountableConnection)
        super().__init_subclass_with_meta__(**options)

    @classmethod
    def pre_optimization_hook(cls, queryset, optimizer):
        optimizer.only_fields.extend(cls.always_reads)
        return queryset

    @classmethod
    def is_type_of(cls, root, info):
        # Called for every object in a response: the common case without graphene-django's
        # checks (which still decide everything else).
        if type(root) is cls._meta.model:
            return True
        return super().is_type_of(root, info)

    @classmethod
    def filter_queryset(cls, queryset, info):
        if not can_read(info.context.user):
            return queryset.none()
        return queryset

    @classmethod
    def get_queryset(cls, queryset, info):
        return cls.filter_queryset(queryset, info)

    @classmethod
    def get_node(cls, info, pk):
        if not can_read(info.context.user):
            return None
        # A type that narrows what a user may see (filter_queryset) narrows node(id) too.
        visible = cls.filter_queryset(cls._meta.model._default_manager.filter(pk=pk), info)
        if not visible.exists():
            return None
        return super().get_node(info, pk)


class ErrorType(graphene.ObjectType):
    field = graphene.String(description="camelCase input field, or null for the whole input")
    message = graphene.String(required=True)
    code = graphene.String(required=True)


def errors_from_validation(exc: ValidationError) -> list[ErrorType]:
    errors = []
    if hasattr(exc, "error_dict"):
        for name, items in exc.error_dict.items():
            field = None if name == "__all__" else to_camel_case(name)
            for item in items:
                message = item.message % item.params if item.params else item.message
                errors.append(
                    ErrorType(field=field, message=str(message), code=item.code or "invalid")
                )
    else:
        for item in exc.error_list:
            message = item.message % item.params if item.params else item.message
            errors.append(ErrorType(field=None, message=str(message), code=item.code or "invalid"))
    return errors


def resolve_global_id(model, global_id, field: str, type_name: str | None = None):
    """The instance behind a Relay ID, or a field ValidationError that says what is wrong."""
    if global_id is None:
        return None
    try:
        kind, pk = from_global_id(global_id)
    except Exception:
        kind, pk = None, None
    expected = type_name or f"{model.__name__}Type"
    if kind != expected or not str(pk).isdigit():
        raise ValidationError(
            {
                field: ValidationError(
                    _("Not a valid %(type)s ID.") % {"type": model.__name__}, code="invalid_id"
                )
            }
        )
    try:
        return model._default_manager.get(pk=pk)
    except ObjectDoesNotExist as exc:
        raise ValidationError(
            {
                field: ValidationError(
                    _("%(type)s not found.") % {"type": model.__name__}, code="not_found"
                )
            }
        ) from exc


class BaseMutation(graphene.Mutation):
    """Runs `perform(info, **input)` in a transaction and turns refusals into typed errors.

    Subclasses declare their output fields and implement `perform`, which returns a dict of the
    output fields; business rules live in the services it calls.
    """

    errors = graphene.List(graphene.NonNull(ErrorType), required=True)

    class Meta:
        abstract = True

    @classmethod
    def perform(cls, info, **kwargs):
        raise NotImplementedError

    @classmethod
    def mutate(cls, root, info, **kwargs):
        user = info.context.user
        if not can_read(user):
            return cls(
                errors=[ErrorType(field=None, message=_("Sign in first."), code="unauthenticated")]
            )
        try:
            with transaction.atomic():
                result = cls.perform(info, **kwargs)
        except ValidationError as exc:
            return cls(errors=errors_from_validation(exc))
        except PermissionDenied as exc:
            message = str(exc) or _("You are not allowed to do this.")
            return cls(errors=[ErrorType(field=None, message=message, code="permission_denied")])
        return cls(errors=[], **result)


class StepMutation(BaseMutation):
    """One step of one object's workflow. Takes the object's `id`, an optional
    `expectedVersion` and the step's own inputs (`arguments()` turns them into service
    arguments), calls `service_function(obj, user=…, expected_version=…, **arguments)` and
    returns the object in `result_field`. An object the user may not see (its type's
    filter_queryset) is "not found": nobody acts on, or learns about, what they cannot read."""

    class Meta:
        abstract = True

    node_type = None
    result_field = ""
    service_function = None

    @classmethod
    def arguments(cls, info, **kwargs) -> dict:
        return kwargs

    @classmethod
    def result(cls, value):
        return value

    @classmethod
    def perform(cls, info, id, expected_version=None, **kwargs):
        model = cls.node_type._meta.model
        obj = resolve_global_id(model, id, "id", cls.node_type._meta.name)
        visible = cls.node_type.filter_queryset(model._default_manager.filter(pk=obj.pk), info)
        if not visible.exists():
            raise ValidationError(
                {"id": ValidationError(_("%(type)s not found.") % {"type": model.__name__},
                                       code="not_found")}
            )  # fmt: skip
        value = cls.service_function(
            obj, user=info.context.user, expected_version=expected_version,
            **cls.arguments(info, **kwargs),
        )  # fmt: skip
        return {cls.result_field: cls.result(value)}


def ticket_arguments(**extra):
    """Arguments of a ticket transition: the object's `id`, `expectedVersion` and `extra`."""
    return type(
        "Arguments",
        (),
        {"id": graphene.ID(required=True), "expected_version": graphene.Int(), **extra},
    )


class CodedHttpError(HttpError):
    """An HTTP refusal whose JSON error carries extensions.code."""

    def __init__(self, response, message, code):
        super().__init__(response, message)
        self.code = code


class LandkarteGraphQLView(GraphQLView):
    """GraphQL for signed-in users only: browsers are sent to the login page, API clients get
    401. Documents are parsed once, measured against the limits of landkarte.graphql_limits
    before validation, validated once and kept in an LRU cache. Mutations only by POST; CSRF is
    enforced by the middleware for session requests (this view is not csrf_exempt; bearer-token
    requests are exempt, see landkarte.auth). Execution is graphql-core's, specialised for
    synchronous resolvers (landkarte.graphql_execution)."""

    execution_context_class = SyncExecutionContext

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            if request.method == "GET" and self.can_display_graphiql(request, {}):
                return redirect_to_login(request.get_full_path())
            response = self.error_response(
                _("Authentication required."), "unauthenticated", status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="landkarte"'
            return response
        with gc_paused():  # over execution and the encoding of the answer
            return self._dispatch(request, *args, **kwargs)

    def _dispatch(self, request, *args, **kwargs):
        maximum = limits.limit("MAX_BODY_BYTES")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > maximum or len(request.META.get("QUERY_STRING", "")) > maximum:
            return self.error_response(
                _("The request is larger than %(max)d bytes.") % {"max": maximum},
                "request_too_large",
                status=413,
            )
        return super().dispatch(request, *args, **kwargs)

    @staticmethod
    def error_response(message, code, status):
        body = {"errors": [{"message": message, "extensions": {"code": code}}]}
        return HttpResponse(json.dumps(body), status=status, content_type="application/json")

    def format_error(self, error):
        if isinstance(error, CodedHttpError):
            return {"message": error.message, "extensions": {"code": error.code}}
        formatted = super().format_error(error)
        if not limits.limit("FIELD_SUGGESTIONS") and "message" in formatted:
            formatted["message"] = limits.strip_suggestions(formatted["message"])
        if "path" not in formatted:
            # The request as a whole was refused (bad variables, unknown operation, ...).
            extensions = formatted.setdefault("extensions", {})
            extensions.setdefault("code", "bad_request")
        return formatted

    def execute_graphql_request(
        self, request, data, query, variables, operation_name, show_graphiql=False
    ):
        """graphene-django's version with parse and validate replaced by the cached, limited
        preparation; execution itself is unchanged."""
        if not query:
            if show_graphiql:
                return None
            raise CodedHttpError(
                HttpResponseBadRequest(), _("Must provide query string."), "query_missing"
            )
        schema = self.schema.graphql_schema
        schema_validation_errors = validate_schema(schema)
        if schema_validation_errors:
            return ExecutionResult(data=None, errors=schema_validation_errors)

        rules = self.validation_rules
        max_errors = graphene_settings.MAX_VALIDATION_ERRORS
        try:
            prepared = limits.prepare(schema, query, rules, max_errors)
            operation_ast = get_operation_ast(prepared.document, operation_name)
            if (
                request.method.lower() == "get"
                and operation_ast is not None
                and operation_ast.operation != OperationType.QUERY
            ):
                if show_graphiql:
                    return None
                raise CodedHttpError(
                    HttpResponseNotAllowed(["POST"]),
                    _("Can only perform a %(operation)s operation from a POST request.")
                    % {"operation": operation_ast.operation.value},
                    "method_not_allowed",
                )
            limits.enforce(schema, prepared, variables, request.user)
        except GraphQLError as error:
            return ExecutionResult(data=None, errors=[error])

        validation_errors = limits.validation_errors(schema, prepared, rules, max_errors)
        if validation_errors:
            return ExecutionResult(data=None, errors=validation_errors)

        document = prepared.document
        try:
            execute_options = {
                "root_value": self.get_root_value(request),
                "context_value": self.get_context(request),
                "variable_values": variables,
                "operation_name": operation_name,
                "middleware": self.get_middleware(request),
                "hide_suggestions": not limits.limit("FIELD_SUGGESTIONS"),
            }
            if self.execution_context_class:
                execute_options["execution_context_class"] = self.execution_context_class
            if (
                operation_ast is not None
                and operation_ast.operation == OperationType.MUTATION
                and (
                    graphene_settings.ATOMIC_MUTATIONS is True
                    or connection.settings_dict.get("ATOMIC_MUTATIONS", False) is True
                )
            ):
                with transaction.atomic():
                    result = execute(schema, document, **execute_options)
                    if getattr(request, MUTATION_ERRORS_FLAG, False) is True:
                        transaction.set_rollback(True)
                return result
            return execute(schema, document, **execute_options)
        except Exception as exc:
            return ExecutionResult(errors=[exc])
