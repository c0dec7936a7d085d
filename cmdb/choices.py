from django.db import models
from django.utils.translation import gettext_lazy as _

# ISO 3166-1 alpha-2 codes of the EU member states.
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


class OrgUnitKind(models.TextChoices):
    ADMINISTRATION = "administration", _("administration")
    DEPARTMENT = "department", _("department")
    OFFICE = "office", _("office")
    DIVISION = "division", _("division")
    MUNICIPAL_ENTERPRISE = "municipal_enterprise", _("municipal enterprise")


class ComponentKind(models.TextChoices):
    OPERATING_SYSTEM = "operating_system", _("operating system")
    DATABASE = "database", _("database")
    RUNTIME = "runtime", _("runtime")
    APPLICATION_SERVER = "application_server", _("application server / web server")
    FRAMEWORK = "framework", _("framework")
    MIDDLEWARE = "middleware", _("middleware")
    OFFICE_SUITE = "office_suite", _("office suite")
    CLOUD_SERVICE = "cloud_service", _("cloud service")
    HARDWARE = "hardware", _("hardware")
    NETWORK = "network", _("network")
    OTHER = "other", _("other")


class ApplicationKind(models.TextChoices):
    SPECIALIST_PROCEDURE = "specialist_procedure", _("specialist procedure")
    STANDARD_SOFTWARE = "standard_software", _("standard software")
    OWN_DEVELOPMENT = "own_development", _("own development")
    SAAS = "saas", _("SaaS")
    PLATFORM = "platform", _("platform")


class Criticality(models.TextChoices):
    MISSION_CRITICAL = "mission_critical", _("mission critical")
    BUSINESS_CRITICAL = "business_critical", _("business critical")
    BUSINESS_OPERATIONAL = "business_operational", _("business operational")
    ADMINISTRATIVE = "administrative", _("administrative")


class ProtectionNeed(models.TextChoices):
    """BSI IT-Grundschutz protection-need categories."""

    NORMAL = "normal", _("normal")
    HIGH = "high", _("high")
    VERY_HIGH = "very_high", _("very high")


class Hosting(models.TextChoices):
    CITY_DATA_CENTRE = "city_data_centre", _("city data centre")
    MUNICIPAL_IT_PROVIDER = "municipal_it_provider", _("municipal IT provider")
    EU_CLOUD = "eu_cloud", _("EU cloud")
    NON_EU_CLOUD = "non_eu_cloud", _("non-EU cloud")


class TimeClass(models.TextChoices):
    """Gartner TIME: derived from functional and technical fit."""

    TOLERATE = "tolerate", _("tolerate")
    INVEST = "invest", _("invest")
    MIGRATE = "migrate", _("migrate")
    ELIMINATE = "eliminate", _("eliminate")


class LifecyclePhase(models.TextChoices):
    PLAN = "plan", _("plan")
    PHASE_IN = "phase_in", _("phase-in")
    ACTIVE = "active", _("active")
    PHASE_OUT = "phase_out", _("phase-out")
    END_OF_LIFE = "end_of_life", _("end of life")


# Phase → the Application field holding the date the phase starts, in lifecycle order.
LIFECYCLE_DATE_FIELDS = [
    (LifecyclePhase.PLAN, "plan_date"),
    (LifecyclePhase.PHASE_IN, "phase_in_date"),
    (LifecyclePhase.ACTIVE, "active_date"),
    (LifecyclePhase.PHASE_OUT, "phase_out_date"),
    (LifecyclePhase.END_OF_LIFE, "end_of_life_date"),
]
LIVE_PHASES = {LifecyclePhase.PHASE_IN, LifecyclePhase.ACTIVE, LifecyclePhase.PHASE_OUT}


class ResponsibilityRole(models.TextChoices):
    PRODUCT_OWNER = "product_owner", _("product owner (planning)")
    OPERATIONS = "operations", _("operations")
    SUPPORT = "support", _("support")
    DATA_PROTECTION = "data_protection", _("data protection")
    SECURITY = "security", _("information security")


class Environment(models.TextChoices):
    PRODUCTION = "production", _("production")
    STAGING = "staging", _("staging")
    TEST = "test", _("test")
    DEVELOPMENT = "development", _("development")
    DISASTER_RECOVERY = "disaster_recovery", _("disaster recovery")


class DataFlowDirection(models.TextChoices):
    PROVIDER_TO_CONSUMER = "provider_to_consumer", _("provider → consumer")
    CONSUMER_TO_PROVIDER = "consumer_to_provider", _("consumer → provider")
    BIDIRECTIONAL = "bidirectional", _("bidirectional")


class Protocol(models.TextChoices):
    REST = "rest", _("REST")
    SOAP = "soap", _("SOAP")
    FILE_TRANSFER = "file_transfer", _("file transfer")
    DATABASE_LINK = "database_link", _("database link")
    MESSAGE_QUEUE = "message_queue", _("message queue")
    EMAIL = "email", _("e-mail")
    XOEV_OSCI = "xoev_osci", _("XÖV/OSCI")
    OTHER = "other", _("other")


class Frequency(models.TextChoices):
    REAL_TIME = "real_time", _("real time")
    ON_DEMAND = "on_demand", _("on demand")
    HOURLY = "hourly", _("hourly")
    DAILY = "daily", _("daily")
    WEEKLY = "weekly", _("weekly")
    MONTHLY = "monthly", _("monthly")
    YEARLY = "yearly", _("yearly")


class DataClassification(models.TextChoices):
    PUBLIC = "public", _("public")
    INTERNAL = "internal", _("internal")
    CONFIDENTIAL = "confidential", _("confidential")
    STRICTLY_CONFIDENTIAL = "strictly_confidential", _("strictly confidential")


class ServiceKind(models.TextChoices):
    BUSINESS = "business", _("business service")
    TECHNICAL = "technical", _("technical service")
