"""Set-based creation for importers: many new rows validated as ``full_clean`` validates one,
and inserted with their history rows in a few statements per batch.

* ``NewRows`` makes unsaved instances from a template (no ``__init__`` per row) and validates
  them with the model's own rules: each field's ``clean()`` (type, max length, choices, blank,
  validators) once per distinct value, the model's ``clean()`` per row, check constraints once
  per distinct combination of the fields they read. Uniqueness is the importer's business: it
  checks a whole file against the database and within the file at once.
* ``insert_with_history`` writes a batch with one ``INSERT … RETURNING`` (multi-row VALUES on
  SQLite, one array per column with UNNEST on PostgreSQL, as Django's ``bulk_create`` does
  there) and copies the stored rows into the history table with one ``INSERT … SELECT``
  (history user, date, change reason, type ``+``): the history rows are exactly what was
  stored. Where the backend or the history model does not allow that, it falls back to
  ``bulk_create_with_history``.
"""

from __future__ import annotations

import contextlib
import operator
import sqlite3

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections, models, router
from django.db.models.base import ModelState
from django.db.models.fields import AutoFieldMixin
from django.db.models.signals import post_init, pre_init
from django.utils import timezone
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import bulk_create_with_history, get_history_model_for_model

BATCH = 1000
MAX_PARAMS = 30_000  # per statement; SQLite's default limit is 32,766, PostgreSQL's 65,535
MISSING = object()
SKIP = object()


class NewRows:
    """Unsaved instances of `model` and their validation, for rows that differ only in the
    fields named in `row_fields`; the other fields hold their defaults (or what the caller
    sets alike on every row) and are validated once. Fields in `exclude` are not validated,
    nor are references already set (they were found in the database)."""

    def __init__(self, model, row_fields, exclude=()):
        self.model = model
        self.exclude = frozenset(exclude)
        row_fields = set(row_fields)
        concrete = [f for f in model._meta.concrete_fields if not f.generated]
        self.fields = [
            (f, f.attname, f.is_relation, {})
            for f in concrete
            if f.name in row_fields and f.name not in self.exclude
        ]
        self.constant_fields = [
            f for f in concrete if f.name not in row_fields and f.name not in self.exclude
        ]
        self.callable_defaults = [f for f in concrete if f.has_default() and callable(f.default)]
        # Signals on instantiation (pre_init/post_init) must see every instance: no shortcut.
        self.plain_init = not (pre_init.has_listeners(model) or post_init.has_listeners(model))
        self.template = {k: v for k, v in model().__dict__.items() if k != "_state"}
        self.constant_errors = None
        self.checks = ConstraintChecker(model)

    def new(self):
        if not self.plain_init:
            return self.model()
        obj = self.model.__new__(self.model)
        state = obj.__dict__
        state.update(self.template)
        state["_state"] = ModelState()
        for f in self.callable_defaults:
            state[f.attname] = f.get_default()
        return obj

    @staticmethod
    def _clean_field(f, raw, obj):
        """What `clean_fields` does with one value: SKIP (blank), (True, cleaned value) or
        (False, errors)."""
        if f.blank and raw in f.empty_values:
            return SKIP
        try:
            return True, f.clean(raw, obj)
        except ValidationError as exc:
            return False, exc.error_list

    def _clean_constant_fields(self, obj):
        self.constant_errors = {}
        state = obj.__dict__
        for f in self.constant_fields:
            raw = state[f.attname]
            if f.is_relation and raw is not None:
                continue
            hit = self._clean_field(f, raw, obj)
            if hit is SKIP:
                continue
            ok, out = hit
            if ok:
                self.template[f.attname] = out
                state[f.attname] = out
            else:
                self.constant_errors[f.name] = out

    def _cleaned(self, f, results, raw, obj):
        """`_clean_field`, once per distinct value: the same value always cleans alike."""
        try:
            hit = results.get(raw, MISSING)
        except TypeError:  # unhashable: no cache
            return self._clean_field(f, raw, obj)
        if hit is MISSING:
            hit = results[raw] = self._clean_field(f, raw, obj)
        return hit

    def full_clean(self, obj) -> dict[str, list[str]]:
        """`obj.full_clean(exclude, validate_unique=False)` as a message dict, with check
        constraints evaluated in Python where the condition allows it."""
        errors: dict[str, list] = {}
        state = obj.__dict__
        for f, attname, is_relation, results in self.fields:
            raw = state[attname]
            if is_relation and raw is not None:
                continue  # found in the database: not queried again
            hit = self._cleaned(f, results, raw, obj)
            if hit is SKIP:
                continue
            ok, out = hit
            if ok:
                state[attname] = out
            else:
                errors[f.name] = out
        return self.finish_clean(obj, errors)

    def prepare(self, columns: dict[str, list]) -> Prepared | None:
        """Rows given column-wise (field name → what each row's instance stores, references as
        objects), cleaned a column at a time: per row, whether every field is valid, and then
        the values its instance holds and the references it caches (`Prepared.fill`). A row
        with an invalid field takes `full_clean`, which names the problems. None when the
        columns do not cover the row fields or hold references this cannot set."""
        if not self.fields:
            return None
        scratch = self.new()
        attnames, cache_names, value_columns, ok_columns, related_columns = [], [], [], [], []
        for f, attname, is_relation, results in self.fields:
            if f.name not in columns:
                return None
            column = columns[f.name]
            if is_relation:
                if not (
                    isinstance(f, models.ForeignKey)
                    and not f.one_to_one
                    and len(f.foreign_related_fields) == 1
                ):
                    return None
                related, target = f.related_model, f.target_field.attname
                null = self._cleaned(f, results, None, scratch)
                null_ok = null is SKIP or null[0]
                stored, oks = [], []
                for value in column:
                    if value is None:
                        stored.append(None)
                        oks.append(null_ok)
                    elif type(value) is related and value.pk is not None:
                        stored.append(getattr(value, target))  # as the descriptor sets it
                        oks.append(True)
                    else:
                        stored.append(None)
                        oks.append(False)  # the descriptor decides, in full_clean
                value_columns.append(stored)
                related_columns.append(column)
                cache_names.append(f.cache_name)
            else:
                try:
                    distinct = {
                        value: self._cleaned(f, results, value, scratch) for value in set(column)
                    }
                    hits = [distinct[value] for value in column]
                except TypeError:  # unhashable values
                    hits = [self._clean_field(f, value, scratch) for value in column]
                value_columns.append(
                    [raw if hit is SKIP else hit[1] for raw, hit in zip(column, hits, strict=True)]
                )
                oks = [hit is SKIP or hit[0] for hit in hits]
            attnames.append(attname)
            ok_columns.append(oks)
        return Prepared(
            attnames,
            cache_names,
            ok=list(map(all, zip(*ok_columns, strict=True))),
            values=list(zip(*value_columns, strict=True)),
            related=list(zip(*related_columns, strict=True)),
        )

    def finish_clean(self, obj, errors: dict) -> dict[str, list[str]]:
        """The rest of `full_clean` once the row fields are cleaned: the fields no row sets,
        the model's `clean()`, the check constraints."""
        if self.constant_errors is None:
            self._clean_constant_fields(obj)
        if self.constant_errors:
            errors.update(self.constant_errors)
        try:
            obj.clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if not errors:
            return self.checks.validate_row(obj, self.exclude)
        messages = ValidationError(errors).message_dict
        # As full_clean does: constraints on fields that already failed are not checked again.
        failed = self.exclude | (set(messages) - {"__all__"})
        try:
            self.checks.validate(obj, failed, skip_checks=bool(messages.get("__all__")))
        except ValidationError as exc:
            for name, texts in exc.message_dict.items():
                messages.setdefault(name, []).extend(texts)
        return messages


class Prepared:
    """Row fields cleaned column-wise (`NewRows.prepare`)."""

    def __init__(self, attnames, cache_names, ok, values, related):
        self.attnames = attnames
        self.cache_names = cache_names
        self.ok = ok
        self.values = values
        self.related = related

    def fill(self, obj, index: int) -> None:
        """Row `index`'s cleaned values and references onto a new instance."""
        obj.__dict__.update(zip(self.attnames, self.values[index], strict=True))
        if self.cache_names:
            obj._state.fields_cache = dict(zip(self.cache_names, self.related[index], strict=True))


class _Unsupported(Exception):
    pass


COMPARE = {
    "exact": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


def _field_value(obj, name):
    if name in ("pk", "id"):
        return obj.pk
    try:
        return getattr(obj, obj._meta.get_field(name).attname)
    except Exception:
        raise _Unsupported(name) from None


def q_fields(q) -> set[str]:
    if isinstance(q, tuple):
        names = {q[0].split("__")[0]}
        if isinstance(q[1], models.F):
            names.add(q[1].name)
        return names
    return set().union(*(q_fields(c) for c in getattr(q, "children", [])))


def evaluate_q(obj, q):
    """SQL's three-valued logic for a CheckConstraint condition on one unsaved row: True,
    False or None (unknown, which a check constraint accepts)."""
    if isinstance(q, tuple):
        lookup, expected = q
        name, _sep, op = lookup.partition("__")
        op = op or "exact"
        value = _field_value(obj, name)
        if op == "isnull":
            return (value is None) == bool(expected)
        if isinstance(expected, models.F):
            expected = _field_value(obj, expected.name)
        elif isinstance(expected, models.Expression) or op not in COMPARE:
            raise _Unsupported(lookup)
        if value is None or expected is None:
            return None
        return COMPARE[op](value, expected)
    if not isinstance(q, models.Q):
        raise _Unsupported(q)
    results = [evaluate_q(obj, child) for child in q.children]
    if q.connector == models.Q.AND:
        result = False if False in results else (None if None in results else True)
    else:
        result = True if True in results else (None if None in results else False)
    if q.negated and result is not None:
        result = not result
    return result


class ConstraintChecker:
    """`Model.validate_constraints` for one row at a time, without a query per row and
    constraint where that can be avoided: a CheckConstraint whose condition this evaluator
    understands is evaluated in Python, once per distinct combination of the values it reads
    (a query per constraint and row costs ~5 ms on SQLite). Other constraints, and conditions
    the evaluator does not know, are validated by Django."""

    def __init__(self, model):
        self.constraints = []
        for owner, constraints in model().get_constraints():
            for constraint in constraints:
                reader = None
                if isinstance(constraint, models.CheckConstraint):
                    names = q_fields(constraint.condition)
                    try:
                        attnames = sorted(
                            model._meta.pk.attname if name == "pk" else
                            model._meta.get_field(name).attname
                            for name in names
                        )  # fmt: skip
                    except FieldDoesNotExist:
                        pass  # Django validates it
                    else:
                        read = operator.itemgetter(*attnames)
                        reader = (frozenset(names), read, {}, attnames)
                self.constraints.append((owner, constraint, reader))
        # When every constraint is evaluated here: one look-up per row for all of them.
        self.read_all = None
        if self.constraints and all(reader for _o, _c, reader in self.constraints):
            every = sorted({a for _o, _c, reader in self.constraints for a in reader[3]})
            self.read_all = operator.itemgetter(*every, *every[:1])  # always a tuple
            self.names = frozenset().union(*(reader[0] for _o, _c, reader in self.constraints))
        self.outcomes: dict = {}

    def validate_row(self, obj, exclude) -> dict[str, list[str]]:
        """`validate` of a row whose fields all passed `clean()`, as a message dict: computed
        once per distinct combination of the values the constraints read."""
        if self.read_all is None or not self.names.isdisjoint(exclude):
            return self._messages(obj, exclude)
        try:
            key = self.read_all(obj.__dict__)
            outcome = self.outcomes.get(key, MISSING)
        except (KeyError, TypeError):
            return self._messages(obj, exclude)
        if outcome is MISSING:
            outcome = self.outcomes[key] = self._messages(obj, exclude)
        return {name: list(texts) for name, texts in outcome.items()}

    def _messages(self, obj, exclude):
        try:
            self.validate(obj, exclude)
        except ValidationError as exc:
            return exc.message_dict
        return {}

    def validate(self, obj, exclude, skip_checks=False):
        errors = {}
        for owner, constraint, reader in self.constraints:
            if reader is not None:
                names, read, results, _attnames = reader
                if skip_checks or not names.isdisjoint(exclude):
                    continue  # clean() already reported what is wrong with this row
                try:
                    key = read(obj.__dict__)
                    ok = results.get(key, MISSING)
                except (KeyError, TypeError):  # a deferred field, an unhashable value
                    ok = self._evaluate(obj, constraint)
                if ok is MISSING:
                    ok = results[key] = self._evaluate(obj, constraint)
                if ok is True:
                    continue
                if ok is False:
                    error = constraint.get_violation_error_message()
                    errors.setdefault("__all__", []).append(
                        ValidationError(error, code=constraint.violation_error_code)
                    )
                    continue
            try:
                constraint.validate(owner, obj, exclude=exclude)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _evaluate(obj, constraint):
        try:
            return evaluate_q(obj, constraint.condition) is not False
        except _Unsupported:
            return None


# --- writing ------------------------------------------------------------------------------


def _max_params(connection) -> int:
    limit = connection.features.max_query_params or MAX_PARAMS
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old limit of 999; the linked library tells the real one.
        connection.ensure_connection()
        with contextlib.suppress(AttributeError, sqlite3.Error):
            limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(limit, MAX_PARAMS))


def _history_columns(model, history_model):
    """(history column, source column) pairs for the copied fields, the history table's columns
    for user, date, reason, type and relation; None where the history model has fields this
    writer does not know (then the ORM writes the history)."""
    opts = history_model._meta
    pairs = []
    for f in history_model.tracked_fields:
        pairs.append((opts.get_field(f.name).column, f.column))
    extra = {}
    for name in ("history_date", "history_change_reason", "history_type"):
        extra[name] = opts.get_field(name)
    try:
        extra["history_user"] = opts.get_field("history_user")
    except FieldDoesNotExist:
        return None
    known = {f.name for f in history_model.tracked_fields} | set(extra) | {"history_id"}
    if hasattr(history_model, "history_relation"):
        extra["history_relation"] = opts.get_field("history_relation")
        known.add("history_relation")
    pk = opts.pk
    if pk.name != "history_id" or not isinstance(pk, AutoFieldMixin):
        return None
    if any(f.name not in known for f in opts.concrete_fields):
        return None
    return pairs, extra


def insert_with_history(objs, model, *, user=None, reason="", batch_size=BATCH) -> None:
    """Insert unsaved `objs` (pk unset, `clean`ed) in batches, set their pks, and write one
    history row ("+", `user`, `reason`) per object if the model keeps history: two statements
    per batch. No `save()` and no signals, as with `bulk_create`; `auto_now(_add)` fields get
    one timestamp per call, which is also the history date."""
    if not objs:
        return
    opts = model._meta
    connection = connections[router.db_for_write(model)]
    try:
        history_model = get_history_model_for_model(model)
    except NotHistoricalModelError:
        history_model = None
    history = _history_columns(model, history_model) if history_model else None
    set_based = (
        connection.features.can_return_rows_from_bulk_insert
        and isinstance(opts.pk, AutoFieldMixin)
        and not opts.parents
        and all(obj.pk is None for obj in objs)
        and (history is not None or history_model is None)
    )
    if not set_based:
        if history_model is None:
            model._default_manager.bulk_create(objs, batch_size=batch_size)
        else:
            bulk_create_with_history(
                objs, model, batch_size=batch_size, default_user=user, default_change_reason=reason
            )
        return
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.pk]
    now = timezone.now()
    auto_now = [
        f for f in fields if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add)
    ]
    for f in auto_now:
        value = now if isinstance(f, models.DateTimeField) else timezone.localdate(now)
        for obj in objs:
            setattr(obj, f.attname, value)
    own_pre_save = [
        f
        for f in fields
        if f not in auto_now and type(f).pre_save is not models.Field.pre_save
        and not isinstance(f, models.DateField | models.ForeignKey)
    ]  # fmt: skip
    for f in own_pre_save:
        for obj in objs:
            setattr(obj, f.attname, f.pre_save(obj, True))

    qn = connection.ops.quote_name
    table = qn(opts.db_table)
    pk_column = qn(opts.pk.column)
    columns = ", ".join(qn(f.column) for f in fields)
    # PostgreSQL: one array per column (as Django's bulk_create does where it can), so that the
    # statement has a few parameters instead of thousands for the driver to splice in.
    unnest = (
        connection.vendor == "postgresql"
        and not any(hasattr(f, "get_placeholder") for f in fields)
        and all(
            (f.target_field if f.is_relation else f).get_internal_type() in connection.data_types
            for f in fields
        )
    )
    if unnest:
        arrays = ", ".join(f"(%s)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
        insert_sql = f"INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({arrays})"
        rows_per_statement = batch_size
    else:
        placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
        insert_sql = f"INSERT INTO {table} ({columns}) VALUES "
        rows_per_statement = max(1, min(batch_size, _max_params(connection) // len(fields)))
    # Each distinct value is prepared once, except JSON, where 1 and True are different values;
    # Django's own text fields store a str as it is.
    prep = [
        (
            f.attname,
            f.get_db_prep_save,
            "text" if type(f) in (models.CharField, models.TextField) else
            "json" if isinstance(f, models.JSONField) else "distinct",
        )
        for f in fields
    ]  # fmt: skip
    history_sql = history_params = None
    if history_model is not None and getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        pairs, extra = history
        if user is None:
            user = history_model.get_default_history_user(objs[0])
        target = [qn(h) for h, _s in pairs] + [qn(extra[n].column) for n in extra]
        source = [qn(s) for _h, s in pairs] + ["%s"] * len(extra)
        values = {
            "history_date": now,
            "history_change_reason": reason,
            "history_type": "+",
            "history_user": getattr(user, "pk", user),
        }
        history_params = []
        for name, f in extra.items():
            if name == "history_relation":
                source[len(pairs) + list(extra).index(name)] = qn(opts.pk.column)
                continue
            history_params.append(f.get_db_prep_save(values[name], connection))
        history_sql = (
            f"INSERT INTO {qn(history_model._meta.db_table)} ({', '.join(target)}) "
            f"SELECT {', '.join(source)} FROM {table} WHERE {pk_column} "
        )
    with connection.cursor() as cursor:
        for start in range(0, len(objs), rows_per_statement):
            batch = objs[start : start + rows_per_statement]
            states = [obj.__dict__ for obj in batch]
            columns_values = []
            for attname, get_prep, how in prep:
                raw = [state[attname] for state in states]
                try:
                    if how == "json":
                        raise TypeError
                    if how == "text":
                        others = {value for value in raw if type(value) is not str}
                        prepared = {value: get_prep(value, connection) for value in others}
                        column = [v if type(v) is str else prepared[v] for v in raw]
                    else:
                        prepared = {value: get_prep(value, connection) for value in set(raw)}
                        column = [prepared[value] for value in raw]
                except TypeError:  # unhashable values
                    column = [get_prep(value, connection) for value in raw]
                columns_values.append(column)
            if unnest:
                sql = f"{insert_sql} RETURNING {pk_column}"
                params = columns_values
            else:
                sql = f"{insert_sql}{', '.join([placeholders] * len(batch))} RETURNING {pk_column}"
                params = [value for row in zip(*columns_values, strict=True) for value in row]
            cursor.execute(sql, params)
            pks = [row[0] for row in cursor.fetchall()]
            if len(pks) != len(batch):
                raise RuntimeError(f"{len(batch)} rows inserted, {len(pks)} keys returned")
            for obj, pk in zip(batch, pks, strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias
        if history_sql is not None:
            pks = [obj.pk for obj in objs]
            per_statement = batch_size
            if not unnest:
                per_statement = max(1, min(batch_size, _max_params(connection) - 4))
            for start in range(0, len(pks), per_statement):
                chunk = pks[start : start + per_statement]
                if unnest:
                    sql = history_sql + "= ANY(%s)"
                    params = [*history_params, chunk]
                else:
                    sql = history_sql + "IN (" + ", ".join(["%s"] * len(chunk)) + ")"
                    params = [*history_params, *chunk]
                cursor.execute(sql, params)
