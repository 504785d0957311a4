"""The Open311 services this jurisdiction offers and their definitions (GeoReport v2).

One service per matter the dispatch model knows (each goes straight to the department of that
kind nearest the request's region) plus a general one that the model dispatches. The list lives
in code, not the database: it changes with a release, and ``CHANGESET`` says when it last did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from complaints.dispatch.categories import CATEGORIES
from complaints.models import Ticket

# When the service list or a service definition last changed (Service Discovery's changeset).
CHANGESET = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)

GENERAL = "general"
DEFAULT_KIND = Ticket.Kind.COMPLAINT

# Open311 datatypes
STRING = "string"
SINGLEVALUELIST = "singlevaluelist"


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    description: Promise
    order: int
    required: bool = False
    variable: bool = True
    datatype_description: Promise | str | None = None
    values: tuple[tuple[str, Promise | str], ...] = ()
    max_length: int | None = None

    @property
    def keys(self) -> set[str]:
        return {key for key, _name in self.values}


@dataclass(frozen=True)
class Service:
    code: str
    name: Promise
    description: Promise
    keywords: Promise
    group: Promise
    category: str = ""  # the dispatch category (complaints.dispatch.categories) it names
    attributes: tuple[Attribute, ...] = field(default=())
    type: str = "realtime"

    @property
    def metadata(self) -> bool:
        return bool(self.attributes)

    @property
    def department_kind(self) -> str:
        return CATEGORIES[self.category].department_kind if self.category else ""

    def attribute(self, code: str) -> Attribute | None:
        return next((a for a in self.attributes if a.code == code), None)


YES_NO = (("true", _("Yes")), ("false", _("No")))

ATTRIBUTES = (
    Attribute(
        code="kind",
        datatype=SINGLEVALUELIST,
        description=_("What kind of message is this? (default: complaint)"),
        order=1,
        values=tuple((value, label) for value, label in Ticket.Kind.choices),
    ),
    Attribute(
        code="region",
        datatype=STRING,
        description=_(
            "Where it happened, as the six-digit code of the county, city or province "
            "(default: the province)."
        ),
        order=2,
        datatype_description=_(
            "Six digits (GB/T 2260), e.g. 330106, or nine for a street or township, e.g. 330106002."
        ),
        max_length=9,
    ),
    Attribute(
        code="public",
        datatype=SINGLEVALUELIST,
        description=_(
            "May the description and the answer be shown in public? Reports of wrongdoing are "
            "never shown. (default: no)"
        ),
        order=3,
        values=YES_NO,
    ),
    Attribute(
        code="title",
        datatype=STRING,
        description=_("A short title (default: the start of the description)."),
        order=4,
        datatype_description=_("At most 100 characters."),
        max_length=100,
    ),
)

CITY = _("City and environment")
LIVELIHOOD = _("Livelihood")
ECONOMY = _("Economy")

SERVICES: tuple[Service, ...] = (
    Service(
        code="construction",
        name=_("Urban and rural construction"),
        description=_(
            "Housing, building sites, property management, roads and pipes in towns and villages."
        ),
        keywords=_("housing, building site, property management, demolition, construction noise"),
        group=CITY,
        category="城乡建设",
        attributes=ATTRIBUTES,
    ),
    Service(
        code="environment",
        name=_("Environmental protection"),
        description=_("Pollution of air, water and soil, noise, waste and smells."),
        keywords=_("pollution, noise, smoke, sewage, waste, smell"),
        group=CITY,
        category="环境保护",
        attributes=ATTRIBUTES,
    ),
    Service(
        code="transport",
        name=_("Transport"),
        description=_("Buses, taxis, roads, traffic and parking."),
        keywords=_("bus, taxi, road, traffic, parking"),
        group=CITY,
        category="交通运输",
        attributes=ATTRIBUTES,
    ),
    Service(
        code="education",
        name=_("Education, culture and sports"),
        description=_("Schools, kindergartens, fees, libraries, culture and sports venues."),
        keywords=_("school, kindergarten, enrolment, tuition, library, sports"),
        group=LIVELIHOOD,
        category="教育文体",
        attributes=ATTRIBUTES,
    ),
    Service(
        code="labour",
        name=_("Labour and social security"),
        description=_("Wages owed, labour contracts, social insurance, pensions and jobs."),
        keywords=_("unpaid wages, labour contract, social insurance, pension, employment"),
        group=LIVELIHOOD,
        category="劳动和社会保障",
        attributes=ATTRIBUTES,
    ),
    Service(
        code="commerce",
        name=_("Commerce and tourism"),
        description=_("Shops, markets, prepaid cards, tourism and tour guides."),
        keywords=_("shop, market, prepaid card, consumer, tourism, tour guide"),
        group=ECONOMY,
        category="商贸旅游",
        attributes=ATTRIBUTES,
    ),
    Service(
        code="health",
        name=_("Health and family planning"),
        description=_("Hospitals, clinics, doctors, vaccination and family planning."),
        keywords=_("hospital, clinic, doctor, vaccination, family planning"),
        group=LIVELIHOOD,
        category="卫生计生",
        attributes=ATTRIBUTES,
    ),
    Service(
        code=GENERAL,
        name=_("Other matters"),
        description=_(
            "Anything else: the desk reads it and sends it to the department that handles it."
        ),
        keywords=_("consultation, complaint, suggestion, help, other"),
        group=_("General"),
        attributes=ATTRIBUTES,
    ),
)

SERVICE_BY_CODE: dict[str, Service] = {s.code: s for s in SERVICES}
SERVICE_BY_CATEGORY: dict[str, Service] = {s.category: s for s in SERVICES if s.category}


def service_get(code: str) -> Service | None:
    return SERVICE_BY_CODE.get(code)


SERVICE_BY_DEPARTMENT_KIND: dict[str, Service] = {
    s.department_kind: s for s in SERVICES if s.category
}


def service_for_ticket(service_code: str, department_kind: str | None, category: str) -> Service:
    """The service a ticket belongs to: the one it was sent to over Open311; for tickets from
    the web and the hotline, the one whose matter its lead department handles, else the one
    naming its dispatch category; else the general one."""
    return (
        SERVICE_BY_CODE.get(service_code)
        or SERVICE_BY_DEPARTMENT_KIND.get(department_kind or "")
        or SERVICE_BY_CATEGORY.get(category)
        or SERVICE_BY_CODE[GENERAL]
    )
