"""The sourcing vocabulary: catalogue and assessment states, their transitions, and how CMDB
objects map onto the catalogue's `applies_to` values."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cmdb.choices import ApplicationKind, ComponentKind, Hosting


class CatalogueStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")
    RETIRED = "retired", _("retired")


# A published catalogue is frozen (assessments refer to it); it can only be retired.
CATALOGUE_TRANSITIONS: dict[str, set[str]] = {
    CatalogueStatus.DRAFT: {CatalogueStatus.PUBLISHED, CatalogueStatus.RETIRED},
    CatalogueStatus.PUBLISHED: {CatalogueStatus.RETIRED},
    CatalogueStatus.RETIRED: set(),
}


class AssessmentState(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    SUPERSEDED = "superseded", _("superseded")


ASSESSMENT_TRANSITIONS: dict[str, set[str]] = {
    AssessmentState.DRAFT: {AssessmentState.SUBMITTED},
    AssessmentState.SUBMITTED: {AssessmentState.APPROVED, AssessmentState.DRAFT},
    # An approved assessment is superseded when its re-assessment is approved.
    AssessmentState.APPROVED: {AssessmentState.SUPERSEDED},
    AssessmentState.SUPERSEDED: set(),
}


class SubjectKind(models.TextChoices):
    VENDOR = "vendor", _("vendor")
    COMPONENT = "component", _("IT component")
    APPLICATION = "application", _("application")


# The catalogue's `meta.applies_to_values`. A criterion applies to a subject when its
# `applies_to` shares at least one value with the subject's scopes.
SCOPE_VENDOR = "vendor"
SCOPE_SOFTWARE_PRODUCT = "software_product"
SCOPE_SAAS = "saas"
SCOPE_PAAS_IAAS = "paas_iaas"
SCOPE_ON_PREMISES = "on_premises"

# A cloud-service component may be SaaS (an office suite) or a platform (IaaS/PaaS); the CMDB
# does not say which, so criteria of either kind apply. Hardware and network gear are what
# runs "on premises"; every other component is a software product.
COMPONENT_SCOPES: dict[str, frozenset[str]] = {
    ComponentKind.CLOUD_SERVICE: frozenset({SCOPE_SAAS, SCOPE_PAAS_IAAS}),
    ComponentKind.HARDWARE: frozenset({SCOPE_ON_PREMISES}),
    ComponentKind.NETWORK: frozenset({SCOPE_ON_PREMISES}),
}
DEFAULT_COMPONENT_SCOPES = frozenset({SCOPE_SOFTWARE_PRODUCT})

CLOUD_HOSTING = frozenset({Hosting.EU_CLOUD, Hosting.NON_EU_CLOUD})


def application_scopes(kind: str, hosting: str) -> frozenset[str]:
    """SaaS is SaaS wherever it runs. Anything else is a software product that runs either on
    a cloud platform (whose data-location and operations criteria then apply) or on premises
    (city data centre or municipal IT provider)."""
    if kind == ApplicationKind.SAAS:
        return frozenset({SCOPE_SAAS})
    in_cloud = hosting in CLOUD_HOSTING
    if kind == ApplicationKind.PLATFORM and in_cloud:
        return frozenset({SCOPE_PAAS_IAAS})
    if in_cloud:
        return frozenset({SCOPE_SOFTWARE_PRODUCT, SCOPE_PAAS_IAAS})
    return frozenset({SCOPE_SOFTWARE_PRODUCT, SCOPE_ON_PREMISES})
