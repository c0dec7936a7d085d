"""What every page of Landkarte shares: access by role, list pages with filters, sorting,
paging and exports, forms that show the service layer's refusals next to their fields, and the
navigation. Pages call the same service functions as GraphQL; nothing here is a business rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import NullBooleanSelect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView, TemplateView

from landkarte.roles import (
    ARCHITECT,
    AUDITOR,
    CHANGE_MANAGER,
    PROCUREMENT,
    REQUESTER,
    SERVICE_DESK,
    can_read,
    has_role,
)

# --- access ----------------------------------------------------------------------------------


class RolePageMixin(LoginRequiredMixin):
    """Signed-in users only; anonymous browsers go to the sign-in page. `roles` narrows the page
    to those roles (superusers hold every role); without it every reading role may open it."""

    roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        allowed = has_role(request.user, *self.roles) if self.roles else can_read(request.user)
        if not allowed:
            raise PermissionDenied(_("Your roles do not include this page."))
        return super().dispatch(request, *args, **kwargs)


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


class Page(RolePageMixin, TemplateView):
    """A page with a title; `partial_template_name` answers htmx requests with a fragment."""

    title = ""
    partial_template_name: str | None = None

    def get_template_names(self):
        if self.partial_template_name and is_htmx(self.request):
            return [self.partial_template_name]
        return super().get_template_names()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("title", self.title)
        return context


# --- list pages ------------------------------------------------------------------------------


class FilteredListPage(RolePageMixin, ListView):
    """A list with a django-filter filterset (the same one GraphQL and exports use), a
    whitelist of sort keys, paging and export links that carry the filters.

    - `visible(user, queryset)`: the rows the user may see (a service function).
    - `sort_fields`: {"key": ("field", ...)} the user may sort by; `?sort=-key` descends.
    - `export_name`: the name of the export (`importers.exports.EXPORTS`) with the same filters.
    - `partial_template_name`: the table alone, for htmx requests (filters as one types).
    """

    filterset_class = None
    sort_fields: dict[str, tuple[str, ...]] = {}
    default_sort = ""
    export_name: str | None = None
    paginate_by = 50
    title = ""
    partial_template_name: str | None = None

    def visible(self, user, queryset):
        return queryset

    def base_queryset(self):
        return self.model._default_manager.all()

    def get_queryset(self):
        queryset = self.visible(self.request.user, self.base_queryset())
        self.filterset = None
        if self.filterset_class is not None:
            self.filterset = self.filterset_class(
                data=self.request.GET or None, queryset=queryset, request=self.request
            )
            queryset = self.filterset.qs if self.filterset.is_bound else queryset
        self.sort = self.request.GET.get("sort") or self.default_sort
        key = self.sort.lstrip("-")
        if key in self.sort_fields:
            fields = self.sort_fields[key]
            if self.sort.startswith("-"):
                fields = tuple(f[1:] if f.startswith("-") else "-" + f for f in fields)
            queryset = queryset.order_by(*fields, "-pk" if self.sort.startswith("-") else "pk")
        return queryset

    def paginate_queryset(self, queryset, page_size):
        # A page past the end (a bookmark, or a list that shrank since: incidents resolved)
        # shows the last page rather than a 404; a page that is no number shows the first.
        paginator = self.get_paginator(
            queryset,
            page_size,
            orphans=self.get_paginate_orphans(),
            allow_empty_first_page=self.get_allow_empty(),
        )
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_template_names(self):
        if self.partial_template_name and is_htmx(self.request):
            return [self.partial_template_name]
        return super().get_template_names()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.filterset is not None:
            for field in self.filterset.form.fields.values():
                if isinstance(field.widget, NullBooleanSelect):
                    # A filter left open means "any", not Django's "Unknown".
                    field.widget.choices = [
                        ("unknown", _("any")),
                        ("true", _("yes")),
                        ("false", _("no")),
                    ]
        filters = self.request.GET.copy()
        filters.pop("page", None)
        context.update(
            title=self.title,
            filterset=self.filterset,
            filter_form=self.filterset.form if self.filterset is not None else None,
            sort=self.sort,
            filter_query=filters.urlencode(),
            exports=self.export_links(),
        )
        return context

    def export_links(self) -> list[tuple[str, str]]:
        if not self.export_name:
            return []
        filters = self.request.GET.copy()
        for key in ("page", "sort"):
            filters.pop(key, None)
        query = ("?" + filters.urlencode()) if filters else ""
        return [
            (label, reverse("importers:export", args=[self.export_name, fmt]) + query)
            for fmt, label in (("csv", "CSV"), ("xlsx", "Excel"))
        ]


# --- forms -----------------------------------------------------------------------------------


def apply_service_errors(form, error: ValidationError) -> None:
    """Show a service's refusal on the form: on the field it names when the form shows that
    field, else above the form. The user's input stays in the bound form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            # A hidden field (e.g. the expected version) shows nothing: say it above the form.
            shown = field in form.fields and not form.fields[field].widget.is_hidden
            target = field if shown else None
            for item in errors:
                form.add_error(target, item.messages[0] if item.messages else str(item))
    else:
        for message in error.messages:
            form.add_error(None, message)


def service_errors(error: ValidationError) -> list[str]:
    """A service refusal as plain messages, for actions without a form."""
    if hasattr(error, "error_dict"):
        return [m for field, errs in error.message_dict.items() for m in errs]
    return list(error.messages)


# --- navigation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    roles: tuple[str, ...] = ()  # empty: every reading role


EVERY_STAFF = (SERVICE_DESK, CHANGE_MANAGER, ARCHITECT, PROCUREMENT, AUDITOR)

# The sections in the header, in order. A page whose URL is not installed is left out.
NAVIGATION: list[tuple[str, list[NavEntry]]] = [
    (
        _("Service desk"),
        [
            NavEntry(_("Queue"), "itsm:queue", EVERY_STAFF),
            NavEntry(_("New incident"), "itsm:incident-new", (SERVICE_DESK, REQUESTER)),
            NavEntry(_("My incidents"), "itsm:my-incidents", (REQUESTER,)),
            NavEntry(_("Problems"), "itsm:problems", EVERY_STAFF),
            NavEntry(_("Known errors"), "itsm:known-errors", EVERY_STAFF),
        ],
    ),
    (
        _("Changes"),
        [
            NavEntry(_("Changes"), "itsm:changes", EVERY_STAFF),
            NavEntry(_("Change calendar"), "itsm:change-calendar", EVERY_STAFF),
            NavEntry(_("CAB"), "itsm:cab", (CHANGE_MANAGER, ARCHITECT, AUDITOR)),
        ],
    ),
    (
        _("Architecture"),
        [
            NavEntry(_("Applications"), "architecture:applications", EVERY_STAFF),
            NavEntry(_("Impact analysis"), "architecture:impact", EVERY_STAFF),
            NavEntry(_("Governance findings"), "architecture:findings", EVERY_STAFF),
            NavEntry(_("Tech radar"), "architecture:radar", EVERY_STAFF),
            NavEntry(_("Capability map"), "architecture:capabilities", EVERY_STAFF),
        ],
    ),
    (
        _("Sourcing"),
        [
            NavEntry(_("Vendors"), "sourcing:vendors", EVERY_STAFF),
            NavEntry(_("Assessments"), "sourcing:assessments", EVERY_STAFF),
            NavEntry(_("Procurement cases"), "sourcing:cases", EVERY_STAFF),
            NavEntry(_("Landscape risk"), "sourcing:risk", EVERY_STAFF),
        ],
    ),
    (
        _("Requirements"),
        [
            NavEntry(_("Submit a requirement"), "itsm:requirement-new", (REQUESTER,)),
            NavEntry(_("Requirements"), "itsm:requirements", EVERY_STAFF + (REQUESTER,)),
            NavEntry(_("Backlog by WSJF"), "itsm:backlog", EVERY_STAFF),
        ],
    ),
]


def navigation(request):
    """Context processor: the header sections the signed-in user's roles may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    sections = []
    for label, entries in NAVIGATION:
        links = []
        for entry in entries:
            allowed = has_role(user, *entry.roles) if entry.roles else can_read(user)
            if not allowed:
                continue
            try:
                url = reverse(entry.url_name)
            except NoReverseMatch:
                continue
            links.append({"label": entry.label, "url": url, "active": request.path == url})
        if links:
            sections.append({"label": label, "links": links})
    return {"navigation": sections}
