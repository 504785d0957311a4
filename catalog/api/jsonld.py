"""Service items as CPSV-AP 3.x JSON-LD (the EU Core Public Service Vocabulary Application Profile).

One item is one ``cpsv:PublicService``. Everything CPSV-AP can say is said with its own terms
(``cpsv:``, ``cv:``, ``dct:``, ``eli:``, ``skos:``, ``schema:``); what the national
implementation list adds and CPSV-AP has no word for is said in our own namespace ``zb:``:

    zb = https://zheliban.example.gov.cn/ns#  (``ZHELIBAN_NS``: fixed, never taken from the host)

    zb:statutoryDays  xsd:integer  statutory limit in working days (absent when the law sets none)
    zb:promisedDays   xsd:integer  promised limit in working days (0: handled on the spot, 即办件)
    zb:compression    xsd:decimal  share of the statutory limit the promise removes (0.75 = 75 %)
    zb:workingDays    xsd:boolean  true: ``cv:processingTime`` counts working days (工作日)
    zb:trips          xsd:integer  trips to the service hall (到办事现场次数)
    zb:online / zb:mobile / zb:idOnly   xsd:boolean  handled online / on a phone / ID card alone
    zb:version        xsd:integer  the published version of the item
    zb:itemType       concept      zb:type-<code> (xzxk 行政许可, xzqr 行政确认, ... ggfw 公共服务)
    on cv:Evidence: zb:source (applicant | issued | shared), zb:form (original | copy | both |
    electronic | verified_online: an original checked online where no trip is made, as
    ``Material.provided_form``), zb:required, zb:copies, zb:issuer (cv:PublicOrganisation)
    concepts: zb:channel-<online|mobile|counter|courier|appointment>,
    zb:audience-<citizen|enterprise>, zb:kind-<department kind>, zb:stage-<joint-handling stage>

Property names follow the CPSV-AP 3.2.0 JSON-LD context (``dct:title`` for names,
``cv:hasValue`` for a cost, ``cv:contactPoint`` ...). Strings are Chinese (``zh-Hans``) unless
the context says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import translation

from catalog.models import Audience, ServiceItem

ZHELIBAN_NS = "https://zheliban.example.gov.cn/ns#"
CURRENCY_CNY = "http://publications.europa.eu/resource/authority/currency/CNY"
LANGUAGE = "zh-hans"  # Django's name; "zh-Hans" in BCP 47

CONTEXT: dict[str, Any] = {
    "cpsv": "http://purl.org/vocab/cpsv#",
    "cv": "http://data.europa.eu/m8g/",
    "dct": "http://purl.org/dc/terms/",
    "eli": "http://data.europa.eu/eli/ontology#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "https://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "zb": ZHELIBAN_NS,
    "@language": "zh-Hans",
    # Codes, numbers and phone numbers are not Chinese text.
    "dct:identifier": {"@language": None},
    "cv:telephone": {"@language": None},
    "schema:contactType": {"@language": None},
    "zb:source": {"@language": None},
    "zb:form": {"@language": None},
    "cv:processingTime": {"@type": "xsd:duration"},
    "cv:hasValue": {"@type": "xsd:double"},
    "cv:currency": {"@type": "@id"},
    "dct:type": {"@type": "@id"},
    "dct:audience": {"@type": "@id"},
    "cv:role": {"@type": "@id"},
    "schema:url": {"@type": "@id"},
    "zb:compression": {"@type": "xsd:decimal"},
}

CHANNELS = ("online", "mobile", "counter", "courier", "appointment")

UrlFor = Callable[[Any], str]
"""Absolute web address of a catalog or department object (its public page)."""


def _yuan(fen: int) -> str:
    """Fen as a yuan amount with two decimals, exactly (no float on the way)."""
    return f"{fen // 100}.{fen % 100:02d}"


def _region(region) -> dict[str, Any]:
    return {"@type": "dct:Location", "dct:identifier": region.code, "skos:prefLabel": region.name}


def _organisation(department, *, url_for: UrlFor) -> dict[str, Any]:
    return {
        "@id": url_for(department),
        "@type": "cv:PublicOrganisation",
        "dct:identifier": department.code,
        "skos:prefLabel": department.name,
    }


def _processing_time(item: ServiceItem) -> int | None:
    """The limit a citizen can count on: the promise if given, else the statutory limit."""
    return item.promised_days if item.promised_days is not None else item.statutory_days


def item_as_jsonld(item: ServiceItem, *, url_for: UrlFor) -> dict[str, Any]:
    """The item as a ``cpsv:PublicService`` document, in Chinese whatever the request's language.

    ``item`` comes with its department (and the department's region) and region selected and its
    materials (with issuers), joint stages (with departments), themes and life events prefetched,
    so this runs no query.
    """
    with translation.override(LANGUAGE):
        return _public_service(item, url_for=url_for)


def _public_service(item: ServiceItem, *, url_for: UrlFor) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": url_for(item),
        "@type": "cpsv:PublicService",
        "dct:identifier": item.code,
        "dct:title": item.name,
    }
    if item.summary:
        doc["dct:description"] = item.summary
    doc["dct:audience"] = [
        f"zb:audience-{audience}"
        for audience, applies in (
            (Audience.CITIZEN, item.for_citizens),
            (Audience.ENTERPRISE, item.for_enterprises),
        )
        if applies
    ]
    authority = _organisation(item.department, url_for=url_for)
    authority["dct:spatial"] = _region(item.department.region)
    doc["cv:hasCompetentAuthority"] = authority
    doc["dct:spatial"] = _region(item.region)
    doc["zb:itemType"] = {
        "@id": f"zb:type-{item.item_type}",
        "@type": "skos:Concept",
        "skos:prefLabel": str(ServiceItem.ItemType(item.item_type).label),
    }
    doc["cv:thematicArea"] = {
        "@id": f"zb:kind-{item.department.kind}",
        "@type": "skos:Concept",
        "skos:prefLabel": item.department.get_kind_display(),
    }
    doc["cv:isClassifiedBy"] = [
        {
            "@id": url_for(theme),
            "@type": "skos:Concept",
            "dct:identifier": theme.slug,
            "skos:prefLabel": theme.name,
        }
        for theme in item.themes.all()
    ]
    events = list(item.life_events.all())
    if events:
        doc["cv:isGroupedBy"] = [
            {
                "@id": url_for(event),
                "@type": "cv:BusinessEvent"
                if event.audience == Audience.ENTERPRISE
                else "cv:LifeEvent",
                "dct:identifier": event.slug,
                "dct:title": event.name,
            }
            for event in events
        ]
    doc["cpsv:hasInput"] = [
        _evidence(item, position, material, url_for=url_for)
        for position, material in enumerate(item.materials.all(), start=1)
    ]
    if item.fee_fen:
        cost: dict[str, Any] = {
            "@type": "cv:Cost",
            "cv:hasValue": _yuan(item.fee_fen),
            "cv:currency": CURRENCY_CNY,
        }
        if item.fee_note:
            cost["dct:description"] = item.fee_note
        doc["cv:hasCost"] = [cost]
    doc["cv:hasChannel"] = [_channel(item, name) for name in CHANNELS if getattr(item, name)]
    legal = [line.strip() for line in item.legal_basis.splitlines() if line.strip()]
    if legal:
        doc["cv:hasLegalResource"] = [
            {"@type": "eli:LegalResource", "dct:title": line} for line in legal
        ]
    stages = list(item.joint_stages.all())
    if stages:
        doc["cv:hasParticipation"] = [
            {
                "@type": "cv:Participation",
                "cv:role": f"zb:stage-{stage.stage}",
                "dct:description": stage.get_stage_display(),
                "cv:hasParticipant": _organisation(stage.department, url_for=url_for),
            }
            for stage in stages
        ]
    contacts = [
        {"@type": "cv:ContactPoint", "schema:contactType": kind, "cv:telephone": phone}
        for kind, phone in (
            ("consultation", item.consult_phone),
            ("complaint", item.complaint_phone),
        )
        if phone
    ]
    if contacts:
        doc["cv:contactPoint"] = contacts
    days = _processing_time(item)
    if days is not None:
        doc["cv:processingTime"] = f"P{days}D"
        doc["zb:workingDays"] = True
    if item.statutory_days is not None:
        doc["zb:statutoryDays"] = item.statutory_days
    if item.promised_days is not None:
        doc["zb:promisedDays"] = item.promised_days
    compression = item.compression
    if compression is not None:
        doc["zb:compression"] = f"{compression:.4f}".rstrip("0").rstrip(".")
    doc["zb:trips"] = item.trips
    doc["zb:online"] = item.online
    doc["zb:mobile"] = item.mobile
    doc["zb:idOnly"] = item.id_only
    doc["zb:version"] = item.version
    return doc


def _evidence(item: ServiceItem, position: int, material, *, url_for: UrlFor) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "cv:Evidence",
        "dct:identifier": f"{item.code}-{position}",
        "dct:title": material.name,
        "zb:source": material.source,
        "zb:form": material.provided_form(trips=item.trips),
        "zb:required": material.required,
        "zb:copies": material.copies,
    }
    if material.note:
        node["dct:description"] = material.note
    if material.issuer_id:
        node["zb:issuer"] = _organisation(material.issuer, url_for=url_for)
    return node


def _channel(item: ServiceItem, name: str) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": "cv:Channel", "dct:type": f"zb:channel-{name}"}
    if name == "online" and item.online_url:
        node["schema:url"] = item.online_url
    if name == "counter" and item.location:
        node["dct:description"] = item.location
    return node
