"""graphql-core's execution, specialised for Landkarte's schema, whose resolvers are all
synchronous (Django's ORM).

A list of 1,000 applications with their interfaces resolves some 50,000 fields; graphql-core
spends most of its time per field, not per row. SyncExecutionContext keeps its semantics
(results, null propagation, error paths and messages) and drops the work that cannot change
within one execution:

* the field definition, return type, resolver and argument values of a field node on a parent
  type are looked up once per execution (the variables do not change while it runs), not once
  per row;
* no value is checked for being awaitable (no resolver is asynchronous);
* leaves (scalars and enums, nullable or not) are serialised without the generic recursion of
  complete_value;
* the cyclic garbage collector pauses while the operation executes (LandkarteGraphQLView
  extends the pause over the encoding of the response). A long list allocates hundreds of
  thousands of short-lived objects (rows, dicts, paths, resolve infos); the collector would
  traverse them, and the whole heap of the process, dozens of times per request and find
  little that reference counting does not free anyway. At the end of the pause one collection
  of the youngest generation frees what the request left behind in cycles.
"""

import gc
import threading
from contextlib import contextmanager
from functools import partial

from graphene.types.resolver import attr_resolver, dict_or_attr_resolver, dict_resolver
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLResolveInfo, located_error
from graphql.execution import ExecutionContext
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, inspect, is_iterable
from graphql.type import is_leaf_type, is_list_type, is_object_type

_gc_lock = threading.Lock()
_gc_state = {"pauses": 0, "resume": True}


@contextmanager
def gc_paused():
    """Pause automatic garbage collection; pauses nest, threads that pause it at the same time
    share the pause, and the last one to finish resumes it (unless it was off before the
    first) and collects the youngest generation at once: what the work left behind in
    reference cycles (prefetched rows point at each other) is freed by the work that made it,
    not by whatever runs next."""
    with _gc_lock:
        _gc_state["pauses"] += 1
        if _gc_state["pauses"] == 1:
            _gc_state["resume"] = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["pauses"] -= 1
            resume = _gc_state["pauses"] == 0 and _gc_state["resume"]
            if resume:
                gc.enable()
        if resume:
            gc.collect(0)


_LEAF, _OBJECT, _OTHER = 0, 1, 2

_STATE = "_landkarte_execution_state"


def execution_state(info) -> dict:
    """A dict that lives as long as one execution (on the context, the request): resolvers
    keep what they share across rows there. SyncExecutionContext drops it when the execution
    ends, so that the rows it refers to do not live on with the request."""
    context = info.context
    state = getattr(context, _STATE, None)
    if state is None:
        state = {}
        setattr(context, _STATE, state)
    return state


def _never_awaitable(value) -> bool:
    return False


_ATTRIBUTE_RESOLVERS = (dict_or_attr_resolver, attr_resolver, dict_resolver)


def _attribute_getter(resolve):
    """For graphene's default resolver (an attribute or dict key, no use of info), a function
    of the source alone that gives the same value; None for any other resolver."""
    if not (isinstance(resolve, partial) and resolve.func in _ATTRIBUTE_RESOLVERS):
        return None
    if resolve.keywords or len(resolve.args) != 2:
        return None
    name, default = resolve.args
    func = resolve.func
    if func is attr_resolver:
        return lambda source: getattr(source, name, default)
    if func is dict_resolver:
        return lambda source: source.get(name, default)
    return lambda source: (
        source.get(name, default) if isinstance(source, dict) else getattr(source, name, default)
    )


class _FieldPlan:
    """What execute_field needs of one field node on one parent type. A leaf read by graphene's
    default resolver gets a `getter`: execute_fields reads and serialises it without building a
    path or a resolve info (which the default resolver does not use)."""

    __slots__ = (
        "field_def", "return_type", "resolve", "args", "inner", "non_null", "kind", "getter",
        "name",
    )  # fmt: skip

    def __init__(self, field_def, resolve, args, name):
        self.field_def = field_def
        self.return_type = field_def.type
        self.resolve = resolve
        self.args = args
        self.name = name
        inner = self.return_type
        self.non_null = isinstance(inner, GraphQLNonNull)
        if self.non_null:
            inner = inner.of_type
        self.inner = inner
        self.getter = None
        if is_leaf_type(inner):
            self.kind = _LEAF
            self.getter = _attribute_getter(resolve)
        elif is_object_type(inner):
            self.kind = _OBJECT
        else:
            self.kind = _OTHER  # lists and abstract types: graphql-core's completion

    def complete_leaf(self, parent_type, result):
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if self.non_null:
                raise _null_error(parent_type.name, self.name)
            return None
        serialized = self.inner.serialize(result)
        if serialized is Undefined or serialized is None:
            raise TypeError(
                f"Expected `{inspect(self.inner)}.serialize({inspect(result)})`"
                f" to return non-nullable value, returned: {inspect(serialized)}"
            )
        return serialized


class SyncExecutionContext(ExecutionContext):
    is_awaitable = staticmethod(_never_awaitable)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_awaitable = _never_awaitable
        self._plans: dict = {}
        self._selections: dict = {}

    def execute_operation(self, operation, root_value):
        with gc_paused():
            try:
                return super().execute_operation(operation, root_value)
            finally:
                if getattr(self.context_value, _STATE, None) is not None:
                    setattr(self.context_value, _STATE, None)

    def _selection(self, parent_type, fields):
        """[(response name, field nodes, getter plan or None)] for a collected selection set
        (graphql-core keeps each collected dict for the whole execution)."""
        key = (parent_type, id(fields))
        selection = self._selections.get(key)
        if selection is None:
            selection = []
            for response_name, field_nodes in fields.items():
                try:
                    plan = self._plan(parent_type, field_nodes)
                except Exception:
                    plan = None  # execute_field raises it again, where it is reported
                fast = plan if plan is not None and plan.getter is not None else None
                selection.append((response_name, field_nodes, fast))
            self._selections[key] = (fields, selection)  # keep `fields` (and its id) alive
        else:
            selection = selection[1]
        return selection

    def execute_fields(self, parent_type, source_value, path, fields):
        results = {}
        execute_field = self.execute_field
        for response_name, field_nodes, fast in self._selection(parent_type, fields):
            if fast is not None:
                try:
                    results[response_name] = fast.complete_leaf(
                        parent_type, fast.getter(source_value)
                    )
                except Exception as raw_error:
                    field_path = Path(path, response_name, parent_type.name)
                    error = located_error(raw_error, field_nodes, field_path.as_list())
                    self.handle_field_error(error, fast.return_type, field_path)
                    results[response_name] = None
                continue
            result = execute_field(
                parent_type, source_value, field_nodes, Path(path, response_name, parent_type.name)
            )
            if result is not Undefined:
                results[response_name] = result
        return results

    def _plan(self, parent_type, field_nodes):
        key = (parent_type, id(field_nodes[0]))
        plan = self._plans.get(key)
        if plan is None:
            field_def = get_field_def(self.schema, parent_type, field_nodes[0])
            if not field_def:
                return None
            resolve = field_def.resolve or self.field_resolver
            if self.middleware_manager:
                resolve = self.middleware_manager.get_field_resolver(resolve)
            # Raises for variables that do not coerce: not cached, raised for every row like
            # graphql-core does.
            args = get_argument_values(field_def, field_nodes[0], self.variable_values)
            name = field_nodes[0].name.value
            plan = self._plans[key] = _FieldPlan(field_def, resolve, args, name)
        return plan

    def execute_field(self, parent_type, source, field_nodes, path):
        try:
            plan = self._plan(parent_type, field_nodes)
        except Exception as raw_error:
            field_def = get_field_def(self.schema, parent_type, field_nodes[0])
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, field_def.type, path)
            return None
        if plan is None:
            return Undefined
        info = GraphQLResolveInfo(
            field_nodes[0].name.value,
            field_nodes,
            plan.return_type,
            parent_type,
            path,
            self.schema,
            self.fragments,
            self.root_value,
            self.operation,
            self.variable_values,
            self.context_value,
            _never_awaitable,
        )
        try:
            result = plan.resolve(source, info, **plan.args)
            if plan.kind == _LEAF:
                return self._complete_leaf(plan.inner, plan.non_null, info, result)
            if plan.kind == _OBJECT and not isinstance(result, Exception):
                if result is None:
                    if plan.non_null:
                        raise _null_error(info.parent_type.name, info.field_name)
                    return None
                return self.complete_object_value(plan.inner, field_nodes, info, path, result)
            return self.complete_value(plan.return_type, field_nodes, info, path, result)
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, plan.return_type, path)
            return None

    @staticmethod
    def _complete_leaf(leaf_type, non_null, info, result):
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if non_null:
                raise _null_error(info.parent_type.name, info.field_name)
            return None
        serialized = leaf_type.serialize(result)
        if serialized is Undefined or serialized is None:
            raise TypeError(
                f"Expected `{inspect(leaf_type)}.serialize({inspect(result)})`"
                f" to return non-nullable value, returned: {inspect(serialized)}"
            )
        return serialized

    def complete_value(self, return_type, field_nodes, info, path, result):
        if isinstance(result, Exception):
            raise result
        non_null = isinstance(return_type, GraphQLNonNull)
        inner = return_type.of_type if non_null else return_type
        if result is None or result is Undefined:
            if non_null:
                raise _null_error(info.parent_type.name, info.field_name)
            return None
        if is_leaf_type(inner):
            return self._complete_leaf(inner, non_null, info, result)
        if isinstance(inner, GraphQLObjectType):
            return self.complete_object_value(inner, field_nodes, info, path, result)
        if is_list_type(inner):
            return self.complete_list_value(inner, field_nodes, info, path, result)
        completed = super().complete_value(inner, field_nodes, info, path, result)
        if completed is None and non_null:
            raise _null_error(info.parent_type.name, info.field_name)
        return completed

    def complete_list_value(self, return_type, field_nodes, info, path, result):
        if not is_iterable(result):
            return super().complete_list_value(return_type, field_nodes, info, path, result)
        item_type = return_type.of_type
        non_null = isinstance(item_type, GraphQLNonNull)
        inner = item_type.of_type if non_null else item_type
        completed_results = []
        append = completed_results.append
        if isinstance(inner, GraphQLObjectType):
            sub_field_nodes = self.collect_subfields(inner, field_nodes)
            is_type_of = inner.is_type_of
            execute_fields = self.execute_fields
            for index, item in enumerate(result):
                item_path = path.add_key(index, None)
                try:
                    if item is None or isinstance(item, Exception):
                        completed = self.complete_value(
                            item_type, field_nodes, info, item_path, item
                        )
                    elif is_type_of is not None and not is_type_of(item, info):
                        completed = self.complete_object_value(
                            inner, field_nodes, info, item_path, item
                        )
                    else:
                        completed = execute_fields(inner, item, item_path, sub_field_nodes)
                except Exception as raw_error:
                    error = located_error(raw_error, field_nodes, item_path.as_list())
                    self.handle_field_error(error, item_type, item_path)
                    completed = None
                append(completed)
            return completed_results
        for index, item in enumerate(result):
            item_path = path.add_key(index, None)
            try:
                completed = self.complete_value(item_type, field_nodes, info, item_path, item)
            except Exception as raw_error:
                error = located_error(raw_error, field_nodes, item_path.as_list())
                self.handle_field_error(error, item_type, item_path)
                completed = None
            append(completed)
        return completed_results


def _null_error(type_name: str, field_name: str) -> TypeError:
    return TypeError(f"Cannot return null for non-nullable field {type_name}.{field_name}.")


__all__ = ["SyncExecutionContext", "execution_state", "gc_paused"]
