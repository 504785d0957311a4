"""The staff links of the site navigation: only those the visitor may use."""

from __future__ import annotations

from functools import cached_property

from complaints.selectors import may_work_tickets
from workflows.selectors import may_work_tasks


class StaffLinks:
    """Which staff pages the user may open, asked of the functions the pages themselves ask,
    and only when a template asks."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def worklist(self) -> bool:
        return may_work_tasks(user=self.user)

    @cached_property
    def tickets(self) -> bool:
        return may_work_tickets(user=self.user)


def staff_links(request) -> dict:
    return {"staff_links": StaffLinks(getattr(request, "user", None))}
