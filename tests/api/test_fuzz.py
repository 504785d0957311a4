"""Schemathesis over the whole OpenAPI schema, in process, against the WSGI application."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from catalog import services
from catalog.models import Bundle, BundleItem, LifeEvent, Material, Theme
from tests.factories import (
    CityFactory,
    DepartmentFactory,
    ServiceItemFactory,
    ServiceLocationFactory,
)
from zheliban.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def in_test_transaction():
    """Keep the test's connection open across in-process requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def demo_data(db, in_test_transaction):
    city = CityFactory(code="330100", name="杭州市")
    departments = [
        DepartmentFactory(code=f"330100-{kind}", kind=kind, region=city)
        for kind in ("gongan", "weijian", "renshe")
    ]
    for department in departments:
        ServiceLocationFactory(department=department)
    theme = Theme.objects.create(slug="hukou", name="户籍办理")
    bundle = Bundle.objects.create(
        slug="newborn", name="新生儿出生一件事", region=city, life_event=LifeEvent.objects.first()
    )
    for n, department in enumerate(departments):
        # The first has the code the schema gives as its example.
        code = "11440000006939756B2440101007000" if n == 0 else f"330100TEST{n}"
        item = ServiceItemFactory.build(
            code=code, name=f"出生登记{n}", department=department, fee_fen=n * 100
        )
        services.item_publish(
            actor=None,
            item=item,
            materials=[
                {"name": "居民身份证", "source": Material.Source.SHARED, "issuer": department}
            ],
        )
        item.themes.add(theme)
        BundleItem.objects.create(bundle=bundle, item=item, sort_order=n)


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_api_conforms_to_its_schema(case, demo_data):
    # Check digits and uniqueness are business rules a schema cannot express, so a schema-valid
    # registration may still be refused; every other check applies.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
