"""List exports (CSV and Excel) that give the same rows as the GraphQL lists.

`EXPORTS` names every export. An export applies the model's filterset with the filter names of
the GraphQL list (snake_case; camelCase is accepted too; Relay global IDs or plain primary keys
where GraphQL takes IDs) after the visibility rules of the GraphQL type
(`<Type>.filter_queryset`), so an export never shows a user more than the API would.

Headers are the model field names, so that an exported file can be re-imported unchanged by
`importers.tabular`. Foreign keys are written as the natural key of the referenced object (org
unit code, vendor name, team name, application acronym or name, user name, ticket number);
many-to-many fields as those keys joined by `"; "`. Choice fields keep their stored value.

CSV is UTF-8 with a byte order mark (Excel then detects the encoding) and `,` as the delimiter
(Excel in a German locale splits on `;` only when opening by double click; use "Data → From
Text/CSV" or the `.xlsx` export there). Dates and times are ISO 8601.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django import forms
from django.db import models
from graphene.utils.str_converters import to_snake_case
from graphene_django.filter import GlobalIDFilter, GlobalIDMultipleChoiceFilter
from graphql_relay import to_global_id

M2M_SEPARATOR = "; "
ALWAYS_EXPORTED = {"external_id", "created", "updated"}


class ExportError(ValueError):
    """Unknown filter or invalid filter value."""


# --- natural keys --------------------------------------------------------------------------


def _app_key(app) -> str:
    return app.acronym or app.name


def _component_key(component) -> str:
    return f"{component.name} {component.version}".strip() if component.version else component.name


def _user_key(user) -> str:
    return user.get_username()


def _catalogue_key(catalogue) -> str:
    return f"{catalogue.code} {catalogue.version}".strip()


NATURAL_KEYS: dict[str, Callable[[Any], str]] = {
    "cmdb.OrgUnit": lambda o: o.code or o.name,
    "cmdb.Vendor": lambda o: o.name,
    "cmdb.Team": lambda o: o.name,
    "cmdb.Application": _app_key,
    "cmdb.ITComponent": _component_key,
    "cmdb.Service": lambda o: o.code or o.name,
    "cmdb.DataObject": lambda o: o.name,
    "auth.User": _user_key,
    "itsm.Incident": lambda o: o.number,
    "itsm.Problem": lambda o: o.number,
    "itsm.Change": lambda o: o.number,
    "itsm.Requirement": lambda o: o.number,
    "itsm.ChangeTemplate": lambda o: o.name,
    "itsm.ServiceLevel": lambda o: o.name,
    "sourcing.CriteriaCatalogue": _catalogue_key,
}


def natural_key(obj) -> str:
    if obj is None:
        return ""
    key = NATURAL_KEYS.get(obj._meta.label)
    return key(obj) if key else str(obj)


# --- columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One exported column: `name` is the header (a model field name)."""

    name: str
    kind: str = "field"  # "field", "fk" or "m2m"

    def value(self, obj):
        if self.kind == "fk":
            return natural_key(getattr(obj, self.name))
        if self.kind == "m2m":
            # .all() uses the prefetch cache; sorting keeps the output stable.
            return M2M_SEPARATOR.join(sorted(natural_key(o) for o in getattr(obj, self.name).all()))
        value = getattr(obj, self.name)
        if isinstance(value, decimal.Decimal):
            return float(value)
        return value


@dataclass
class ExportSpec:
    model: type[models.Model]
    filterset_class: type
    graphql_type: type | None
    columns: list[Column]
    extra_select: tuple[str, ...] = ()
    extra_prefetch: tuple[str, ...] = ()
    select_related: tuple[str, ...] = field(init=False)
    prefetch_related: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        if self.graphql_type is not None:
            # Export no field the API keeps back (import keys and timestamps excepted).
            exposed = set(self.graphql_type._meta.fields) | ALWAYS_EXPORTED
            self.columns = [c for c in self.columns if c.name in exposed]
        self.select_related = tuple(c.name for c in self.columns if c.kind == "fk") + tuple(
            self.extra_select
        )
        self.prefetch_related = tuple(c.name for c in self.columns if c.kind == "m2m") + tuple(
            self.extra_prefetch
        )

    @property
    def headers(self) -> list[str]:
        return [c.name for c in self.columns]


def columns_for(
    model, exclude: Iterable[str] = (), include_m2m: Iterable[str] = ()
) -> list[Column]:
    """Concrete model fields in declaration order (FKs as natural keys), then the given
    many-to-many fields. Tree bookkeeping fields and the primary key are left out."""
    skip = {"id", "lft", "rght", "tree_id", "level", *exclude}
    columns = []
    for f in model._meta.concrete_fields:
        if f.name in skip:
            continue
        columns.append(Column(f.name, "fk" if f.is_relation else "field"))
    columns += [Column(name, "m2m") for name in include_m2m]
    return columns


def _build_exports() -> dict[str, ExportSpec]:
    from cmdb import filtersets as cf
    from cmdb.graphql import types as ct
    from cmdb.models import Application, Interface, ITComponent, OrgUnit, Service, Team, Vendor
    from itsm import filtersets as itf
    from itsm.graphql import types as itt
    from itsm.models import Change, Incident, Problem
    from itsm.models.requirement import Requirement
    from itsm.requirement_filtersets import RequirementFilterSet
    from sourcing import filtersets as sf
    from sourcing.graphql import types as st
    from sourcing.models import Assessment
    from sourcing.procurement_models import ProcurementCase

    return {
        "applications": ExportSpec(
            Application, cf.ApplicationFilterSet, ct.ApplicationType, columns_for(Application)
        ),
        "vendors": ExportSpec(
            Vendor,
            cf.VendorFilterSet,
            ct.VendorType,
            # ultimate_parent and jurisdiction are derived from parent and country.
            columns_for(Vendor, exclude=("ultimate_parent", "jurisdiction")),
        ),
        "org_units": ExportSpec(OrgUnit, cf.OrgUnitFilterSet, ct.OrgUnitType, columns_for(OrgUnit)),
        "teams": ExportSpec(
            Team, cf.TeamFilterSet, ct.TeamType, columns_for(Team, include_m2m=("members",))
        ),
        "it_components": ExportSpec(
            ITComponent, cf.ITComponentFilterSet, ct.ITComponentType, columns_for(ITComponent)
        ),
        "interfaces": ExportSpec(
            Interface,
            cf.InterfaceFilterSet,
            ct.InterfaceType,
            columns_for(Interface, include_m2m=("consumers", "data_objects")),
        ),
        "services": ExportSpec(
            Service,
            cf.ServiceFilterSet,
            ct.ServiceType,
            columns_for(Service, include_m2m=("applications", "consumer_org_units")),
        ),
        "incidents": ExportSpec(
            Incident,
            itf.IncidentFilterSet,
            itt.IncidentType,
            columns_for(Incident, include_m2m=("applications", "components")),
        ),
        "problems": ExportSpec(
            Problem,
            itf.ProblemFilterSet,
            itt.ProblemType,
            columns_for(Problem, include_m2m=("applications", "components", "changes")),
        ),
        "changes": ExportSpec(
            Change,
            itf.ChangeFilterSet,
            itt.ChangeType,
            columns_for(
                Change, exclude=("risk_factors",), include_m2m=("applications", "components")
            ),
        ),
        "requirements": ExportSpec(
            Requirement,
            RequirementFilterSet,
            itt.RequirementType,
            columns_for(Requirement, include_m2m=("applications", "changes")),
        ),
        "assessments": ExportSpec(
            Assessment, sf.AssessmentFilterSet, st.AssessmentType, columns_for(Assessment)
        ),
        "procurement_cases": ExportSpec(
            ProcurementCase,
            sf.ProcurementCaseFilterSet,
            st.ProcurementCaseType,
            columns_for(ProcurementCase, exclude=("ranking",)),
            extra_select=("awarded_candidate__vendor", "awarded_candidate__component"),
        ),
    }


class _LazyExports(dict):
    """Built on first use so that importing this module does not load the GraphQL schema."""

    def _load(self):
        if not dict.__len__(self):
            self.update(_build_exports())

    def __getitem__(self, key):
        self._load()
        return super().__getitem__(key)

    def __contains__(self, key):
        self._load()
        return super().__contains__(key)

    def __iter__(self):
        self._load()
        return super().__iter__()

    def __len__(self):
        self._load()
        return super().__len__()

    def keys(self):
        self._load()
        return super().keys()

    def items(self):
        self._load()
        return super().items()

    def values(self):
        self._load()
        return super().values()

    def get(self, key, default=None):
        self._load()
        return super().get(key, default)


EXPORTS: dict[str, ExportSpec] = _LazyExports()


# --- filtering -------------------------------------------------------------------------------


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def _global_id(value) -> str:
    """GraphQL takes Relay IDs; a plain primary key is accepted too (the filters use only the
    primary key part)."""
    text = str(value)
    return to_global_id("Node", text) if text.isdigit() else text


def filter_data(filterset_class, filters: dict) -> dict:
    """Normalise filters (from a query string or command line) to filterset data."""
    declared = filterset_class.base_filters
    data = {}
    for raw_key, raw_value in (filters or {}).items():
        key = to_snake_case(raw_key)
        if key not in declared:
            raise ExportError(
                f"Unknown filter {raw_key!r}; known filters: {', '.join(sorted(declared))}."
            )
        flt = declared[key]
        values = _as_list(raw_value)
        if key == "order_by":
            names = [n.strip() for v in values for n in str(v).split(",") if n.strip()]
            data[key] = ",".join(to_snake_case(n) for n in names)
        elif isinstance(flt, GlobalIDMultipleChoiceFilter):
            data[key] = [_global_id(v) for v in values]
        elif isinstance(flt, GlobalIDFilter):
            data[key] = _global_id(values[-1]) if values else None
        elif issubclass(getattr(flt, "field_class", object), forms.MultipleChoiceField):
            data[key] = [str(v) for v in values]
        else:
            value = values[-1] if values else None
            if isinstance(value, bool):
                value = "true" if value else "false"
            data[key] = value
    return data


def _context(user, request=None):
    if request is not None:
        return request
    return SimpleNamespace(user=user, META={}, GET={}, method="GET")


def export_queryset(name: str, *, user, filters: dict | None = None, request=None):
    spec = EXPORTS[name]
    context = _context(user, request)
    queryset = spec.model._default_manager.all()
    if spec.graphql_type is not None:
        queryset = spec.graphql_type.filter_queryset(queryset, SimpleNamespace(context=context))
    filterset = spec.filterset_class(
        data=filter_data(spec.filterset_class, filters or {}), queryset=queryset, request=context
    )
    if not filterset.is_valid():
        errors = "; ".join(
            f"{key}: {' '.join(str(m) for m in messages)}"
            for key, messages in filterset.form.errors.items()
        )
        raise ExportError(f"Invalid filter: {errors}")
    queryset = filterset.qs
    if not queryset.query.order_by and not spec.model._meta.ordering:
        queryset = queryset.order_by("pk")
    if spec.select_related:
        queryset = queryset.select_related(*spec.select_related)
    if spec.prefetch_related:
        queryset = queryset.prefetch_related(*spec.prefetch_related)
    return queryset


def _narrowing_type(model):
    """The GraphQL type of `model` if it narrows what a user may see (its own
    filter_queryset, e.g. incidents and requirements), else None."""
    from graphene_django.registry import get_global_registry

    from landkarte.graphql import BaseNodeType

    node_type = get_global_registry().get_type_for_model(model)
    if node_type is None or not issubclass(node_type, BaseNodeType):
        return None
    if node_type.filter_queryset.__func__ is BaseNodeType.filter_queryset.__func__:
        return None
    return node_type


def _hidden_references(spec: ExportSpec, objects: list, context) -> dict[str, set]:
    """Per relation column, the primary keys of referenced objects the user may not see: a
    related incident or requirement outside the user's scope is left blank, so that an
    export never names what the API hides."""
    hidden = {}
    info = SimpleNamespace(context=context)
    for column in spec.columns:
        if column.kind == "field":
            continue
        related = spec.model._meta.get_field(column.name).related_model
        node_type = _narrowing_type(related)
        if node_type is None:
            continue
        if column.kind == "fk":
            pks = {getattr(obj, f"{column.name}_id") for obj in objects} - {None}
        else:
            pks = {o.pk for obj in objects for o in getattr(obj, column.name).all()}
        if not pks:
            continue
        visible = node_type.filter_queryset(
            related._default_manager.filter(pk__in=pks), info
        ).values_list("pk", flat=True)
        hidden[column.name] = pks - set(visible)
    return hidden


def _masked_value(column: Column, obj, hidden: set):
    if column.kind == "fk":
        return "" if getattr(obj, f"{column.name}_id") in hidden else column.value(obj)
    related = getattr(obj, column.name).all()
    return M2M_SEPARATOR.join(sorted(natural_key(o) for o in related if o.pk not in hidden))


def export_rows(name: str, *, user, filters: dict | None = None, request=None):
    """(headers, rows) of the export `name` as `user` sees it with `filters` applied."""
    spec = EXPORTS[name]
    objects = list(export_queryset(name, user=user, filters=filters, request=request))
    hidden = _hidden_references(spec, objects, _context(user, request))
    rows = [
        [
            _masked_value(column, obj, hidden[column.name])
            if hidden.get(column.name)
            else column.value(obj)
            for column in spec.columns
        ]
        for obj in objects
    ]
    return spec.headers, rows


# --- writers ---------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_csv(headers, rows, stream) -> None:
    """CSV with `,` as delimiter. A text stream gets a BOM character, a binary stream UTF-8 with
    BOM, so that Excel reads umlauts correctly."""
    binary = not isinstance(stream, io.TextIOBase)
    target = io.StringIO() if binary else stream
    target.write("\ufeff")
    writer = csv.writer(target, delimiter=",", lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    if binary:
        stream.write(target.getvalue().encode("utf-8"))


def _excel_value(value):
    if isinstance(value, datetime.datetime):
        # Excel has no time zones: write local time without tzinfo.
        if value.tzinfo is not None:
            from django.utils import timezone

            value = timezone.localtime(value).replace(tzinfo=None)
        return value
    if isinstance(value, (datetime.date, bool, int, float)) or value is None:
        return value
    return _text(value)


def write_xlsx(headers, rows, path_or_stream, *, title: str = "Export") -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(str(h)) for h in headers]
    for row in rows:
        values = [_excel_value(v) for v in row]
        sheet.append(values)
        for index, value in enumerate(values):
            if isinstance(value, datetime.datetime):
                length = 19
            elif isinstance(value, datetime.date):
                length = 10
            else:
                length = len(str(value)) if value is not None else 0
            widths[index] = max(widths[index], length)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(cell.value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "A2"
    workbook.save(path_or_stream)
