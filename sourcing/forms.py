"""Forms of the sourcing pages. They collect input; every rule is checked by
sourcing.services, whose refusals the views put next to the fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cmdb.filtersets import VendorFilterSet
from cmdb.models import Application, ITComponent, Vendor
from sourcing.filtersets import AssessmentFilterSet, ProcurementCaseFilterSet
from sourcing.models import LEVELS

NOT_APPLICABLE = "na"
UNANSWERED = ""

# --- filters ---------------------------------------------------------------------------------


class _PageFilterMixin:
    """The app's filterset with the parameters a page does not offer as fields (global-ID
    pickers, GraphQL ordering) left out: the page sorts by its own `sort` parameter, and the
    export applies the same parameter names."""

    hidden_filters: tuple[str, ...] = ()
    labels: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.hidden_filters:
            self.filters.pop(name, None)
        for name, label in self.labels.items():
            if name in self.filters:
                self.filters[name].label = label


class VendorPageFilterSet(_PageFilterMixin, VendorFilterSet):
    hidden_filters = ("parent", "order_by")
    labels = {
        "search": _("Name contains"),
        "country": _("Country (ISO code)"),
        "jurisdiction": _("Jurisdiction"),
    }

    class Meta(VendorFilterSet.Meta):
        pass


class AssessmentPageFilterSet(_PageFilterMixin, AssessmentFilterSet):
    hidden_filters = ("vendor", "component", "application", "catalogue", "order_by", "valid_on")
    labels = {"state": _("State"), "subject_kind": _("Subject kind"), "grade": _("Grade")}

    class Meta(AssessmentFilterSet.Meta):
        pass


class ProcurementCasePageFilterSet(_PageFilterMixin, ProcurementCaseFilterSet):
    hidden_filters = ("org_unit", "order_by")
    labels = {
        "search": _("Reference or title contains"),
        "state": _("State"),
        "protection_class": _("Protection class"),
    }

    class Meta(ProcurementCaseFilterSet.Meta):
        pass


# --- assessments -----------------------------------------------------------------------------


class StartAssessmentForm(forms.Form):
    """Choose what to assess: exactly one vendor, IT component or application (the service
    checks that exactly one is named)."""

    vendor = forms.ModelChoiceField(
        Vendor.objects.order_by("name"), required=False, label=_("Vendor")
    )
    component = forms.ModelChoiceField(
        ITComponent.objects.order_by("name", "version"), required=False, label=_("IT component")
    )
    application = forms.ModelChoiceField(
        Application.objects.order_by("name"), required=False, label=_("Application")
    )
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Comment")
    )


class VersionForm(forms.Form):
    """An action without input besides the version the user saw. Named `expected_version`
    like the services' argument, so that a service's conflict (on `version`) is shown above
    the form instead of on this hidden field."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)


def level_field_name(code: str) -> str:
    return f"level_{code}"


def evidence_field_name(code: str) -> str:
    return f"evidence_{code}"


class AnswersForm(VersionForm):
    """All criteria of an assessment, one after another: a level 0–4 (each with the
    catalogue's description), "not applicable" where the criterion does not apply to the
    subject, and the evidence."""

    def __init__(self, *args, criteria, answers, scopes, version, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        self.initial["expected_version"] = version
        for criterion in self.criteria:
            choices = [(UNANSWERED, _("Not answered yet"))]
            choices += [
                (str(level), f"{level} – {criterion.level_description(level)}") for level in LEVELS
            ]
            if not criterion.applies(scopes):
                choices.append((NOT_APPLICABLE, _("Not applicable to this subject")))
            level_name = level_field_name(criterion.code)
            self.fields[level_name] = forms.ChoiceField(
                choices=choices,
                required=False,
                widget=forms.RadioSelect,
                label=f"{criterion.code} {criterion.name}",
            )
            self.fields[evidence_field_name(criterion.code)] = forms.CharField(
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                label=_("Evidence for %(code)s") % {"code": criterion.code},
                help_text=", ".join(criterion.evidence_hints),
            )
            answer = answers.get(criterion.pk)
            if answer is not None:
                if answer.not_applicable:
                    self.initial[level_name] = NOT_APPLICABLE
                elif answer.level is not None:
                    self.initial[level_name] = str(answer.level)
                else:
                    self.initial[level_name] = UNANSWERED
                self.initial[evidence_field_name(criterion.code)] = answer.evidence

    def answers(self) -> dict[str, tuple[int | None, bool, str]]:
        """Criterion code → (level, not applicable, evidence) as entered, in catalogue order."""
        return {criterion.code: self.answer_for(criterion) for criterion in self.criteria}

    def answer_for(self, criterion) -> tuple[int | None, bool, str]:
        """(level, not applicable, evidence) as entered for one criterion."""
        raw = self.cleaned_data.get(level_field_name(criterion.code)) or UNANSWERED
        evidence = (self.cleaned_data.get(evidence_field_name(criterion.code)) or "").strip()
        if raw == NOT_APPLICABLE:
            return None, True, evidence
        if raw == UNANSWERED:
            return None, False, evidence
        return int(raw), False, evidence


class ApproveForm(VersionForm):
    valid_until = forms.DateField(
        required=False,
        label=_("Valid until"),
        help_text=_("Default: one year from today."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class ReturnForm(VersionForm):
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Why is it sent back?"),
    )


# --- procurement -----------------------------------------------------------------------------


class AwardForm(VersionForm):
    candidate = forms.TypedChoiceField(coerce=int, label=_("Candidate"))
    justification = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Justification")
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].choices = [(c.pk, str(c)) for c in candidates]


class CancelCaseForm(VersionForm):
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason")
    )
