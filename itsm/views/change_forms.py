"""The forms of the change pages: one per workflow step, named like the service arguments so
that a service refusal lands next to the field it names. Every form carries the version of the
change the user saw (`expected_version`), so that a stale form is refused as a conflict."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from itsm.choices import ChangeOutcome, ChangeType
from itsm.services import changes as change_services


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class ChangeActionForm(forms.Form):
    """A step without inputs of its own."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    title = ""
    button = _("Confirm")
    done = _("Done.")
    danger = False

    def service_arguments(self) -> dict:
        return {
            name: value for name, value in self.cleaned_data.items() if name != "expected_version"
        }


class SubmitForm(ChangeActionForm):
    title = _("Submit for assessment")
    button = _("Submit for assessment")
    done = _("Submitted for assessment.")


class AssessForm(ChangeActionForm):
    title = _("Assess the risk")
    button = _("Assess risk")
    done = _("Risk assessed.")


class RequestAuthorizationForm(ChangeActionForm):
    title = _("Request authorization")
    button = _("Request authorization")
    done = _("Authorization requested.")
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when a scheduled change goes back to its approvers."),
    )


def slot_value(slot) -> str:
    return f"team:{slot.team.pk}" if slot.team is not None else f"role:{slot.role}"


class DecisionForm(ChangeActionForm):
    """Approve or reject for one of the requirements the user may decide."""

    # A plain text value checked by the service (role:… or team:…), so that a refusal comes
    # from the rules (four eyes, not an approver) rather than from the form's choices.
    slot = forms.CharField(label=_("Decide as"), required=False, widget=forms.Select)
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    title = _("Approve")
    button = _("Approve")

    def __init__(self, *args, slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        slots = list(slots)
        self.fields["slot"].widget.choices = [(slot_value(slot), slot.label) for slot in slots]
        if len(slots) <= 1:
            self.fields["slot"].widget = forms.HiddenInput()
            if slots:
                self.fields["slot"].initial = slot_value(slots[0])

    def service_arguments(self) -> dict:
        value = self.cleaned_data.get("slot") or ""
        kind, _sep, key = value.partition(":")
        return {
            "role": key if kind == "role" else None,
            "team": int(key) if kind == "team" and key.isdigit() else None,
            "comment": self.cleaned_data.get("comment", ""),
        }


class ApproveForm(DecisionForm):
    title = _("Approve")
    button = _("Approve")
    done = _("Approved.")


class RejectForm(DecisionForm):
    title = _("Reject")
    button = _("Reject")
    done = _("Rejected.")
    danger = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["comment"].help_text = _("Say why the change is rejected.")


class ScheduleForm(ChangeActionForm):
    title = _("Schedule")
    button = _("Schedule")
    done = _("Scheduled.")
    planned_start = forms.DateTimeField(
        label=_("Planned start"), required=False, widget=DateTimeLocalInput()
    )
    planned_end = forms.DateTimeField(
        label=_("Planned end"), required=False, widget=DateTimeLocalInput()
    )
    freeze_override_reason = forms.CharField(
        label=_("Freeze window override reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Emergency changes only: why the change cannot wait for the freeze."),
    )

    def __init__(self, *args, change=None, **kwargs):
        super().__init__(*args, **kwargs)
        if change is not None and change.change_type != ChangeType.EMERGENCY:
            del self.fields["freeze_override_reason"]

    def service_arguments(self) -> dict:
        arguments = super().service_arguments()
        if "freeze_override_reason" in arguments and not arguments["freeze_override_reason"]:
            arguments["freeze_override_reason"] = None
        return arguments


class StartForm(ChangeActionForm):
    title = _("Start implementation")
    button = _("Start implementation")
    done = _("Implementation started.")


class CompleteForm(ChangeActionForm):
    title = _("Record the outcome")
    button = _("Record outcome")
    done = _("Outcome recorded.")
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "—"), *ChangeOutcome.choices], required=False
    )
    notes = forms.CharField(
        label=_("Implementation notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(ChangeActionForm):
    title = _("Close after review")
    button = _("Close")
    done = _("Closed.")
    review_notes = forms.CharField(
        label=_("Post-implementation review"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CancelForm(ChangeActionForm):
    title = _("Cancel the change")
    button = _("Cancel change")
    done = _("Cancelled.")
    danger = True
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


# action name → (form class, service function)
ACTIONS = {
    change_services.ACTION_SUBMIT: (SubmitForm, change_services.submit_for_assessment),
    change_services.ACTION_ASSESS: (AssessForm, change_services.assess_change),
    change_services.ACTION_REQUEST_AUTHORIZATION: (
        RequestAuthorizationForm,
        change_services.request_authorization,
    ),
    change_services.ACTION_APPROVE: (ApproveForm, change_services.approve_change),
    change_services.ACTION_REJECT: (RejectForm, change_services.reject_change),
    change_services.ACTION_SCHEDULE: (ScheduleForm, change_services.schedule_change),
    change_services.ACTION_START: (StartForm, change_services.start_implementation),
    change_services.ACTION_COMPLETE: (CompleteForm, change_services.complete_implementation),
    change_services.ACTION_CLOSE: (CloseForm, change_services.close_change),
    change_services.ACTION_CANCEL: (CancelForm, change_services.cancel_change),
}


def make_form(action: str, change, *, data=None, slots=(), prefix=None):
    """The form of one step for one change, unbound (initial values from the change) or bound
    to the posted data."""
    form_class, _service = ACTIONS[action]
    kwargs = {"prefix": prefix or action}
    if issubclass(form_class, DecisionForm):
        kwargs["slots"] = slots
    if form_class is ScheduleForm:
        kwargs["change"] = change
    if data is None:
        initial = {"expected_version": change.version}
        if form_class is ScheduleForm:
            initial.update(
                planned_start=change.planned_start,
                planned_end=change.planned_end,
                freeze_override_reason=change.freeze_override_reason,
            )
        kwargs["initial"] = initial
    else:
        kwargs["data"] = data
    return form_class(**kwargs)
