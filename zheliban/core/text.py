"""Text that comes in from outside: the characters refused everywhere, and width folding."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _

# C0 controls except tab, line feed and carriage return; DEL; and lone UTF-16 surrogates, which
# only a JSON escape such as "\ud800" can produce. PostgreSQL refuses NUL in text, UTF-8 cannot
# encode a lone surrogate, and no page, notice or export has a use for the others.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

CONTROL_CHARACTER_CODE = "control_character"
CONTROL_CHARACTER_MESSAGE = _(
    "The text contains a control character (such as NUL) that cannot be accepted. "
    "Remove it and send again."
)


def has_control_character(text: str) -> bool:
    return CONTROL_CHARACTER.search(text) is not None


def fold_width(text: str) -> str:
    """Full-width digits, letters, signs and spaces, as Chinese input methods type them, in their
    ASCII forms (Unicode NFKC): ``１３８ ００１３`` → ``138 0013``."""
    return unicodedata.normalize("NFKC", text)


def fields_with_control_characters(pairs: Iterable[tuple[str, Iterable[str]]]) -> list[str]:
    """The names among ``(name, values)`` pairs (``QueryDict.lists()``) whose name or a value
    carries a control character; ``""`` stands for a name that itself carries one."""
    found = []
    for name, values in pairs:
        if has_control_character(name):
            found.append("")
        elif any(has_control_character(value) for value in values):
            found.append(name)
    return found


def json_fields_with_control_characters(data: Any) -> list[str]:
    """The top-level keys of parsed JSON under which a key or a string at any depth carries a
    control character (``""`` for a bad key itself, or for a document that is not an object).

    Walks without recursion, so a deeply nested document cannot exhaust the stack."""
    roots = list(data.items()) if isinstance(data, dict) else [("", data)]
    found = []
    for name, value in roots:
        if has_control_character(name):
            found.append("")
            continue
        pending = [value]
        while pending:
            item = pending.pop()
            if isinstance(item, str):
                dirty = has_control_character(item)
            elif isinstance(item, dict):
                dirty = any(has_control_character(key) for key in item)
                pending.extend(item.values())
            elif isinstance(item, list):
                dirty = False
                pending.extend(item)
            else:
                dirty = False
            if dirty:
                found.append(name)
                break
    return found


def rounded_number(value, places: int) -> str:
    """``value`` rounded half up to ``places`` decimals and written as the page's language
    writes numbers. Django's ``number_format`` cuts the digits off (4/11 would read 36.3 %)."""
    from decimal import ROUND_HALF_UP, Decimal

    from django.utils.formats import number_format

    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number_format(exact, places)
