"""How the catalog words its figures: working days, time limits and how much shorter the promise
is, trips to the hall, fees. Pages (through the template filters) and the assistant say them
alike."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext, ngettext


def _days(n: int) -> str:
    return ngettext("%(count)d working day", "%(count)d working days", n) % {"count": n}


def working_days(value) -> str:
    """5 → "5 working days"; 0 → handled on the spot; empty → not given."""
    if value is None or value == "":
        return gettext("not given")
    if int(value) == 0:
        return gettext("handled on the spot")
    return _days(int(value))


def percent(value) -> str:
    """0.75 → "75"."""
    if value is None or value == "":
        return ""
    return str(round(float(value) * 100))


def time_limits(item) -> str:
    """Statutory vs promised limit and how much shorter the promise is, in one sentence."""
    parts = [
        gettext("Statutory limit: %(days)s") % {"days": working_days(item.statutory_days)},
        gettext("promised: %(days)s") % {"days": working_days(item.promised_days)},
    ]
    if item.compression is not None and item.statutory_days:
        parts.append(gettext("%(percent)s%% shorter") % {"percent": percent(item.compression)})
    return gettext("; ").join(parts)


def trips_text(trips) -> str:
    if not trips:
        return gettext("Zero trips: no need to go to the hall")
    return ngettext("%(count)d trip to the hall", "%(count)d trips to the hall", int(trips)) % {
        "count": int(trips)
    }


def yuan(fen) -> str:
    """Fee in fen → "¥12.50"; nothing to pay → free."""
    if not fen:
        return gettext("Free")
    return f"¥{Decimal(int(fen)) / 100:,.2f}"
