"""Helpers shared by the sourcing tests (plain functions: fixtures come from tests/conftest.py)."""

import datetime
from pathlib import Path

import yaml

from sourcing.services.assessments import (
    answer_criterion,
    approve_assessment,
    start_assessment,
    submit_assessment,
)
from sourcing.services.catalogues import SHIPPED_CATALOGUE


def approved_assessment(*, assessor, approver, levels=None, default=2, catalogue=None, **subject):
    """Start, answer, submit and approve an assessment through the services: every applicable
    criterion gets `levels[code]` or `default`."""
    levels = levels or {}
    assessment = start_assessment(user=assessor, catalogue=catalogue, **subject)
    for code in assessment.answers.filter(not_applicable=False).values_list(
        "criterion__code", flat=True
    ):
        answer_criterion(
            assessment, user=assessor, criterion_code=code, level=levels.get(code, default)
        )
    submit_assessment(assessment, user=assessor)
    return approve_assessment(
        assessment, user=approver, valid_until=datetime.date.today() + datetime.timedelta(days=30)
    )


def write_variant(tmp_path, name="variant.yaml", **changes) -> Path:
    """A copy of the shipped catalogue with `changes` applied to the parsed document:
    version=..., weights={code: weight}."""
    document = yaml.safe_load(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))
    if "version" in changes:
        document["meta"]["version"] = changes["version"]
    for item in document["criteria"]:
        if item["id"] in changes.get("weights", {}):
            item["weight"] = changes["weights"][item["id"]]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path
