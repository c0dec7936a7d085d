"""Forms of the architecture pages: they read the request; the services answer."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.utils.translation import gettext_lazy as _

from architecture.governance import RULES, SEVERITIES
from cmdb.choices import Criticality, Hosting, LifecyclePhase
from cmdb.filtersets import ApplicationFilterSet
from cmdb.models import Application, ApplicationComponent, ITComponent, OrgUnit, Team, Vendor

DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


class ApplicationPageFilterSet(ApplicationFilterSet):
    """cmdb's ApplicationFilterSet with the same parameter names, but plain choices for the
    page (primary keys instead of Relay IDs, which the exports accept as well). The component
    filter also works on applications as recorded in history."""

    org_unit = filters.ModelChoiceFilter(
        queryset=OrgUnit.objects.order_by("tree_id", "lft"),
        method="filter_org_unit_pk",
        label=_("Owned in org unit (or below)"),
    )
    owner_team = filters.ModelChoiceFilter(
        queryset=Team.objects.order_by("name"), field_name="owner_team", label=_("Owning team")
    )
    vendor = filters.ModelChoiceFilter(
        queryset=Vendor.objects.order_by("name"), field_name="vendor", label=_("Vendor")
    )
    criticality = filters.ChoiceFilter(choices=Criticality.choices, label=_("Criticality"))
    hosting = filters.ChoiceFilter(choices=Hosting.choices, label=_("Hosting"))
    lifecycle_phase = filters.ChoiceFilter(
        choices=LifecyclePhase.choices,
        method="filter_lifecycle_phase_one",
        label=_("Lifecycle phase"),
    )
    uses_component = filters.ModelChoiceFilter(
        queryset=ITComponent.objects.order_by("name", "version"),
        method="filter_uses_component",
        label=_("Uses component"),
    )
    as_of = filters.DateFilter(method="filter_as_of", label=_("As of"), widget=DATE_WIDGET)

    # Shown on the page, in this order; the others still work as URL parameters.
    PAGE_FIELDS = (
        "search",
        "org_unit",
        "vendor",
        "criticality",
        "hosting",
        "lifecycle_phase",
        "as_of",
    )

    def filter_org_unit_pk(self, queryset, name, value):
        if not value:
            return queryset
        return self.filter_org_unit(queryset, name, [str(value.pk)])

    def filter_lifecycle_phase_one(self, queryset, name, value):
        if not value:
            return queryset
        # The phase on the "as of" date when one is given.
        if not self.form.cleaned_data.get("lifecycle_date"):
            self.form.cleaned_data["lifecycle_date"] = self.form.cleaned_data.get("as_of")
        return self.filter_lifecycle_phase(queryset, name, [value])

    def filter_uses_component(self, queryset, name, value):
        if not value:
            return queryset
        users = ApplicationComponent.objects.filter(component=value).values("application_id")
        return queryset.filter(id__in=users)

    @property
    def page_form_fields(self):
        return [self.form[name] for name in self.PAGE_FIELDS]


def _severity_choices():
    return [("", _("any"))] + [(name, name) for name in SEVERITIES]


class FindingsFilterForm(forms.Form):
    severity = forms.ChoiceField(
        label=_("Severity at least"), required=False, choices=_severity_choices
    )
    only_this_severity = forms.BooleanField(label=_("Only this severity"), required=False)
    rule = forms.ChoiceField(label=_("Rule"), required=False)
    org_unit = forms.ModelChoiceField(
        label=_("Org unit (or below)"),
        required=False,
        queryset=OrgUnit.objects.order_by("tree_id", "lft"),
    )
    application = forms.ModelChoiceField(
        label=_("Application"), required=False, queryset=Application.objects.order_by("name")
    )
    as_of = forms.DateField(label=_("As of"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", _("any"))] + [(code, code) for code in RULES]


class ImpactForm(forms.Form):
    """Exactly one of vendor, component or application; a depth and an "as of" date."""

    vendor = forms.ModelChoiceField(
        label=_("Vendor"),
        required=False,
        queryset=Vendor.objects.order_by("name"),
        help_text=_("Its whole group is included (parent and subsidiaries)."),
    )
    component = forms.ModelChoiceField(
        label=_("IT component"),
        required=False,
        queryset=ITComponent.objects.order_by("name", "version"),
    )
    application = forms.ModelChoiceField(
        label=_("Application"), required=False, queryset=Application.objects.order_by("name")
    )
    depth = forms.IntegerField(
        label=_("Depth"),
        required=False,
        min_value=0,
        max_value=20,
        help_text=_("Levels of dependents to follow; empty: all."),
    )
    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("Only applications and interfaces alive on this date."),
    )

    def clean(self):
        cleaned = super().clean()
        given = [name for name in ("vendor", "component", "application") if cleaned.get(name)]
        if len(given) != 1:
            raise forms.ValidationError(
                _("Choose exactly one of vendor, IT component or application."), code="subject"
            )
        cleaned["subject_name"] = given[0]
        return cleaned


DEPTH_CHOICES = [(1, "1"), (2, "2"), (3, "3")]


class NeighbourhoodForm(forms.Form):
    depth = forms.TypedChoiceField(
        label=_("Depth"), choices=DEPTH_CHOICES, coerce=int, required=False, initial=1
    )
    as_of = forms.DateField(label=_("As of"), required=False, widget=DATE_WIDGET)


class DateForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), required=False, widget=DATE_WIDGET)


class CapabilityMapForm(DateForm):
    COLOUR_TIME = "time"
    COLOUR_GRADE = "grade"
    colour = forms.ChoiceField(
        label=_("Colour by"),
        required=False,
        choices=[(COLOUR_TIME, _("TIME class")), (COLOUR_GRADE, _("Sovereignty grade"))],
        widget=forms.RadioSelect,
        initial=COLOUR_TIME,
    )
