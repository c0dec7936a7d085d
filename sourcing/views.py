"""The sourcing pages: vendors, sovereignty assessments (the answer form and the scorecard),
procurement cases with their ranked candidates, and the landscape risk. Every write calls the
same sourcing.services function as the GraphQL mutation; the pages only collect input and
show the services' refusals next to it."""

from __future__ import annotations

import time

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cmdb.choices import ProtectionNeed
from cmdb.models import Application, ApplicationComponent, ITComponent, OrgUnit, Vendor
from landkarte.pages import (
    EVERY_STAFF,
    FilteredListPage,
    Page,
    apply_service_errors,
    service_errors,
)
from landkarte.roles import PROCUREMENT, has_role
from sourcing import forms as sf
from sourcing.models import Assessment
from sourcing.procurement_models import ProcurementCandidate, ProcurementCase
from sourcing.services import assessments as assessment_service
from sourcing.services import landscape
from sourcing.services import procurement as procurement_service
from sourcing.services.scoring import (
    criterion_order,
    current_assessments,
    pick_current,
    scorable_assessments,
    score_assessment,
)


def _count(model, field_name: str, **conditions):
    """A correlated COUNT(*) of `model` rows pointing at the outer row through `field_name`
    (a subquery, so that two counts do not multiply each other's rows)."""
    rows = (
        model.objects.filter(**{field_name: OuterRef("pk")}, **conditions)
        .order_by()
        .values(field_name)
        .annotate(n=Count("pk", distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(rows), 0)


def _protection_label(value: str) -> str:
    try:
        return ProtectionNeed(value).label
    except ValueError:
        return value


def _refuse(form, exc) -> None:
    """A service refusal on the form: field errors next to the fields, a permission refusal
    above the form."""
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc) or _("You are not allowed to do this."))
    else:
        apply_service_errors(form, exc)


# --- vendors ---------------------------------------------------------------------------------


class VendorListView(FilteredListPage):
    roles = EVERY_STAFF
    model = Vendor
    filterset_class = sf.VendorPageFilterSet
    template_name = "sourcing/vendor_list.html"
    partial_template_name = "sourcing/_vendor_table.html"
    title = gettext_lazy("Vendors")
    export_name = "vendors"
    default_sort = "name"
    sort_fields = {
        "name": ("name",),
        "country": ("country", "name"),
        "jurisdiction": ("jurisdiction", "name"),
        "applications": ("application_count", "name"),
        "components": ("component_count", "name"),
    }

    def base_queryset(self):
        return Vendor.objects.select_related("parent", "ultimate_parent").annotate(
            application_count=_count(Application, "vendor"),
            component_count=_count(ITComponent, "vendor"),
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        vendors = list(context["object_list"])
        current = current_assessments("vendor", [vendor.pk for vendor in vendors])
        for vendor in vendors:
            assessment = current.get(vendor.pk)
            vendor.current_assessment = assessment
            vendor.current_result = score_assessment(assessment) if assessment else None
        context.update(vendors=vendors, partial_target="#vendor-table")
        return context


class VendorDetailView(Page):
    roles = EVERY_STAFF
    template_name = "sourcing/vendor_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        vendor = get_object_or_404(
            Vendor.objects.select_related("parent", "ultimate_parent"), pk=kwargs["pk"]
        )
        subsidiaries = list(
            vendor.subsidiaries.annotate(application_count=_count(Application, "vendor")).order_by(
                "name"
            )
        )
        assessments = list(
            scorable_assessments(
                vendor.sovereignty_assessments.select_related("assessor", "approved_by")
            ).order_by("-created", "-pk")
        )
        for assessment in assessments:
            assessment.result = score_assessment(assessment)
        current = pick_current(assessments)
        components = list(
            vendor.components.annotate(
                application_count=Count("uses__application", distinct=True)
            ).order_by("name", "version")
        )
        uses = ApplicationComponent.objects.filter(component__vendor=vendor).select_related(
            "component"
        )
        applications = list(
            Application.objects.filter(
                Q(vendor=vendor) | Q(component_uses__component__vendor=vendor)
            )
            .distinct()
            .select_related("owner_org_unit")
            .prefetch_related(Prefetch("component_uses", queryset=uses, to_attr="vendor_uses"))
            .order_by("name", "pk")
        )
        direct_count = 0
        for application in applications:
            application.is_direct = application.vendor_id == vendor.pk
            direct_count += application.is_direct
            application.via_components = sorted(
                {str(use.component) for use in application.vendor_uses}
            )
        context.update(
            vendor=vendor,
            title=str(vendor),
            group_top=vendor.group,
            subsidiaries=subsidiaries,
            assessments=assessments,
            current=current,
            components=components,
            applications=applications,
            direct_count=direct_count,
            via_component_count=sum(1 for app in applications if app.via_components),
            can_assess=has_role(self.request.user, PROCUREMENT),
        )
        return context


# --- assessments -----------------------------------------------------------------------------


class AssessmentListView(FilteredListPage):
    roles = EVERY_STAFF
    model = Assessment
    filterset_class = sf.AssessmentPageFilterSet
    template_name = "sourcing/assessment_list.html"
    partial_template_name = "sourcing/_assessment_table.html"
    title = gettext_lazy("Sovereignty assessments")
    export_name = "assessments"
    default_sort = "-created"
    sort_fields = {
        "created": ("created",),
        "state": ("state",),
        "valid_until": ("valid_until",),
        "subject": ("vendor__name", "component__name", "application__name"),
    }

    def base_queryset(self):
        return scorable_assessments(
            Assessment.objects.select_related("vendor", "component", "application", "assessor")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = list(context["object_list"])
        for assessment in rows:
            assessment.result = score_assessment(assessment)
        context.update(assessments=rows, partial_target="#assessment-table")
        return context


class AssessmentStartView(Page):
    """Choose a vendor, IT component or application and start a draft assessment."""

    roles = (PROCUREMENT,)
    template_name = "sourcing/assessment_start.html"
    title = gettext_lazy("New sovereignty assessment")

    def get(self, request, *args, **kwargs):
        initial = {
            name: request.GET[name]
            for name in ("vendor", "component", "application")
            if request.GET.get(name, "").isdigit()
        }
        return self.render_to_response(
            self.get_context_data(form=sf.StartAssessmentForm(initial=initial))
        )

    def post(self, request, *args, **kwargs):
        form = sf.StartAssessmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            subjects = {
                name: data[name]
                for name in ("vendor", "component", "application")
                if data.get(name) is not None
            }
            try:
                assessment = assessment_service.start_assessment(
                    user=request.user, comment=data.get("comment") or "", **subjects
                )
            except (ValidationError, PermissionDenied) as exc:
                _refuse(form, exc)
            else:
                messages.success(
                    request,
                    _("Assessment of %(subject)s started as a draft.")
                    % {"subject": assessment.subject},
                )
                return redirect("sourcing:assessment-edit", pk=assessment.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _load_assessment(pk) -> Assessment:
    return get_object_or_404(
        scorable_assessments(
            Assessment.objects.select_related(
                "vendor",
                "component",
                "application",
                "assessor",
                "approved_by",
                "previous",
            )
        ),
        pk=pk,
    )


def _knockout_minima(catalogue) -> dict[str, list[tuple[str, int]]]:
    """Criterion code → [(protection class label, minimum level), ...]."""
    minima: dict[str, list[tuple[str, int]]] = {}
    for protection_class, profile in catalogue.profiles.items():
        for code, minimum in profile.items():
            minima.setdefault(code, []).append((_protection_label(protection_class), minimum))
    return minima


def _groups(catalogue, items, key):
    """Items grouped by criteria group in catalogue order: [(code, title, [items])]."""
    grouped: dict[str, list] = {}
    for item in items:
        grouped.setdefault(key(item).group, []).append(item)
    return [
        (code, catalogue.groups.get(code, code), grouped[code])
        for code in grouped  # items arrive in catalogue order
    ]


class AssessmentEditView(Page):
    """The assessment form: every criterion one after another, grouped by criteria group,
    with its question, its level descriptions and the evidence."""

    roles = (PROCUREMENT,)
    template_name = "sourcing/assessment_form.html"

    def load(self):
        self.assessment = _load_assessment(self.kwargs["pk"])
        answers = list(self.assessment.answers.all())
        self.answers = {answer.criterion_id: answer for answer in answers}
        self.criteria = sorted(
            self.assessment.catalogue.criteria.all(),
            key=lambda criterion: criterion_order(criterion),
        )

    def make_form(self, data=None):
        return sf.AnswersForm(
            data,
            criteria=self.criteria,
            answers=self.answers,
            scopes=self.assessment.scopes(),
            version=self.assessment.version,
        )

    def editable(self) -> bool:
        allowed = assessment_service.allowed_assessment_actions(self.assessment, self.request.user)
        return assessment_service.ACTION_ANSWER in allowed

    def get(self, request, *args, **kwargs):
        self.load()
        if not self.editable():
            messages.info(
                request,
                _("This assessment is %(state)s; its answers can no longer be changed.")
                % {"state": self.assessment.get_state_display()},
            )
            return redirect("sourcing:assessment-detail", pk=self.assessment.pk)
        return self.render_to_response(self.get_context_data(form=self.make_form()))

    def post(self, request, *args, **kwargs):
        self.load()
        form = self.make_form(request.POST)
        submit = request.POST.get("action") == "submit"
        if form.is_valid():
            try:
                assessment_service.answer_criteria(
                    self.assessment,
                    user=request.user,
                    answers=form.answers(),
                    expected_version=form.cleaned_data["expected_version"],
                    submit=submit,
                )
            except PermissionDenied as exc:
                _refuse(form, exc)
            except ValidationError as exc:
                self.show_refusal(form, exc)
            else:
                if submit:
                    messages.success(request, _("Assessment submitted for approval."))
                    return redirect("sourcing:assessment-detail", pk=self.assessment.pk)
                messages.success(request, _("Draft saved."))
                return redirect("sourcing:assessment-edit", pk=self.assessment.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def show_refusal(self, form, exc: ValidationError) -> None:
        """A refused answer next to its criterion; unanswered knock-outs of a refused
        submission marked at theirs; everything else above the form."""
        for field, errors in exc.error_dict.items():
            criterion_field = sf.level_field_name(field)
            for error in errors:
                if criterion_field in form.fields:
                    form.add_error(criterion_field, error.messages)
                    continue
                if field == "answers" and error.code == "unanswered":
                    for code in str((error.params or {}).get("codes", "")).split(", "):
                        name = sf.level_field_name(code)
                        if name in form.fields:
                            form.add_error(
                                name, _("Answer this knock-out criterion before submitting.")
                            )
                form.add_error(None, error.messages)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = kwargs["form"]
        assessment = self.assessment
        minima = _knockout_minima(assessment.catalogue)
        scopes = assessment.scopes()
        items = []
        for criterion in self.criteria:
            level = form[sf.level_field_name(criterion.code)]
            items.append(
                {
                    "criterion": criterion,
                    "level": level,
                    "evidence": form[sf.evidence_field_name(criterion.code)],
                    "knockouts": minima.get(criterion.code, []),
                    # Criteria that do not apply to the subject stay folded away unless
                    # someone answers them anyway.
                    "folded": not criterion.applies(scopes)
                    and level.value() == sf.NOT_APPLICABLE
                    and not level.errors,
                }
            )
        stored = list(self.answers.values())
        applicable = [answer for answer in stored if not answer.not_applicable]
        answered = sum(1 for answer in applicable if answer.level is not None)
        context.update(
            assessment=assessment,
            title=_("Assess %(subject)s") % {"subject": assessment.subject},
            groups=_groups(assessment.catalogue, items, key=lambda item: item["criterion"]),
            answered=answered,
            applicable=len(applicable),
            not_applicable=len(stored) - len(applicable),
            open_knockouts=assessment_service.unanswered_knockouts(assessment),
        )
        return context


class AssessmentDetailView(Page):
    """The scorecard: score, grade, floor level, failed knock-outs per protection class, a
    chart per criteria group, and the approval step for a second procurement user."""

    roles = EVERY_STAFF
    template_name = "sourcing/assessment_detail.html"

    def load(self):
        self.assessment = _load_assessment(self.kwargs["pk"])
        self.allowed = assessment_service.allowed_assessment_actions(
            self.assessment, self.request.user
        )

    def get(self, request, *args, **kwargs):
        self.load()
        return self.render_to_response(self.get_context_data())

    def post(self, request, *args, **kwargs):
        self.load()
        action = request.POST.get("action")
        assessment = self.assessment
        forms = {}
        if action not in self.allowed or action == assessment_service.ACTION_ANSWER:
            messages.error(request, _("This step is not possible for this assessment now."))
            return redirect("sourcing:assessment-detail", pk=assessment.pk)
        if action == assessment_service.ACTION_SUBMIT:
            return redirect("sourcing:assessment-edit", pk=assessment.pk)
        form_class = {
            assessment_service.ACTION_APPROVE: sf.ApproveForm,
            assessment_service.ACTION_RETURN: sf.ReturnForm,
            assessment_service.ACTION_REASSESS: sf.VersionForm,
        }[action]
        form = form_class(request.POST, prefix=action)
        forms[action] = form
        if form.is_valid():
            data = form.cleaned_data
            try:
                if action == assessment_service.ACTION_APPROVE:
                    assessment_service.approve_assessment(
                        assessment,
                        user=request.user,
                        valid_until=data.get("valid_until"),
                        expected_version=data["expected_version"],
                    )
                    messages.success(request, _("Assessment approved."))
                elif action == assessment_service.ACTION_RETURN:
                    assessment_service.return_assessment(
                        assessment,
                        user=request.user,
                        reason=data.get("reason") or "",
                        expected_version=data["expected_version"],
                    )
                    messages.success(request, _("Assessment sent back to the assessor."))
                else:
                    new = assessment_service.reassess(
                        assessment, user=request.user, expected_version=data["expected_version"]
                    )
                    messages.success(request, _("Re-assessment started as a draft."))
                    return redirect("sourcing:assessment-edit", pk=new.pk)
            except (ValidationError, PermissionDenied) as exc:
                _refuse(form, exc)
            else:
                return redirect("sourcing:assessment-detail", pk=assessment.pk)
        return self.render_to_response(self.get_context_data(forms=forms), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        assessment = self.assessment
        catalogue = assessment.catalogue
        result = score_assessment(assessment)
        per_class = [
            {
                "value": protection_class,
                "label": _protection_label(protection_class),
                "result": score_assessment(assessment, protection_class),
            }
            for protection_class in catalogue.protection_classes
        ]
        answers = sorted(assessment.answers.all(), key=lambda a: criterion_order(a.criterion))
        for answer in answers:
            answer.level_text = (
                answer.criterion.level_description(answer.level) if answer.level is not None else ""
            )
        groups = []
        for code, group_title, group_answers in _groups(
            catalogue, answers, key=lambda answer: answer.criterion
        ):
            applicable = [answer for answer in group_answers if not answer.not_applicable]
            groups.append(
                {
                    "code": code,
                    "title": group_title,
                    "score": result.group_scores.get(code),
                    "answers": group_answers,
                    "chart": [
                        (f"{answer.criterion.code} {answer.criterion.name}", answer.level or 0)
                        for answer in applicable
                    ],
                }
            )
        forms = kwargs.get("forms") or {}
        version = {"expected_version": assessment.version}
        context.update(
            assessment=assessment,
            title=_("Scorecard: %(subject)s") % {"subject": assessment.subject},
            result=result,
            per_class=per_class,
            groups=groups,
            group_chart=[(group["title"], group["score"]) for group in groups],
            allowed=self.allowed,
            approve_form=forms.get("approve") or sf.ApproveForm(initial=version, prefix="approve"),
            return_form=forms.get("return") or sf.ReturnForm(initial=version, prefix="return"),
            reassess_form=forms.get("reassess")
            or sf.VersionForm(initial=version, prefix="reassess"),
            # A procurement user who may send it back but not approve it is its assessor.
            needs_second_user=(
                assessment_service.ACTION_RETURN in self.allowed
                and assessment_service.ACTION_APPROVE not in self.allowed
            ),
        )
        return context


# --- procurement cases -----------------------------------------------------------------------


class CaseListView(FilteredListPage):
    roles = EVERY_STAFF
    model = ProcurementCase
    filterset_class = sf.ProcurementCasePageFilterSet
    template_name = "sourcing/case_list.html"
    partial_template_name = "sourcing/_case_table.html"
    title = gettext_lazy("Procurement cases")
    export_name = "procurement_cases"
    default_sort = "-created"
    sort_fields = {
        "reference": ("reference",),
        "title": ("title",),
        "state": ("state",),
        "created": ("created",),
    }

    def base_queryset(self):
        return ProcurementCase.objects.select_related(
            "org_unit", "awarded_candidate__vendor", "awarded_candidate__component"
        ).annotate(candidate_count=_count(ProcurementCandidate, "case"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["partial_target"] = "#case-table"
        return context


class CaseDetailView(Page):
    """A procurement case with its candidates ranked by the catalogue's decision rule, and
    the steps the procurement role may take now (publish, start evaluation, award, cancel)."""

    roles = EVERY_STAFF
    template_name = "sourcing/case_detail.html"

    def load(self):
        self.case = get_object_or_404(
            ProcurementCase.objects.select_related(
                "org_unit",
                "requirement",
                "catalogue",
                "awarded_candidate__vendor",
                "awarded_candidate__component",
            ),
            pk=self.kwargs["pk"],
        )
        self.allowed = procurement_service.allowed_case_actions(self.case, self.request.user)

    def candidates(self):
        return list(self.case.candidates.select_related("vendor", "component").order_by("pk"))

    def get(self, request, *args, **kwargs):
        self.load()
        return self.render_to_response(self.get_context_data())

    def post(self, request, *args, **kwargs):
        self.load()
        case = self.case
        action = request.POST.get("action")
        if action not in self.allowed:
            messages.error(request, _("This step is not possible for this procurement case now."))
            return redirect("sourcing:case-detail", pk=case.pk)
        if action == procurement_service.ACTION_AWARD:
            form = sf.AwardForm(request.POST, prefix="award", candidates=self.candidates())
        elif action == procurement_service.ACTION_CANCEL:
            form = sf.CancelCaseForm(request.POST, prefix="cancel")
        else:
            form = sf.VersionForm(request.POST, prefix=action)
        if form.is_valid():
            data = form.cleaned_data
            user, version = request.user, data["expected_version"]
            try:
                if action == procurement_service.ACTION_PUBLISH:
                    procurement_service.publish_case(case, user=user, expected_version=version)
                    messages.success(request, _("Procurement case published."))
                elif action == procurement_service.ACTION_EVALUATE:
                    procurement_service.start_evaluation(case, user=user, expected_version=version)
                    messages.success(request, _("Evaluation started."))
                elif action == procurement_service.ACTION_AWARD:
                    candidate = case.candidates.get(pk=data["candidate"])
                    procurement_service.award_case(
                        case,
                        user=user,
                        candidate=candidate,
                        justification=data.get("justification") or "",
                        expected_version=version,
                    )
                    messages.success(
                        request, _("Awarded to %(candidate)s.") % {"candidate": candidate}
                    )
                else:
                    procurement_service.cancel_case(
                        case, user=user, reason=data.get("reason") or "", expected_version=version
                    )
                    messages.success(request, _("Procurement case cancelled."))
            except (ValidationError, PermissionDenied) as exc:
                _refuse(form, exc)
            else:
                return redirect("sourcing:case-detail", pk=case.pk)
        return self.render_to_response(self.get_context_data(forms={action: form}), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        case = self.case
        ranking, ranking_error = [], None
        try:
            ranking = procurement_service.evaluate_case(case)
        except ValidationError as exc:
            ranking_error = " ".join(service_errors(exc))
        forms = kwargs.get("forms") or {}
        version = {"expected_version": case.version}
        candidates = [row.candidate for row in ranking] or self.candidates()
        eligible = [row.candidate for row in ranking if row.eligible]
        award_initial = dict(version)
        if eligible:
            award_initial["candidate"] = eligible[0].pk
        context.update(
            case=case,
            title=str(case),
            ranking=ranking,
            ranking_error=ranking_error,
            allowed=self.allowed,
            award_form=forms.get("award")
            or sf.AwardForm(initial=award_initial, prefix="award", candidates=candidates),
            cancel_form=forms.get("cancel") or sf.CancelCaseForm(initial=version, prefix="cancel"),
            publish_form=forms.get("publish") or sf.VersionForm(initial=version, prefix="publish"),
            evaluate_form=forms.get("evaluate")
            or sf.VersionForm(initial=version, prefix="evaluate"),
        )
        return context


# --- landscape risk --------------------------------------------------------------------------


def _percent(ratio: float | None) -> float | None:
    return None if ratio is None else 100 * ratio


def _risk_org_units():
    return list(OrgUnit.objects.filter(level__lte=1).order_by("tree_id", "lft"))


def _selected_org_unit(request, units):
    value = request.GET.get("org_unit", "")
    return next((unit for unit in units if str(unit.pk) == value), None)


class RiskView(Page):
    """The page shell; the figures (about two seconds to compute on the demo city) arrive
    through htmx from RiskFiguresView."""

    roles = EVERY_STAFF
    template_name = "sourcing/risk.html"
    title = gettext_lazy("Landscape sovereignty risk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        units = _risk_org_units()
        context.update(
            org_units=units,
            selected=_selected_org_unit(self.request, units),
            compare=self.request.GET.get("compare") == "1",
            figures_url=reverse("sourcing:risk-figures")
            + ("?" + self.request.GET.urlencode() if self.request.GET else ""),
        )
        return context


class RiskFiguresView(Page):
    roles = EVERY_STAFF
    template_name = "sourcing/_risk_figures.html"
    title = gettext_lazy("Landscape sovereignty risk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        units = _risk_org_units()
        selected = _selected_org_unit(self.request, units)
        standalone = self.request.headers.get("HX-Request") != "true"
        started = time.perf_counter()
        if self.request.GET.get("compare") == "1":
            risk, by_unit = landscape.sovereignty_risk_with_org_units(org_unit=selected, level=1)
        else:
            risk, by_unit = landscape.sovereignty_risk(org_unit=selected), []
        context.update(
            risk=risk,
            selected=selected,
            by_unit=by_unit,
            seconds=time.perf_counter() - started,
            vendor_rows=[(share, 100 * share.share) for share in risk.vendor_shares],
            jurisdiction_rows=[(share, 100 * share.share) for share in risk.jurisdiction_shares],
            vendor_chart=[
                (share.name, round(100 * share.share, 1)) for share in risk.vendor_shares[:10]
            ],
            jurisdiction_chart=[
                (share.jurisdiction, round(100 * share.share, 1))
                for share in risk.jurisdiction_shares
            ],
            non_eu_percent=_percent(risk.non_eu_exposure_ratio),
            exit_percent=_percent(risk.exit_readiness),
            unit_rows=[(unit, _percent(unit.risk.non_eu_exposure_ratio)) for unit in by_unit],
            standalone=standalone,
            base_template="base.html" if standalone else "sourcing/_bare.html",
        )
        return context
