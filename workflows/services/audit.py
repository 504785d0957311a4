"""Audit rows of reads: staff searching cases by a person's name, ID number or mobile."""

from __future__ import annotations

from ..models import StaffSearch
from ..selectors import SearchKey


def staff_search_record(*, user, where: str, key: SearchKey, found: int) -> StaffSearch:
    """Log one search of cases by a member of staff, the key masked (an audit row of a read,
    like the reveal of a task's ID numbers)."""
    return StaffSearch.objects.create(
        user=user, where=where, kind=key.kind, query_masked=key.masked[:64], found=found
    )
