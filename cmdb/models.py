"""The configuration management database: who owns what, what runs on what, what talks to what."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey
from simple_history.models import HistoricalRecords

from cmdb.choices import (
    EU_COUNTRIES,
    LIFECYCLE_DATE_FIELDS,
    LIVE_PHASES,
    ApplicationKind,
    ComponentKind,
    Criticality,
    DataClassification,
    DataFlowDirection,
    Environment,
    Frequency,
    Hosting,
    OrgUnitKind,
    ProtectionNeed,
    Protocol,
    ResponsibilityRole,
    ServiceKind,
    TimeClass,
)
from landkarte.models import BaseModel, SerializedTreeMixin, TimeStampedModel

MPTT_FIELDS = ["lft", "rght", "tree_id", "level"]

country_code_validator = RegexValidator(
    r"^[A-Z]{2}$", _("Enter a two-letter ISO 3166-1 country code in capitals, e.g. DE.")
)


def dates_in_order(*fields: str) -> Q:
    """A check that each non-empty date in `fields` is on or after every earlier non-empty one."""
    condition = Q()
    for i, earlier in enumerate(fields):
        for later in fields[i + 1 :]:
            condition &= (
                Q(**{f"{earlier}__isnull": True})
                | Q(**{f"{later}__isnull": True})
                | Q(**{f"{earlier}__lte": F(later)})
            )
    return condition


def clean_dates_in_order(instance, fields: list[str]) -> None:
    """The same rule as `dates_in_order`, as a message on the field that is out of order."""
    previous = None
    for name in fields:
        value = getattr(instance, name)
        if value is None:
            continue
        if previous is not None and value < getattr(instance, previous):
            label = instance._meta.get_field(name).verbose_name
            earlier = instance._meta.get_field(previous).verbose_name
            raise ValidationError(
                {
                    name: ValidationError(
                        _("%(label)s cannot be before %(earlier)s."),
                        code="date_order",
                        params={"label": label, "earlier": earlier},
                    )
                }
            )
        previous = name


class OrgUnit(SerializedTreeMixin, MPTTModel, TimeStampedModel):
    """A unit of the administration: the city at the root, then departments, offices (Ämter)…"""

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=30, unique=True)
    kind = models.CharField(_("kind"), max_length=30, choices=OrgUnitKind.choices)
    parent = TreeForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    history = HistoricalRecords(excluded_fields=MPTT_FIELDS)

    class MPTTMeta:
        order_insertion_by = ["code"]

    class Meta:
        verbose_name = _("organisational unit")
        verbose_name_plural = _("organisational units")

    def __str__(self):
        return f"{self.code} {self.name}"


class Team(TimeStampedModel):
    """An assignment group and owning team."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="teams", verbose_name=_("org unit")
    )
    email = models.EmailField(_("e-mail"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="teams", verbose_name=_("members")
    )
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    # Many-to-many fields are recorded too: who joined or left a team is a change.
    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Vendor(BaseModel):
    """A supplier. `parent` models group structures; jurisdiction follows the ultimate parent."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    country = models.CharField(
        _("country"),
        max_length=2,
        validators=[country_code_validator],
        help_text=_("ISO 3166-1 alpha-2 code of the registered seat"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subsidiaries",
        verbose_name=_("parent company"),
    )
    # Denormalised so that jurisdiction can be filtered in SQL; kept by save().
    ultimate_parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="group_members",
        verbose_name=_("ultimate parent"),
    )
    # The country of the ultimate parent: whose law the group ultimately answers to.
    jurisdiction = models.CharField(
        _("jurisdiction"), max_length=2, editable=False, db_index=True,
        help_text=_("country of the ultimate parent"),
    )  # fmt: skip
    website = models.URLField(_("website"), blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("vendor")
        verbose_name_plural = _("vendors")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="vendor_not_own_parent",
                violation_error_message=_("A vendor cannot be its own parent company."),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_eu(self) -> bool:
        return self.jurisdiction in EU_COUNTRIES

    @property
    def group(self) -> "Vendor":
        """The vendor group it belongs to: its ultimate parent, or itself at the top."""
        return self.ultimate_parent or self

    def compute_ultimate_parent(self) -> "Vendor":
        seen = {self.pk}
        node = self
        while node.parent_id is not None:
            if node.parent_id in seen:
                raise ValidationError(
                    {
                        "parent": ValidationError(
                            _("This parent company would create a cycle in the group structure."),
                            code="cycle",
                        )
                    }
                )
            seen.add(node.parent_id)
            node = node.parent
        return node

    def clean(self):
        super().clean()
        if self.country:
            self.country = self.country.upper()
        self.compute_ultimate_parent()

    def save(self, *args, **kwargs):
        top = self.compute_ultimate_parent()
        self.ultimate_parent = None if top is self else top
        self.country = (self.country or "").upper()
        self.jurisdiction = top.country.upper() if top.country else ""
        super().save(*args, **kwargs)
        # Subsidiaries follow when a group is restructured.
        for child in self.subsidiaries.all():
            child.save()


class ITComponent(BaseModel):
    """A technology product in one version or release cycle (PostgreSQL 15, Windows Server 2019)."""

    name = models.CharField(_("product"), max_length=200)
    version = models.CharField(_("version / release cycle"), max_length=50, blank=True)
    vendor = models.ForeignKey(
        Vendor,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="components",
        verbose_name=_("vendor"),
    )
    kind = models.CharField(_("kind"), max_length=30, choices=ComponentKind.choices)
    licence = models.CharField(
        _("licence"), max_length=200, blank=True, help_text=_("SPDX licence expression")
    )
    is_open_source = models.BooleanField(_("open source"), default=False)
    release_date = models.DateField(_("release date"), null=True, blank=True)
    end_of_support = models.DateField(_("end of support"), null=True, blank=True)
    end_of_life = models.DateField(_("end of life"), null=True, blank=True)
    eol_product = models.CharField(_("endoflife.date product"), max_length=100, blank=True)
    eol_cycle = models.CharField(_("endoflife.date cycle"), max_length=50, blank=True)
    purl = models.CharField(_("package URL"), max_length=300, blank=True)
    cpe = models.CharField(_("CPE"), max_length=300, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    LIFECYCLE_FIELDS = ["release_date", "end_of_support", "end_of_life"]

    class Meta:
        verbose_name = _("IT component")
        verbose_name_plural = _("IT components")
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"],
                name="itcomponent_unique_name_version",
                violation_error_message=_("This product and version already exist."),
            ),
            models.CheckConstraint(
                condition=dates_in_order("release_date", "end_of_support", "end_of_life"),
                name="itcomponent_lifecycle_dates_in_order",
                violation_error_message=_(
                    "Release, end of support and end of life must be in this order."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.version}".strip()

    def clean(self):
        super().clean()
        clean_dates_in_order(self, self.LIFECYCLE_FIELDS)

    def is_end_of_life(self, on: datetime.date | None = None) -> bool:
        on = on or datetime.date.today()
        return self.end_of_life is not None and self.end_of_life <= on


class Application(BaseModel):
    name = models.CharField(_("name"), max_length=200)
    acronym = models.CharField(_("acronym"), max_length=30, null=True, blank=True, unique=True)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=ApplicationKind.choices)
    owner_org_unit = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("owning org unit"),
    )
    owner_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("owning team"),
    )
    business_owner = models.CharField(_("business owner"), max_length=200, blank=True)
    vendor = models.ForeignKey(
        Vendor,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("vendor"),
    )
    criticality = models.CharField(
        _("criticality"),
        max_length=30,
        choices=Criticality.choices,
        default=Criticality.BUSINESS_OPERATIONAL,
    )
    confidentiality = models.CharField(
        _("confidentiality"),
        max_length=10,
        choices=ProtectionNeed.choices,
        default=ProtectionNeed.NORMAL,
    )
    integrity = models.CharField(
        _("integrity"),
        max_length=10,
        choices=ProtectionNeed.choices,
        default=ProtectionNeed.NORMAL,
    )
    availability = models.CharField(
        _("availability"),
        max_length=10,
        choices=ProtectionNeed.choices,
        default=ProtectionNeed.NORMAL,
    )
    personal_data = models.BooleanField(_("processes personal data"), default=False)
    hosting = models.CharField(
        _("hosting"), max_length=30, choices=Hosting.choices, default=Hosting.CITY_DATA_CENTRE
    )
    user_count = models.PositiveIntegerField(_("number of users"), null=True, blank=True)
    functional_fit = models.PositiveSmallIntegerField(
        _("functional fit"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text=_("1 (poor) to 4 (excellent)"),
    )
    technical_fit = models.PositiveSmallIntegerField(
        _("technical fit"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text=_("1 (poor) to 4 (excellent)"),
    )
    plan_date = models.DateField(_("plan from"), null=True, blank=True)
    phase_in_date = models.DateField(_("phase-in from"), null=True, blank=True)
    active_date = models.DateField(_("active from"), null=True, blank=True)
    phase_out_date = models.DateField(_("phase-out from"), null=True, blank=True)
    end_of_life_date = models.DateField(_("end of life from"), null=True, blank=True)
    components = models.ManyToManyField(
        ITComponent, through="ApplicationComponent", related_name="applications", blank=True
    )
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    LIFECYCLE_FIELDS = [field for _phase, field in LIFECYCLE_DATE_FIELDS]

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=dates_in_order(
                    "plan_date",
                    "phase_in_date",
                    "active_date",
                    "phase_out_date",
                    "end_of_life_date",
                ),
                name="application_lifecycle_dates_in_order",
                violation_error_message=_(
                    "Lifecycle dates must follow plan, phase-in, active, phase-out, end of life."
                ),
            ),
            models.CheckConstraint(
                condition=Q(functional_fit__isnull=True)
                | Q(functional_fit__gte=1, functional_fit__lte=4),
                name="application_functional_fit_range",
                violation_error_message=_("Functional fit must be between 1 and 4."),
            ),
            models.CheckConstraint(
                condition=Q(technical_fit__isnull=True)
                | Q(technical_fit__gte=1, technical_fit__lte=4),
                name="application_technical_fit_range",
                violation_error_message=_("Technical fit must be between 1 and 4."),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.acronym})" if self.acronym else self.name

    def clean(self):
        super().clean()
        if self.acronym == "":
            self.acronym = None
        clean_dates_in_order(self, self.LIFECYCLE_FIELDS)

    @property
    def time_class(self) -> str | None:
        """Gartner TIME from the two fits (3–4 counts as good)."""
        if self.functional_fit is None or self.technical_fit is None:
            return None
        functional_good = self.functional_fit >= 3
        technical_good = self.technical_fit >= 3
        if functional_good and technical_good:
            return TimeClass.INVEST
        if functional_good:
            return TimeClass.MIGRATE
        if technical_good:
            return TimeClass.TOLERATE
        return TimeClass.ELIMINATE

    def phase_on(self, on: datetime.date | None = None) -> str | None:
        """The lifecycle phase on a date: the last phase whose start date has been reached."""
        on = on or datetime.date.today()
        current = None
        for phase, field in LIFECYCLE_DATE_FIELDS:
            value = getattr(self, field)
            if value is not None and value <= on:
                current = phase
        return current

    @property
    def lifecycle_phase(self) -> str | None:
        return self.phase_on()

    def is_alive(self, on: datetime.date | None = None) -> bool:
        """Running on that date: in phase-in, active or phase-out, or with no lifecycle dates."""
        if all(getattr(self, field) is None for field in self.LIFECYCLE_FIELDS):
            return True
        return self.phase_on(on) in LIVE_PHASES


class ApplicationComponent(BaseModel):
    """An IT component used by an application in one environment."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="component_uses"
    )
    component = models.ForeignKey(ITComponent, on_delete=models.PROTECT, related_name="uses")
    environment = models.CharField(
        _("environment"),
        max_length=30,
        choices=Environment.choices,
        default=Environment.PRODUCTION,
    )

    class Meta:
        verbose_name = _("component use")
        verbose_name_plural = _("component uses")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "component", "environment"],
                name="applicationcomponent_unique",
                violation_error_message=_(
                    "This component is already recorded for this application and environment."
                ),
            )
        ]

    def __str__(self):
        return f"{self.application} uses {self.component} ({self.environment})"


class Responsibility(BaseModel):
    """Who plans, operates and supports an application: a role held by a team or a person."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="responsibilities"
    )
    role = models.CharField(_("role"), max_length=30, choices=ResponsibilityRole.choices)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="responsibilities"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="responsibilities",
    )

    class Meta:
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibilities")
        constraints = [
            models.CheckConstraint(
                condition=(Q(team__isnull=False) & Q(person__isnull=True))
                | (Q(team__isnull=True) & Q(person__isnull=False)),
                name="responsibility_team_xor_person",
                violation_error_message=_("A responsibility names either a team or a person."),
            ),
            models.UniqueConstraint(
                fields=["application", "role", "team"],
                name="responsibility_unique_team",
                condition=Q(team__isnull=False),
                violation_error_message=_("This team already holds this role."),
            ),
            models.UniqueConstraint(
                fields=["application", "role", "person"],
                name="responsibility_unique_person",
                condition=Q(person__isnull=False),
                violation_error_message=_("This person already holds this role."),
            ),
        ]

    def __str__(self):
        return f"{self.get_role_display()}: {self.team or self.person}"


class DataObject(BaseModel):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    classification = models.CharField(
        _("classification"),
        max_length=30,
        choices=DataClassification.choices,
        default=DataClassification.INTERNAL,
    )
    personal_data = models.BooleanField(_("personal data"), default=False)
    special_categories = models.BooleanField(_("special categories (GDPR Art. 9)"), default=False)

    class Meta:
        verbose_name = _("data object")
        verbose_name_plural = _("data objects")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(special_categories=False) | Q(personal_data=True),
                name="dataobject_special_categories_are_personal",
                violation_error_message=_("Special categories of personal data are personal data."),
            )
        ]

    def __str__(self):
        return self.name


class Interface(TimeStampedModel):
    """Exactly one provider application, one or more consumers; a consumer depends on the
    provider."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    provider = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        related_name="provided_interfaces",
        verbose_name=_("provider"),
    )
    consumers = models.ManyToManyField(
        Application,
        through="InterfaceConsumer",
        through_fields=("interface", "consumer"),
        related_name="consumed_interfaces",
        verbose_name=_("consumers"),
    )
    direction = models.CharField(
        _("data flow"),
        max_length=30,
        choices=DataFlowDirection.choices,
        default=DataFlowDirection.PROVIDER_TO_CONSUMER,
    )
    protocol = models.CharField(_("protocol"), max_length=30, choices=Protocol.choices)
    data_standard = models.CharField(
        _("data standard"), max_length=100, blank=True, help_text=_("e.g. XMeld, XBau")
    )
    data_objects = models.ManyToManyField(
        DataObject, blank=True, related_name="interfaces", verbose_name=_("data objects")
    )
    frequency = models.CharField(
        _("frequency"), max_length=20, choices=Frequency.choices, default=Frequency.ON_DEMAND
    )
    personal_data = models.BooleanField(_("personal data"), default=False)
    owner_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interfaces",
        verbose_name=_("owning team"),
    )
    active_from = models.DateField(_("active from"), null=True, blank=True)
    end_of_life = models.DateField(_("end of life"), null=True, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    # Consumers have their own history (InterfaceConsumer); data objects are recorded here.
    history = HistoricalRecords(m2m_fields=[data_objects])

    class Meta:
        verbose_name = _("interface")
        verbose_name_plural = _("interfaces")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=dates_in_order("active_from", "end_of_life"),
                name="interface_lifecycle_dates_in_order",
                violation_error_message=_("End of life cannot be before active from."),
            )
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        clean_dates_in_order(self, ["active_from", "end_of_life"])
        consumes_itself = (
            self.pk
            and self.provider_id
            and self.links.filter(consumer_id=self.provider_id).exists()
        )
        if consumes_itself:
            raise ValidationError(
                {
                    "provider": ValidationError(
                        _("The provider already consumes this interface."), code="own_interface"
                    )
                }
            )

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Consumer rows carry the provider (for the database rule and the dependency graph).
        self.links.exclude(provider_id=self.provider_id).update(provider_id=self.provider_id)

    def is_alive(self, on: datetime.date | None = None) -> bool:
        on = on or datetime.date.today()
        return (self.active_from is None or self.active_from <= on) and (
            self.end_of_life is None or self.end_of_life > on
        )


class InterfaceConsumer(BaseModel):
    """One consumer of an interface: the edge consumer → provider of the dependency graph."""

    interface = models.ForeignKey(Interface, on_delete=models.CASCADE, related_name="links")
    consumer = models.ForeignKey(
        Application,
        on_delete=models.CASCADE,
        related_name="consumer_links",
        verbose_name=_("consumer"),
    )
    # A copy of interface.provider, so that the database can refuse self-consumption and the
    # dependency graph is one table.
    provider = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="provider_links", editable=False
    )

    class Meta:
        verbose_name = _("interface consumer")
        verbose_name_plural = _("interface consumers")
        constraints = [
            models.UniqueConstraint(
                fields=["interface", "consumer"],
                name="interfaceconsumer_unique",
                violation_error_message=_("This application already consumes this interface."),
            ),
            models.CheckConstraint(
                condition=~Q(consumer=F("provider")),
                name="interfaceconsumer_not_own_interface",
                violation_error_message=_("An application cannot consume its own interface."),
            ),
        ]
        # The dependency graph (cmdb.graph) walks both ways on these covering indexes:
        # dependents() from a provider to its consumers, dependencies() and the shortest-path
        # parents of dependents() from a consumer to its providers, without reading table rows;
        # the interface is in them for the walks on a date (is the interface alive then?).
        indexes = [
            models.Index(fields=["provider", "consumer", "interface"]),
            models.Index(fields=["consumer", "provider", "interface"]),
        ]

    def __str__(self):
        return f"{self.consumer} consumes {self.interface}"

    def clean(self):
        if self.interface_id:
            self.provider_id = self.interface.provider_id
        super().clean()
        if self.consumer_id and self.consumer_id == self.provider_id:
            raise ValidationError(
                {
                    "consumer": ValidationError(
                        _("An application cannot consume its own interface."), code="own_interface"
                    )
                }
            )

    def save(self, *args, **kwargs):
        self.provider_id = self.interface.provider_id
        super().save(*args, **kwargs)


class Service(TimeStampedModel):
    """An entry of the service catalogue."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    code = models.CharField(_("code"), max_length=30, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ServiceKind.choices)
    description = models.TextField(_("description"), blank=True)
    owner_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
        verbose_name=_("owning team"),
    )
    applications = models.ManyToManyField(
        Application, blank=True, related_name="services", verbose_name=_("realised by")
    )
    consumer_org_units = models.ManyToManyField(
        OrgUnit, blank=True, related_name="consumed_services", verbose_name=_("used by")
    )

    history = HistoricalRecords(m2m_fields=[applications, consumer_org_units])

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]

    def __str__(self):
        return self.name


class SoftwarePackage(BaseModel):
    """A library or package found in an application's SBOM."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="software_packages"
    )
    name = models.CharField(_("name"), max_length=300)
    version = models.CharField(_("version"), max_length=100, blank=True)
    purl = models.CharField(_("package URL"), max_length=500, blank=True)
    supplier = models.CharField(_("supplier"), max_length=300, blank=True)
    licences = models.CharField(
        _("licences"), max_length=500, blank=True, help_text=_("SPDX licence expression")
    )

    class Meta:
        verbose_name = _("software package")
        verbose_name_plural = _("software packages")
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "name", "version", "purl"],
                name="softwarepackage_unique",
                violation_error_message=_("This package is already recorded."),
            )
        ]

    def __str__(self):
        return f"{self.name} {self.version}".strip()
