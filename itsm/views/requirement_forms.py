"""Forms of the requirement pages. They collect input only; itsm.services.requirements decides
(its refusals are put next to the fields by landkarte.pages.apply_service_errors)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from graphql_relay import to_global_id

from cmdb.filtersets import org_unit_subtree_q
from cmdb.models import Application, OrgUnit
from itsm.models import Requirement
from itsm.requirement_choices import WSJF_SCALE, RequirementKind
from itsm.services.requirements import is_reviewer, user_org_unit_ids

WSJF_CHOICES = [("", "—"), *((str(step), str(step)) for step in WSJF_SCALE)]
WSJF_HELP = {
    "business_value": _("How much the office and the citizens gain."),
    "time_criticality": _("How fast the value decays; legal deadlines count here."),
    "risk_reduction": _("Risk it removes or opportunities it enables."),
    "job_size": _("Relative effort: 1 is tiny, 20 is very large."),
}


class OrgUnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


def _wsjf_field(name: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=Requirement._meta.get_field(name).verbose_name.capitalize(),
        choices=WSJF_CHOICES,
        coerce=int,
        help_text=WSJF_HELP[name],
    )


class RequirementSubmitForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—"), *RequirementKind.choices])
    requesting_org_unit = OrgUnitChoiceField(
        label=_("Requesting org unit"), queryset=OrgUnit.objects.none()
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What is needed, for whom, and what happens without it."),
    )  # fmt: skip
    applications = forms.ModelMultipleChoiceField(
        label=_("Affected applications"),
        queryset=Application.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    business_value = _wsjf_field("business_value")
    time_criticality = _wsjf_field("time_criticality")
    risk_reduction = _wsjf_field("risk_reduction")
    job_size = _wsjf_field("job_size")
    legal_basis = forms.CharField(
        label=_("Legal basis"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required for a legal obligation: the law or regulation."),
    )  # fmt: skip
    due_date = forms.DateField(
        label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        units = OrgUnit.objects.order_by("tree_id", "lft")
        if not is_reviewer(user):
            # The offices the requester speaks for; the service checks it again.
            units = units.filter(org_unit_subtree_q(user_org_unit_ids(user), ""))
        self.fields["requesting_org_unit"].queryset = units
        if not self.is_bound:
            first = units.filter(pk__in=user_org_unit_ids(user)).first()
            if first is not None:
                self.initial.setdefault("requesting_org_unit", first.pk)


# --- review actions --------------------------------------------------------------------------


class ActionForm(forms.Form):
    """One step on the detail page (prefixed with the step's name, so that several fit on one
    page): the version the user saw, and a reason or note where the service takes one."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, text_field=None, text_label="", **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.text_field = text_field
        if text_field:
            # Whether the text is needed is the service's decision (its refusal lands here).
            self.fields[text_field] = forms.CharField(
                label=text_label, required=False, widget=forms.Textarea(attrs={"rows": 2})
            )


# --- filters ---------------------------------------------------------------------------------


class SelectAsList(forms.Select):
    """A single select for a multiple-choice filter (one value is what people pick; a URL
    may still carry several)."""

    def value_from_datadict(self, data, files, name):
        getter = getattr(data, "getlist", None)
        values = getter(name) if getter else [data.get(name)]
        return [value for value in values if value]


def shape_filter_form(form) -> None:
    """RequirementFilterSet's form as the pages show it: the org unit as a select of units
    (values are the API's global IDs), single selects, a date picker; applications and the
    API's order_by left to URLs (the pages sort by column)."""
    for name in ("application", "order_by"):
        form.fields.pop(name, None)
    for name in ("state", "kind"):
        field = form.fields.get(name)
        if field is not None:
            field.widget = SelectAsList(choices=[("", _("any")), *field.choices])
            field.label = Requirement._meta.get_field(name).verbose_name.capitalize()
    org_unit = form.fields.get("org_unit")
    if org_unit is not None:
        units = OrgUnit.objects.order_by("tree_id", "lft").values_list(
            "pk", "code", "name", "level"
        )
        org_unit.label = _("Org unit (with the units below it)")
        org_unit.widget = SelectAsList(
            choices=[("", _("any"))]
            + [
                (to_global_id("OrgUnitType", pk), "\u2003" * level + f"{code} {name}")
                for pk, code, name, level in units
            ]
        )
    if "due_before" in form.fields:
        form.fields["due_before"].widget = forms.DateInput(attrs={"type": "date"})
        form.fields["due_before"].label = _("Due before")
    if "search" in form.fields:
        form.fields["search"].label = _("Search")
        form.fields["search"].widget.input_type = "search"
