"""Catalog fragments and formats for any template: a department's items on its shop page (the
departments app may not import the catalog), popular services and bundles for the home page, and
how a guide words time limits, trips, fees and phone numbers."""

from __future__ import annotations

import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from catalog import selectors, wording

register = template.Library()

SHOP_ITEM_LIMIT = 10
# A run of digits, dashes, spaces and brackets long enough to be a telephone number.
PHONE_RE = re.compile(r"\+?\d[\d\-\s()（）]{3,}\d")


@register.inclusion_tag("includes/department_items.html")
def department_items(department, limit: int = SHOP_ITEM_LIMIT):
    """A department's most used published items and its online and zero-trip counts (2 queries)."""
    return {
        "department": department,
        "items": selectors.department_item_list_popular(department=department, limit=limit),
        "stats": selectors.department_item_stats(department=department),
    }


@register.simple_tag
def popular_services(limit: int = 8):
    return selectors.item_list_popular(limit=limit)


@register.simple_tag
def popular_bundles(limit: int = 4):
    return selectors.bundle_list_popular(limit=limit)


for _name in ("working_days", "percent", "time_limits", "trips_text", "yuan"):
    register.filter(_name, getattr(wording, _name))


@register.filter
def phone_links(text) -> SafeString:
    """Telephone numbers in free text as tel: links; the words around them stay as they are."""
    text = str(text or "")
    html = []
    position = 0
    for match in PHONE_RE.finditer(text):
        number = match.group(0).strip()
        dial = re.sub(r"[^\d+]", "", number)
        if len(dial) < 5:
            continue
        html.append(conditional_escape(text[position : match.start()]))
        html.append(format_html('<a href="tel:{}">{}</a>', dial, number))
        position = match.end()
    html.append(conditional_escape(text[position:]))
    return mark_safe("".join(html))  # noqa: S308 - every piece is escaped above
