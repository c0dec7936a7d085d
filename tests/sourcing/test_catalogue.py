from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from cmdb.factories import VendorFactory
from sourcing.choices import CatalogueStatus
from sourcing.models import Answer, CriteriaCatalogue, Criterion
from sourcing.services.catalogues import (
    SHIPPED_CATALOGUE,
    default_catalogue,
    load_catalogue,
    publish_catalogue,
    retire_catalogue,
)
from sourcing.services.scoring import compute_score, score_assessment
from tests.sourcing import approved_assessment, write_variant

pytestmark = pytest.mark.django_db

SHARED_REFERENCE = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "sovereignty_criteria.yaml"
)


def codes_of(error: ValidationError) -> set[str]:
    return {e.code for errors in error.error_dict.values() for e in errors}


def test_shipped_catalogue_loads_with_33_criteria_weighing_100():
    catalogue = load_catalogue()
    assert (catalogue.code, catalogue.version) == ("sovcat-de-muni", "0.1.0")
    assert catalogue.status == CatalogueStatus.PUBLISHED
    assert catalogue.published_at is not None
    criteria = list(catalogue.criteria.all())
    assert len(criteria) == 33
    assert sum(criterion.weight for criterion in criteria) == 100
    assert [c.code for c in criteria][:3] == ["JUR-01", "JUR-02", "JUR-03"]
    floor = {c.code for c in criteria if c.is_floor}
    assert floor == {
        "JUR-01", "JUR-04", "JUR-07", "DAT-01", "DAT-02", "OPS-01", "OPS-03", "EXT-01",
        "EXT-02", "SUP-02",
    }  # fmt: skip
    jur01 = catalogue.criteria.get(code="JUR-01")
    assert jur01.group == "jurisdiction"
    assert jur01.applies_to == ["vendor", "saas", "paas_iaas", "software_product"]
    assert len(jur01.level_descriptions) == 5
    assert jur01.level_descriptions[0].startswith("Ultimate parent / effective control outside")
    assert jur01.knockout == {"typical": "conditional", "min_level": 3, "when": ["very_high"]}
    assert jur01.maps_to["eu_csf"] == "SOV-1"
    assert "BSI-C3A SOV-1-03" in jur01.sources
    assert "commercial-register extract" in jur01.evidence_hints
    assert jur01.minimum_level("very_high") == 3
    assert jur01.minimum_level("normal") is None
    # The raw sections are kept so that formulas can be read later.
    assert catalogue.scoring["criterion_points"] == "weight * level / 4"
    assert catalogue.profiles["very_high"]["JUR-04"] == 3
    assert "inheritance_rule" in catalogue.landscape
    assert catalogue.sources["EU-CSF"]["url"].startswith("https://commission.europa.eu/")
    assert catalogue.groups["exit"] == "Exit, switching and market"


@pytest.mark.skipif(not SHARED_REFERENCE.exists(), reason="shared reference not checked out")
def test_shipped_file_is_the_shared_reference():
    assert SHIPPED_CATALOGUE.read_bytes() == SHARED_REFERENCE.read_bytes()


def test_loading_twice_is_a_no_op():
    first = load_catalogue()
    history = (CriteriaCatalogue.history.count(), Criterion.history.count())
    second = load_catalogue()
    assert second.pk == first.pk
    assert CriteriaCatalogue.objects.count() == 1
    assert Criterion.objects.count() == 33
    assert (CriteriaCatalogue.history.count(), Criterion.history.count()) == history


def test_same_content_in_another_layout_is_the_same_version(tmp_path):
    first = load_catalogue()
    # Comments dropped and keys reordered: still the same catalogue.
    assert load_catalogue(write_variant(tmp_path)).pk == first.pk


def test_changed_file_with_the_same_version_is_refused(tmp_path):
    catalogue = load_catalogue()
    changed = write_variant(tmp_path, weights={"JUR-01": 9, "JUR-04": 2})
    with pytest.raises(ValidationError) as raised:
        load_catalogue(changed)
    assert "immutable" in codes_of(raised.value)
    catalogue.refresh_from_db()
    assert catalogue.criteria.get(code="JUR-01").weight == 5
    assert CriteriaCatalogue.objects.count() == 1


def test_a_new_version_leaves_existing_assessments_and_scores_unchanged(tmp_path, make_user):
    assessor = make_user("assessor", "procurement")
    approver = make_user("approver", "procurement")
    old = load_catalogue()
    vendor = VendorFactory(country="US")
    assessment = approved_assessment(
        assessor=assessor,
        approver=approver,
        vendor=vendor,
        levels={"JUR-01": 0, "JUR-04": 1, "JUR-07": 3},
        default=2,
    )
    before = score_assessment(assessment, "very_high")
    answers_before = list(Answer.objects.values_list("criterion_id", "level", "not_applicable"))

    # Weights moved between criteria, total still 100.
    new = load_catalogue(
        write_variant(tmp_path, version="0.2.0", weights={"JUR-01": 15, "JUR-04": 1, "TEC-01": 0})
    )

    assert new.pk != old.pk and new.version == "0.2.0"
    assert default_catalogue() == new
    assessment.refresh_from_db()
    assert assessment.catalogue == old
    after = score_assessment(assessment, "very_high")
    assert after == before
    assert list(Answer.objects.values_list("criterion_id", "level", "not_applicable")) == (
        answers_before
    )
    # The same answers against the new weights would score differently: the old score is
    # stable because it is tied to its version, not because the change did not matter.
    levels = {a.criterion.code: a.level for a in assessment.answers.select_related("criterion")}
    not_applicable = set(
        assessment.answers.filter(not_applicable=True).values_list("criterion__code", flat=True)
    )
    assert compute_score(new, levels, not_applicable=not_applicable).score != before.score


def test_published_catalogue_and_its_criteria_are_immutable():
    catalogue = load_catalogue()
    criterion = catalogue.criteria.get(code="JUR-01")

    criterion.weight = 9
    with pytest.raises(ValidationError) as raised:
        criterion.save()
    assert "immutable" in codes_of(raised.value)
    with pytest.raises(ValidationError):
        criterion.full_clean()
    with pytest.raises(ValidationError):
        Criterion.objects.get(pk=criterion.pk).delete()
    with pytest.raises(ValidationError):
        Criterion.objects.create(
            catalogue=catalogue, code="NEW-01", group="exit", name="n", question="q",
            level_descriptions=["a", "b", "c", "d", "e"], weight=1,
        )  # fmt: skip

    catalogue.scoring = {**catalogue.scoring, "grade_bands": {"A": "0-100", "E": "below 0"}}
    with pytest.raises(ValidationError) as raised:
        catalogue.save()
    assert "immutable" in codes_of(raised.value)
    with pytest.raises(ValidationError):
        CriteriaCatalogue.objects.get(pk=catalogue.pk).delete()

    fresh = CriteriaCatalogue.objects.get(pk=catalogue.pk)
    assert fresh.scoring["grade_bands"]["A"] == "80-100"
    assert fresh.criteria.get(code="JUR-01").weight == 5
    assert fresh.criteria.count() == 33


def test_a_published_catalogue_can_only_be_retired(admin_user):
    catalogue = load_catalogue()
    catalogue = retire_catalogue(catalogue, user=admin_user)
    assert catalogue.status == CatalogueStatus.RETIRED
    with pytest.raises(ValidationError) as raised:
        publish_catalogue(catalogue, user=admin_user)
    assert codes_of(raised.value) == {"invalid_transition"}
    catalogue.status = CatalogueStatus.PUBLISHED
    with pytest.raises(ValidationError):
        catalogue.save()


def test_a_draft_can_be_reloaded_with_new_content_and_published_later(tmp_path, admin_user):
    draft = load_catalogue(publish=False)
    assert draft.status == CatalogueStatus.DRAFT and draft.published_at is None
    reloaded = load_catalogue(
        write_variant(tmp_path, weights={"JUR-01": 9, "JUR-04": 2}), publish=False
    )
    assert reloaded.pk == draft.pk
    assert reloaded.criteria.get(code="JUR-01").weight == 9
    assert reloaded.criteria.count() == 33
    published = publish_catalogue(reloaded, user=admin_user)
    assert published.status == CatalogueStatus.PUBLISHED


def test_default_catalogue_loads_the_shipped_file_when_missing():
    assert not CriteriaCatalogue.objects.exists()
    catalogue = default_catalogue()
    assert (catalogue.code, catalogue.status) == ("sovcat-de-muni", CatalogueStatus.PUBLISHED)
    assert default_catalogue() == catalogue
    assert CriteriaCatalogue.objects.count() == 1


def test_broken_files_are_refused_with_every_problem_named(tmp_path):
    document = yaml.safe_load(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))
    document["criteria"][0]["weight"] = 6  # weights no longer add up to 100
    document["criteria"][1]["levels"].pop(4)
    document["scoring"]["profiles"]["high"]["XYZ-99"] = 2
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ValidationError) as raised:
        load_catalogue(path)
    assert codes_of(raised.value) == {"invalid"}
    message = " ".join(raised.value.messages)
    assert "weights add up to 101" in message
    assert "JUR-02: levels must describe exactly 0, 1, 2, 3 and 4" in message
    assert "unknown criterion XYZ-99" in message
    assert not CriteriaCatalogue.objects.exists()


def test_loading_as_a_user_needs_the_procurement_role(requester, make_user):
    with pytest.raises(PermissionDenied):
        load_catalogue(user=requester)
    assert not CriteriaCatalogue.objects.exists()
    buyer = make_user("buyer", "procurement")
    catalogue = load_catalogue(user=buyer)
    assert catalogue.history.first().history_user == buyer


def test_load_criteria_command(tmp_path):
    out = StringIO()
    call_command("load_criteria", stdout=out)
    assert "Loaded sovcat-de-muni 0.1.0: 33 criteria, published." in out.getvalue()
    out = StringIO()
    call_command("load_criteria", str(SHIPPED_CATALOGUE), stdout=out)
    assert "already loaded" in out.getvalue()
    out = StringIO()
    call_command(
        "load_criteria", str(write_variant(tmp_path, version="0.3.0")), "--draft", stdout=out
    )
    assert "0.3.0: 33 criteria, draft." in out.getvalue()
    assert default_catalogue().version == "0.1.0"


def test_load_criteria_command_reports_a_refused_file(tmp_path):
    from django.core.management.base import CommandError

    call_command("load_criteria", stdout=StringIO())
    with pytest.raises(CommandError, match="differs from this file"):
        call_command(
            "load_criteria", str(write_variant(tmp_path, weights={"JUR-01": 9, "JUR-04": 2}))
        )
