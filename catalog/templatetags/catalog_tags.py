"""Catalog fragments and formats for any template: a department's items on its shop page (the
departments app may not import the catalog), popular services and bundles for the home page, and
how a guide words time limits, trips, fees and phone numbers."""

from __future__ import annotations

import re
from decimal import Decimal

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from catalog import selectors

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


def _days(n: int) -> str:
    return ngettext("%(count)d working day", "%(count)d working days", n) % {"count": n}


@register.filter
def working_days(value) -> str:
    """5 → "5 working days"; 0 → handled on the spot; empty → not given."""
    if value is None or value == "":
        return gettext("not given")
    if int(value) == 0:
        return gettext("handled on the spot")
    return _days(int(value))


@register.filter
def percent(value) -> str:
    """0.75 → "75"."""
    if value is None or value == "":
        return ""
    return str(round(float(value) * 100))


@register.filter
def time_limits(item) -> str:
    """Statutory vs promised limit and how much shorter the promise is, in one sentence."""
    parts = [
        gettext("Statutory limit: %(days)s") % {"days": working_days(item.statutory_days)},
        gettext("promised: %(days)s") % {"days": working_days(item.promised_days)},
    ]
    if item.compression is not None and item.statutory_days:
        parts.append(gettext("%(percent)s%% shorter") % {"percent": percent(item.compression)})
    return gettext("; ").join(parts)


@register.filter
def trips_text(trips) -> str:
    if not trips:
        return gettext("Zero trips: no need to go to the hall")
    return ngettext("%(count)d trip to the hall", "%(count)d trips to the hall", int(trips)) % {
        "count": int(trips)
    }


@register.filter
def yuan(fen) -> str:
    """Fee in fen → "¥12.50"; nothing to pay → free."""
    if not fen:
        return gettext("Free")
    return f"¥{Decimal(int(fen)) / 100:,.2f}"


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
