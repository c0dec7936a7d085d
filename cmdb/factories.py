"""factory_boy factories for CMDB models, shared by the tests and the demo city.

Defaults are deliberately lean and predictable: names come from sequences (no random data),
optional relations and lifecycle dates stay empty unless a test asks for them, so that a test
sees only the objects it created. Traits add the common variants.
"""

import datetime

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from cmdb.choices import (
    ApplicationKind,
    ComponentKind,
    Criticality,
    DataClassification,
    Environment,
    OrgUnitKind,
    Protocol,
    ResponsibilityRole,
    ServiceKind,
)
from cmdb.models import (
    Application,
    ApplicationComponent,
    DataObject,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Responsibility,
    Service,
    SoftwarePackage,
    Team,
    Vendor,
)

D = datetime.date


class UserFactory(DjangoModelFactory):
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@stadt.example")
    # make_password(None) gives an unusable password without the cost of hashing.
    password = factory.django.Password(None)

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True


class OrgUnitFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Amt {n}")
    code = factory.Sequence(lambda n: f"OU-{n}")
    kind = OrgUnitKind.OFFICE
    parent = None

    class Meta:
        model = OrgUnit


class TeamFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Team {n}")
    org_unit = factory.SubFactory(OrgUnitFactory)
    email = factory.Sequence(lambda n: f"team{n}@stadt.example")

    class Meta:
        model = Team
        skip_postgeneration_save = True

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


class VendorFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Vendor {n} GmbH")
    country = "DE"
    parent = None

    class Meta:
        model = Vendor


class ITComponentFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Component {n}")
    version = "1"
    vendor = None
    kind = ComponentKind.OTHER

    class Meta:
        model = ITComponent

    class Params:
        # Released 2015, support ended 2018, end of life 2020: already past end of life.
        end_of_life_passed = factory.Trait(
            release_date=D(2015, 1, 1), end_of_support=D(2018, 1, 1), end_of_life=D(2020, 1, 1)
        )


class ApplicationFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Application {n}")
    kind = ApplicationKind.SPECIALIST_PROCEDURE
    owner_org_unit = factory.SubFactory(OrgUnitFactory)
    owner_team = None
    vendor = None
    criticality = Criticality.BUSINESS_OPERATIONAL

    class Meta:
        model = Application

    class Params:
        # Lifecycle dates stay empty by default (alive on every date); these traits fix them.
        active = factory.Trait(active_date=D(2020, 1, 1))
        phased_out = factory.Trait(active_date=D(2015, 1, 1), phase_out_date=D(2020, 1, 1))
        retired = factory.Trait(
            active_date=D(2010, 1, 1), phase_out_date=D(2015, 1, 1), end_of_life_date=D(2020, 1, 1)
        )


class ApplicationComponentFactory(DjangoModelFactory):
    application = factory.SubFactory(ApplicationFactory)
    component = factory.SubFactory(ITComponentFactory)
    environment = Environment.PRODUCTION

    class Meta:
        model = ApplicationComponent


class ResponsibilityFactory(DjangoModelFactory):
    application = factory.SubFactory(ApplicationFactory)
    role = ResponsibilityRole.OPERATIONS
    team = factory.SubFactory(TeamFactory)
    person = None

    class Meta:
        model = Responsibility


class DataObjectFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Data object {n}")
    classification = DataClassification.INTERNAL
    personal_data = False
    special_categories = False

    class Meta:
        model = DataObject


class InterfaceConsumerFactory(DjangoModelFactory):
    interface = factory.SubFactory("cmdb.factories.InterfaceFactory", consumers=[])
    consumer = factory.SubFactory(ApplicationFactory)
    # provider is copied from the interface by InterfaceConsumer.save().

    class Meta:
        model = InterfaceConsumer


class InterfaceFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Interface {n}")
    provider = factory.SubFactory(ApplicationFactory)
    protocol = Protocol.REST

    class Meta:
        model = Interface
        skip_postgeneration_save = True

    @factory.post_generation
    def consumers(self, create, extracted, **kwargs):
        """`consumers=[app, ...]` links those applications; by default one new application
        consumes the interface; `consumers=[]` creates none."""
        if not create:
            return
        if extracted is None:
            extracted = [ApplicationFactory()]
        for consumer in extracted:
            InterfaceConsumerFactory(interface=self, consumer=consumer)

    @factory.post_generation
    def data_objects(self, create, extracted, **kwargs):
        if create and extracted:
            self.data_objects.add(*extracted)


class ServiceFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Service {n}")
    code = factory.Sequence(lambda n: f"SRV-{n}")
    kind = ServiceKind.BUSINESS

    class Meta:
        model = Service
        skip_postgeneration_save = True

    @factory.post_generation
    def applications(self, create, extracted, **kwargs):
        if create and extracted:
            self.applications.add(*extracted)

    @factory.post_generation
    def consumer_org_units(self, create, extracted, **kwargs):
        if create and extracted:
            self.consumer_org_units.add(*extracted)


class SoftwarePackageFactory(DjangoModelFactory):
    application = factory.SubFactory(ApplicationFactory)
    name = factory.Sequence(lambda n: f"package-{n}")
    version = "1.0.0"
    purl = factory.LazyAttribute(lambda o: f"pkg:pypi/{o.name}@{o.version}")
    licences = "MIT"

    class Meta:
        model = SoftwarePackage
