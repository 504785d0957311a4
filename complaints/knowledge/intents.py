"""Questions about one item ("办理X要什么材料", "X多久能办好", "X在哪里办", "X要钱吗") and their
answers, composed only from that item's own fields (its guide): nothing is said that the guide
does not say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from catalog.models import Material, ServiceItem
from catalog.wording import time_limits, yuan
from departments.models import ServiceLocation

from .text import normalize

MATERIALS = "materials"
TIME = "time"
LOCATION = "location"
FEE = "fee"
OVERVIEW = "overview"

# Checked in this order: "在哪里交钱" is about the fee's place, but people ask the fee that way
# less often than where to go, so the place wins.
INTENT_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    (MATERIALS, re.compile(r"材料|资料|证件|带什么|带哪些|准备什么|准备哪些|要带|需带")),
    (
        TIME,
        re.compile(
            r"多久|多长时间|多少天|几天|几个工作日|时限|期限|多快|办结时间|"
            r"什么时候(?:能|可以)?(?:办好|办完|拿到|下来)"
        ),
    ),
    (LOCATION, re.compile(r"在哪|哪里|哪儿|去哪|什么地方|地点|地址|窗口|电话|怎么联系")),
    (FEE, re.compile(r"要钱|收费|费用|多少钱|免费|交钱|付费|花钱|缴费|交费|收不收费")),
)
# What a question about an item says besides the item's name.
FILLER_RE = re.compile(
    r"请问|我想|我要|想要|需要|需|要|什么|哪些|哪里|哪儿|在哪|去哪|怎么|如何|多久|多长时间|"
    r"能|可以|办好|办完|拿到|办理|申请|申办|办|材料|资料|证件|带|准备|时间|地点|地址|窗口|电话|"
    r"收费|费用|多少钱|免费|要钱|交钱|付费|花钱|缴费|交费|吗|呢|啊|呀|吧|的|了|去|一下|"
    r"[?？!！。，,、\s]"
)


def detect(question: str) -> str | None:
    """The item intent a question asks, or None."""
    text = normalize(question)
    for intent, pattern in INTENT_PATTERNS:
        if pattern.search(text):
            return intent
    return None


def item_words(question: str) -> str:
    """What is left of a question about an item once the intent and filler words are dropped:
    the item's name, more or less."""
    return FILLER_RE.sub("", normalize(question))


@dataclass(frozen=True)
class ItemAnswer:
    text: str


def _material(material: Material) -> str:
    name = material.name
    if material.source == Material.Source.SHARED:
        return _("%(name)s (%(source)s)") % {
            "name": name,
            "source": material.get_source_display(),
        }
    if not material.required:
        return _("%(name)s (if applicable)") % {"name": name}
    return name


def _location(location: ServiceLocation) -> str:
    parts = [f"{location.name}: {location.address}"]
    if location.windows:
        parts.append(location.windows)
    if location.opening_hours:
        parts.append(location.opening_hours)
    if location.phone:
        parts.append(_("phone %(phone)s") % {"phone": location.phone})
    return _(", ").join(parts)


def compose(
    intent: str, item: ServiceItem, *, materials: list[Material], locations: list[ServiceLocation]
) -> str | None:
    """The answer to ``intent`` about ``item`` from its fields; None when the guide says nothing
    on it."""
    name = item.name
    if intent == MATERIALS:
        if not materials:
            return _("%(item)s: the guide lists no materials.") % {"item": name}
        return _("Materials for %(item)s: %(materials)s.") % {
            "item": name,
            "materials": _("; ").join(_material(m) for m in materials),
        }
    if intent == TIME:
        return _("%(item)s: %(limits)s.") % {"item": name, "limits": time_limits(item)}
    if intent == FEE:
        text = _("%(item)s: fee %(fee)s.") % {"item": name, "fee": yuan(item.fee_fen)}
        if item.fee_note:
            text += " " + item.fee_note
        return text
    if intent == LOCATION:
        parts = []
        if item.location:
            parts.append(
                _("Where to apply for %(item)s: %(location)s.")
                % {"item": name, "location": " ".join(item.location.split())}
            )
        if locations:
            parts.append(
                _("%(department)s receives applicants at: %(places)s.")
                % {
                    "department": item.department.name,
                    "places": _("; ").join(_location(loc) for loc in locations),
                }
            )
        if item.consult_phone:
            parts.append(_("Questions: %(phone)s.") % {"phone": item.consult_phone})
        return " ".join(parts) or None
    # OVERVIEW: what the guide says the item is, and how long it takes.
    parts = [item.summary.strip()] if item.summary.strip() else []
    parts.append(_("%(item)s: %(limits)s.") % {"item": name, "limits": time_limits(item)})
    return " ".join(parts)


def item_load(item_id: int, intent: str) -> tuple[ServiceItem, list[Material], list]:
    """The item with what ``intent`` reads: 1 query, plus 1 for materials or 1 for locations."""
    item = (
        ServiceItem.objects.select_related("department")
        .only(
            "id",
            "code",
            "name",
            "summary",
            "statutory_days",
            "promised_days",
            "fee_fen",
            "fee_note",
            "location",
            "consult_phone",
            "department__id",
            "department__name",
        )
        .get(pk=item_id)
    )
    materials: list[Material] = []
    locations: list[ServiceLocation] = []
    if intent == MATERIALS:
        materials = list(
            Material.objects.filter(item_id=item_id)
            .only("name", "source", "required", "sort_order")
            .order_by("sort_order", "id")
        )
    elif intent == LOCATION:
        locations = list(
            ServiceLocation.objects.filter(department_id=item.department_id).order_by("name", "id")
        )
    return item, materials, locations
