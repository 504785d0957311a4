"""The staff links of the site navigation: only those the visitor may use; and what the staff home
and the overdue view read from the floors above joint handling (tickets, the board), which the
workflows app may not import."""

from __future__ import annotations

from functools import cached_property

from complaints.selectors import may_work_tickets, tickets_overdue_overseen
from departments.scoping import overseen_department_ids
from departments.selectors import staff_roles
from scoreboard import selectors as board
from scoreboard.models import Snapshot
from scoreboard.views import flags_for, peer_averages
from workflows.selectors import may_work_tasks
from workflows.services.counter import may_use_counter


class StaffLinks:
    """Which staff pages the user may open, asked of the functions the pages themselves ask,
    and only when a template asks."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def worklist(self) -> bool:
        return may_work_tasks(user=self.user)

    @cached_property
    def counter(self) -> bool:
        return may_use_counter(user=self.user)

    @cached_property
    def tickets(self) -> bool:
        return may_work_tickets(user=self.user)

    @cached_property
    def home(self) -> bool:
        """The staff home (/staff/): anyone holding a role in a department, and superusers."""
        user = self.user
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        return user.is_superuser or bool(staff_roles(user=user))

    @cached_property
    def oversees(self) -> bool:
        """A supervisor of a government service centre, who watches the region's overdue work."""
        user = self.user
        if not self.home or user.is_superuser:
            return False
        return overseen_department_ids(user).exists()

    @cached_property
    def overdue_tickets_overseen(self) -> list:
        """The overdue tickets of the departments the user oversees (one query)."""
        return list(tickets_overdue_overseen(user=self.user)) if self.oversees else []

    @cached_property
    def board_flags(self) -> list[dict]:
        """The red and yellow flags the staff board raises for the user's departments in the
        newest monthly snapshot (three queries): ``[{department, red, yellow}]``, flagged
        departments only."""
        if not self.home:
            return []
        snapshot = board.snapshot_latest(Snapshot.Period.MONTH)
        if snapshot is None:
            return []
        allowed = board.department_ids_in_scope(self.user)
        scores = board.snapshot_department_scores(snapshot)
        averages = peer_averages(scores)
        flagged = []
        for score in scores:
            if score.department_id not in allowed:
                continue
            red, yellow = flags_for(score, averages.get(score.level, {}))
            if red or yellow:
                flagged.append({"department": score.department, "red": red, "yellow": yellow})
        return flagged


def staff_links(request) -> dict:
    return {"staff_links": StaffLinks(getattr(request, "user", None))}
