"""Pages: requirements. Requesters submit a requirement and follow their office's requirements;
reviewers see the backlog ranked by WSJF and take the review steps. Every step calls
itsm.services.requirements, the same functions as the GraphQL mutations."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView

from cmdb.models import Application
from itsm.models import Change, Requirement
from itsm.requirement_filtersets import RequirementFilterSet
from itsm.services import requirements as svc
from itsm.views.requirement_forms import ActionForm, RequirementSubmitForm, shape_filter_form
from landkarte.pages import EVERY_STAFF, FilteredListPage, Page, RolePageMixin, apply_service_errors
from landkarte.roles import REQUESTER, has_role

# --- lists -----------------------------------------------------------------------------------


class RequirementFilterMixin:
    filterset_class = RequirementFilterSet
    model = Requirement

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.filterset is not None:
            shape_filter_form(self.filterset.form)
        return queryset.select_related("requesting_org_unit", "requested_by")


class RequirementListView(RequirementFilterMixin, FilteredListPage):
    """Every requirement the user may see: the whole backlog for IT staff and auditors, their
    offices' requirements for requesters."""

    template_name = "itsm/requirements/list.html"
    partial_template_name = "itsm/requirements/_table.html"
    title = _("Requirements")
    roles = (*EVERY_STAFF, REQUESTER)
    export_name = "requirements"
    sort_fields = {
        "number": ("number",),
        "title": ("title",),
        "kind": ("kind",),
        "state": ("state",),
        "org_unit": ("requesting_org_unit__code",),
        "wsjf": ("wsjf",),
        "due": ("due_date",),
        "submitted": ("submitted_at",),
    }

    def visible(self, user, queryset):
        return svc.visible_requirements(user, queryset)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_submit"] = has_role(self.request.user, *svc.SUBMITTER_ROLES)
        return context


class BacklogView(RequirementFilterMixin, FilteredListPage):
    """The open requirements, highest WSJF first (svc.ranked_backlog), with the inputs."""

    template_name = "itsm/requirements/backlog.html"
    partial_template_name = "itsm/requirements/_backlog_table.html"
    title = _("Backlog by WSJF")
    roles = EVERY_STAFF
    export_name = "requirements"

    def base_queryset(self):
        return svc.ranked_backlog(self.request.user)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.filterset is not None:
            for name in ("open", "state"):
                self.filterset.form.fields.pop(name, None)
        return queryset

    def export_links(self):
        # The export of the same rows: open ones, ranked the same way.
        return [
            (label, url + ("&" if "?" in url else "?") + "open=true&order_by=-wsjf")
            for label, url in super().export_links()
        ]


# --- submit ----------------------------------------------------------------------------------


class RequirementCreateView(RolePageMixin, FormView):
    template_name = "itsm/requirements/new.html"
    form_class = RequirementSubmitForm
    roles = svc.SUBMITTER_ROLES

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": _("Submit a requirement")}

    def form_valid(self, form):
        try:
            requirement = svc.submit_requirement(user=self.request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or gettext("You may not submit requirements."))
            return self.form_invalid(form)
        messages.success(
            self.request,
            gettext("Requirement %(number)s submitted.") % {"number": requirement.number},
        )
        return HttpResponseRedirect(reverse("itsm:requirement-detail", args=[requirement.number]))

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


# --- detail and steps ------------------------------------------------------------------------

# step → (button label, service function, (text field, label) or None)
ACTIONS = {
    "review": (_("Start the review"), svc.review_requirement, None),
    "approve": (_("Approve"), svc.approve_requirement, ("reason", _("Reason (optional)"))),
    "reject": (_("Reject"), svc.reject_requirement, ("reason", _("Reason for the office"))),
    "return": (
        _("Return to the office"),
        svc.return_requirement,
        ("reason", _("Which information is missing")),
    ),
    "withdraw": (_("Withdraw"), svc.withdraw_requirement, ("reason", _("Why it is withdrawn"))),
    "plan": (_("Plan"), svc.plan_requirement, ("reason", _("Note (optional)"))),
    "replan": (_("Re-plan (one step back)"), svc.replan_requirement, ("reason", _("Reason"))),
    "start_delivery": (_("Start delivery"), svc.start_delivery, None),
    "complete": (
        _("Complete"),
        svc.complete_requirement,
        ("note", _("Delivery note (needed without a successful change)")),
    ),
}


def action_form(name: str, requirement, data=None) -> ActionForm:
    _label, _function, text = ACTIONS[name]
    form = ActionForm(
        data,
        prefix=name,
        initial={"expected_version": requirement.version},
        text_field=text[0] if text else None,
        text_label=text[1] if text else "",
    )
    form.label = _label
    form.name = name
    return form


class RequirementDetailView(Page):
    template_name = "itsm/requirements/detail.html"
    roles = (*EVERY_STAFF, REQUESTER)

    def get_object(self) -> Requirement:
        queryset = svc.visible_requirements(
            self.request.user,
            Requirement.objects.select_related("requesting_org_unit", "requested_by"),
        ).prefetch_related(
            Prefetch("applications", queryset=Application.objects.order_by("name")),
            Prefetch("changes", queryset=Change.objects.order_by("number")),
        )
        return get_object_or_404(queryset, number=self.kwargs["number"])

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render_to_response(self.get_context_data())

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        name = request.POST.get("action", "")
        if name not in ACTIONS:
            raise Http404(_("No such step."))
        form = action_form(name, self.object, request.POST)
        status = 400
        if name not in svc.requirement_actions(self.object, request.user):
            form.is_valid()
            form.add_error(None, gettext("This step is not open to you in this state."))
            status = 403
        elif form.is_valid():
            _label, function, text = ACTIONS[name]
            arguments = {text[0]: form.cleaned_data.get(text[0], "")} if text else {}
            try:
                function(
                    self.object,
                    user=request.user,
                    expected_version=form.cleaned_data["expected_version"],
                    **arguments,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or gettext("This step is not open to you."))
                status = 403
            else:
                messages.success(
                    request,
                    gettext("%(number)s: %(step)s done.")
                    % {"number": self.object.number, "step": ACTIONS[name][0]},
                )
                return HttpResponseRedirect(request.path)
        self.object.refresh_from_db()
        context = self.get_context_data(failed=form)
        return self.render_to_response(context, status=status)

    def get_context_data(self, failed=None, **kwargs):
        context = super().get_context_data(**kwargs)
        requirement = self.object
        forms = []
        for name in svc.requirement_actions(requirement, self.request.user):
            if name not in ACTIONS:
                continue  # editing has no page yet
            forms.append(
                failed
                if failed is not None and failed.name == name
                else action_form(name, requirement)
            )
        if failed is not None and all(f is not failed for f in forms):
            forms.insert(0, failed)
        history = requirement.history.select_related("history_user").order_by(
            "-history_date", "-history_id"
        )
        context.update(
            title=str(requirement),
            requirement=requirement,
            action_forms=forms,
            history=list(history),
            list_url=reverse("itsm:requirements"),
        )
        return context


urlpatterns = [
    path("requirements/", RequirementListView.as_view(), name="requirements"),
    path("requirements/new/", RequirementCreateView.as_view(), name="requirement-new"),
    path("requirements/backlog/", BacklogView.as_view(), name="backlog"),
    path("requirements/<str:number>/", RequirementDetailView.as_view(), name="requirement-detail"),
]
