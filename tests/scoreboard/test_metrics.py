"""The sunning board's figures, proved against values worked out by hand.

The database is filled with the ORM directly, timestamps set explicitly, as the transition
services would have left it: items with chosen channels and limits, tasks with their history rows,
ratings, rectifications, tickets and the departments' parts in them. Every figure below is a
literal with its arithmetic in a comment; nothing expected is computed by the code under test.

The period is March 2026 in local time (Asia/Shanghai): [2026-03-01 00:00, 2026-04-01 00:00).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from catalog.models import ServiceItem
from complaints.models import Ticket, TicketDepartment
from departments.models import Department, Region
from scoreboard import services
from scoreboard.metrics import METRICS, default_weights
from scoreboard.models import Score, Snapshot, WeightSet
from scoreboard.selectors import (
    UNRANKED_LOW_VOLUME,
    UNRANKED_NO_ACTIVITY,
    drilldown,
    unranked_reason,
)
from tests.factories import DepartmentFactory, ServiceItemFactory, UserFactory
from workflows.models import Application, Rating, Rectification, Task, TaskEvent

SH = ZoneInfo("Asia/Shanghai")
MARCH = dt.date(2026, 3, 15)
FEBRUARY = dt.date(2026, 2, 15)
APRIL = dt.date(2026, 4, 15)
S = Task.State
P = TicketDepartment.State
EMPTY = {"num": 0.0, "den": 0.0, "value": None, "low": None, "high": None}

# Wilson 95 % interval with z = 1.96: p = k/n; centre = p + z²/2n;
# margin = z·√(p(1−p)/n + z²/4n²); (centre ∓ margin) / (1 + z²/n), clamped to [0, 1].
# e.g. (3, 4): p = .75, centre = .75 + 3.8416/8 = 1.2302,
#   margin = 1.96·√(.1875/4 + 3.8416/64) = 1.96·√(.046875 + .060025) = 1.96·.326956 = .640834,
#   scale = 1 + 3.8416/4 = 1.9604 → (.589366/1.9604, 1.871034/1.9604) = (.300636, .954414).
# (scipy.stats.binomtest(k, n).proportion_ci(method="wilson"), with z = 1.959964, agrees to 1e-5.)
WILSON = {
    (0, 1): (0.000000000000, 0.793456708526),
    (1, 1): (0.206543291474, 1.000000000000),
    (0, 2): (0.000000000000, 0.657628047110),
    (1, 2): (0.094528654801, 0.905471345199),
    (2, 2): (0.342371952890, 1.000000000000),
    (1, 3): (0.061490315276, 0.792345044874),
    (2, 3): (0.207654955126, 0.938509684724),
    (3, 3): (0.438493919551, 1.000000000000),
    (1, 4): (0.045586062645, 0.699363947557),
    (2, 4): (0.150035708820, 0.849964291180),
    (3, 4): (0.300636052443, 0.954413937355),
    (1, 6): (0.030052585872, 0.563509436564),
    (3, 5): (0.230719932209, 0.882381768841),
    (6, 7): (0.486865496681, 0.974321044051),
    (2, 10): (0.056680947981, 0.509843153279),
}


def at(*parts: int) -> dt.datetime:
    """A local (Asia/Shanghai) moment."""
    return dt.datetime(*parts, tzinfo=SH)


# ---------------------------------------------------------------- building what happened

_keys = itertools.count(1)


def make_item(department: Department, **fields) -> ServiceItem:
    values = {
        "online": False,
        "mobile": False,
        "trips": 1,
        "id_only": False,
        "statutory_days": None,
        "promised_days": None,
    }
    return ServiceItemFactory(department=department, **{**values, **fields})


def make_case(citizen, item: ServiceItem, status=Application.Status.COMPLETED) -> Application:
    n = next(_keys)
    return Application.objects.create(
        applicant=citizen,
        item=item,
        status=status,
        idempotency_key=f"case-{n}",
        reference=f"ZB-T{n:06d}",
    )


def make_task(
    case: Application,
    department: Department,
    *,
    state: str,
    ready: dt.datetime | None = None,
    finished: dt.datetime | None = None,
    due: dt.date | None = None,
    events: tuple[tuple[str, dt.datetime], ...] = (),
) -> Task:
    task = Task.objects.create(
        application=case,
        step=f"step-{next(_keys)}",
        item=case.item,
        department=department,
        state=state,
        due_workdays=1,
        due_date=due,
        ready_at=ready,
        finished_at=finished,
    )
    for action, when in events:
        event = TaskEvent.objects.create(application=case, task=task, action=action)
        TaskEvent.objects.filter(pk=event.pk).update(at=when)  # auto_now_add: set afterwards
    return task


def make_rating(case: Application, score: int, created: dt.datetime) -> Rating:
    return Rating.objects.create(application=case, score=score, created_at=created)


def make_rectification(
    rating: Rating, department: Department, *, fix_due: dt.date, state: str, fixed=None
) -> Rectification:
    return Rectification.objects.create(
        rating=rating,
        department=department,
        state=state,
        callback_due=fix_due - dt.timedelta(days=14),
        fix_due=fix_due,
        fixed_at=fixed,
    )


def make_ticket(department: Department | None, created: dt.datetime, **fields) -> Ticket:
    values = {
        "kind": Ticket.Kind.COMPLAINT,
        "channel": Ticket.Channel.WEB,
        "title": "示例诉求",
        "content": "示例内容",
        "state": Ticket.State.HANDLING,
        "department": department,
        "created_at": created,
    }
    return Ticket.objects.create(**{**values, **fields})


def make_part(
    ticket: Ticket, department: Department, created: dt.datetime, state: str, lead: bool = True
) -> TicketDepartment:
    return TicketDepartment.objects.create(
        ticket=ticket, department=department, is_lead=lead, state=state, created_at=created
    )


# ---------------------------------------------------------------- the board's world


@dataclass
class Board:
    province: Region
    city_a: Region
    county: Region
    city_b: Region
    a1: Department  # busy
    a2: Department
    a3: Department  # nothing at all
    k1: Department  # one item, in a county below city A
    b1: Department  # the other city
    citizen: object


def build_board() -> Board:
    province = Region.objects.create(code="330000", name="浙江省", level="province")
    city_a = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    county = Region.objects.create(code="330106", name="西湖区", level="county", parent=city_a)
    city_b = Region.objects.create(code="330200", name="宁波市", level="city", parent=province)
    a1 = DepartmentFactory(code="330100-a", name="杭州市甲局", region=city_a)
    a2 = DepartmentFactory(code="330100-b", name="杭州市乙局", region=city_a)
    a3 = DepartmentFactory(code="330100-c", name="杭州市丙局", region=city_a)
    k1 = DepartmentFactory(code="330106-a", name="西湖区甲局", region=county)
    b1 = DepartmentFactory(code="330200-a", name="宁波市甲局", region=city_b)
    # neither is on the board: the 12345 desk, and a department no longer active
    DepartmentFactory(code="330100-rexian", kind=Department.Kind.HOTLINE, region=city_a)
    gone = DepartmentFactory(code="330100-gone", region=city_a, is_active=False)
    make_item(gone, online=True, mobile=True, trips=0, id_only=True, statutory_days=9)
    citizen = UserFactory()

    # ---- the catalog (a state, not events: every period sees it)
    i1 = make_item(
        a1, online=True, mobile=True, trips=0, id_only=True, statutory_days=20, promised_days=5
    )
    make_item(a1, online=True, trips=0, statutory_days=10, promised_days=10)
    make_item(a1, online=True, mobile=True, statutory_days=0, promised_days=0)  # on the spot
    make_item(a1, trips=2)  # no statutory limit
    make_item(  # withdrawn from publication: counts nowhere
        a1,
        online=True,
        mobile=True,
        trips=0,
        id_only=True,
        statutory_days=30,
        promised_days=1,
        is_active=False,
    )
    i2 = make_item(
        a2, online=True, mobile=True, trips=0, id_only=True, statutory_days=15, promised_days=3
    )
    make_item(a2, online=True, id_only=True, statutory_days=5)  # nothing promised
    i3 = make_item(b1, statutory_days=8, promised_days=2)
    make_item(
        k1, online=True, mobile=True, trips=0, id_only=True, statutory_days=10, promised_days=1
    )

    # ---- applications: only the history says a step was finished, and when
    case1 = make_case(citizen, i1)  # two steps of A1 and one of A2
    make_task(  # t1: finished 06 Mar 07:00 local (05 Mar 23:00 UTC), due 05 Mar: late
        case1,
        a1,
        state=S.COMPLETED,
        ready=at(2026, 3, 3, 7),
        finished=at(2026, 3, 6, 7),
        due=dt.date(2026, 3, 5),
        events=(("claim", at(2026, 3, 3, 8)), ("complete", at(2026, 3, 6, 7))),
    )
    make_task(  # t2: finished at the very start of March, on time, after a correction
        case1,
        a1,
        state=S.COMPLETED,
        ready=at(2026, 2, 27),
        finished=at(2026, 3, 1),
        due=dt.date(2026, 3, 2),
        events=(("correction", at(2026, 2, 27, 12)), ("complete", at(2026, 3, 1))),
    )
    make_task(  # u1: A2, 3 days, on time
        case1,
        a2,
        state=S.COMPLETED,
        ready=at(2026, 3, 10, 9),
        finished=at(2026, 3, 13, 9),
        due=dt.date(2026, 3, 13),
        events=(("complete", at(2026, 3, 13, 9)),),
    )
    case2 = make_case(citizen, i1, Application.Status.REJECTED)
    make_task(  # t3: rejected after 1.5 days
        case2,
        a1,
        state=S.REJECTED,
        ready=at(2026, 3, 9),
        finished=at(2026, 3, 10, 12),
        due=dt.date(2026, 3, 20),
        events=(("reject", at(2026, 3, 10, 12)),),
    )
    case3 = make_case(citizen, i1)
    make_task(  # t7: the last second of March, half a day, corrected, extended, on time
        case3,
        a1,
        state=S.COMPLETED,
        ready=at(2026, 3, 31, 11, 59, 59),
        finished=at(2026, 3, 31, 23, 59, 59),
        due=dt.date(2026, 3, 31),
        events=(
            ("correction", at(2026, 3, 31, 12)),
            ("extend_approve", at(2026, 3, 31, 13)),
            ("complete", at(2026, 3, 31, 23, 59, 59)),
        ),
    )
    case4 = make_case(citizen, i1)
    make_task(  # t4: finished at the first moment of April: not March
        case4,
        a1,
        state=S.COMPLETED,
        ready=at(2026, 3, 30),
        finished=at(2026, 4, 1),
        due=dt.date(2026, 4, 1),
        events=(("complete", at(2026, 4, 1)),),
    )
    case5 = make_case(citizen, i1)
    make_task(  # t5: completed in March by the row, but no history row says so: never counted
        case5,
        a1,
        state=S.COMPLETED,
        ready=at(2026, 3, 14),
        finished=at(2026, 3, 15),
        due=dt.date(2026, 3, 20),
    )
    case6 = make_case(citizen, i1)
    make_task(  # t6: February, 2 days, late
        case6,
        a1,
        state=S.COMPLETED,
        ready=at(2026, 2, 18),
        finished=at(2026, 2, 20),
        due=dt.date(2026, 2, 19),
        events=(("complete", at(2026, 2, 20)),),
    )
    case7 = make_case(citizen, i1)
    make_task(  # t8: February, 1 day, on time
        case7,
        a1,
        state=S.COMPLETED,
        ready=at(2026, 2, 24),
        finished=at(2026, 2, 25),
        due=dt.date(2026, 2, 25),
        events=(("complete", at(2026, 2, 25)),),
    )
    case8 = make_case(citizen, i1, Application.Status.IN_PROGRESS)
    make_task(  # still open: claimed and sent back for a correction in March, not finished
        case8,
        a1,
        state=S.CORRECTION,
        ready=at(2026, 3, 2),
        due=dt.date(2026, 3, 9),
        events=(("claim", at(2026, 3, 2, 9)), ("correction", at(2026, 3, 3, 9))),
    )
    case9 = make_case(citizen, i2, Application.Status.REJECTED)
    make_task(  # u2: A2, rejected after one day, corrected before
        case9,
        a2,
        state=S.REJECTED,
        ready=at(2026, 3, 15),
        finished=at(2026, 3, 16),
        due=dt.date(2026, 3, 18),
        events=(("correction", at(2026, 3, 15, 10)), ("reject", at(2026, 3, 16))),
    )
    case10 = make_case(citizen, i3)
    make_task(  # v1: B1, 4 days, late
        case10,
        b1,
        state=S.COMPLETED,
        ready=at(2026, 3, 1),
        finished=at(2026, 3, 5),
        due=dt.date(2026, 3, 4),
        events=(("complete", at(2026, 3, 5)),),
    )

    # ---- ratings of cases (好差评) and their rectifications
    bad1 = make_rating(case1, 1, at(2026, 3, 20))  # A1 once (two steps), A2 once
    bad2 = make_rating(case2, 2, at(2026, 3, 21))  # A1
    make_rating(case7, 5, at(2026, 3, 2))  # A1 (a February case rated in March)
    make_rating(case3, 4, at(2026, 4, 1))  # April
    bad6 = make_rating(case6, 1, at(2026, 2, 28, 23, 59, 59))  # February
    make_rating(case9, 4, at(2026, 3, 1))  # A2, first moment of March
    make_rating(case10, 3, at(2026, 3, 25))  # B1
    fixed = Rectification.State.FIXED
    make_rectification(  # fixed 11 Mar 06:00 local (10 Mar 22:00 UTC), due 10 Mar: late
        bad1, a1, fix_due=dt.date(2026, 3, 10), state=fixed, fixed=at(2026, 3, 11, 6)
    )
    make_rectification(  # due on the last day of March, fixed that evening: on time
        bad2, a1, fix_due=dt.date(2026, 3, 31), state=fixed, fixed=at(2026, 3, 31, 20)
    )
    make_rectification(  # due on the first day of March, still not fixed
        bad1, a2, fix_due=dt.date(2026, 3, 1), state=Rectification.State.CALLED_BACK
    )
    make_rectification(  # due on the first day of April: not March
        bad6, a1, fix_due=dt.date(2026, 4, 1), state=fixed, fixed=at(2026, 3, 25)
    )

    # ---- tickets led by each department, and the parts dispatched to them
    answered = Ticket.State.ANSWERED
    k1t = make_ticket(
        a1,
        at(2026, 3, 2),
        signed_on_time=True,
        answered_on_time=True,
        satisfaction=5,
        state=Ticket.State.CLOSED,
    )
    make_part(k1t, a1, at(2026, 3, 2), P.REPLIED)
    make_part(k1t, b1, at(2026, 3, 2), P.REPLIED, lead=False)  # assisting: not led
    k2t = make_ticket(
        a1,
        at(2026, 3, 3),
        signed_on_time=False,
        answered_on_time=False,
        satisfaction=2,
        reopen_count=1,
        delay_count=1,  # given a 延期
        state=answered,
    )
    make_part(k2t, a1, at(2026, 3, 3), P.REPLIED)
    k3t = make_ticket(a1, at(2026, 3, 4), signed_on_time=True)  # signed, not answered yet
    make_part(k3t, a1, at(2026, 3, 4), P.SIGNED)
    k4t = make_ticket(  # the last second of March
        a1,
        at(2026, 3, 31, 23, 59, 59),
        signed_on_time=True,
        answered_on_time=True,
        satisfaction=4,
        reopen_count=2,
        state=answered,
    )
    make_part(k4t, a1, at(2026, 3, 31, 23, 59, 59), P.REPLIED)
    k5t = make_ticket(  # the first moment of April
        a1,
        at(2026, 4, 1),
        signed_on_time=False,
        answered_on_time=False,
        satisfaction=1,
        reopen_count=1,
        state=answered,
    )
    make_part(k5t, a1, at(2026, 4, 1), P.REPLIED)
    k6t = make_ticket(a1, at(2026, 3, 5), state=Ticket.State.DISPATCHED)  # not signed yet
    make_part(k6t, a1, at(2026, 3, 5), P.DISPATCHED)
    k7t = make_ticket(a2, at(2026, 3, 6), signed_on_time=True)  # A1 returned it, A2 leads
    make_part(k7t, a1, at(2026, 3, 6), P.RETURNED)
    make_part(k7t, a2, at(2026, 3, 7), P.SIGNED)
    feb = make_ticket(a1, at(2026, 2, 10), signed_on_time=True)  # February
    make_part(feb, a1, at(2026, 2, 10), P.RETURNED)
    m1t = make_ticket(  # the first moment of March
        a2,
        at(2026, 3, 1),
        signed_on_time=True,
        answered_on_time=True,
        satisfaction=3,
        state=answered,
    )
    make_part(m1t, a2, at(2026, 3, 1), P.REPLIED)
    m2t = make_ticket(a2, at(2026, 3, 10), signed_on_time=True, answered_on_time=False)
    make_part(m2t, a2, at(2026, 3, 10), P.REPLIED)
    m3t = make_ticket(b1, at(2026, 3, 20), signed_on_time=True)  # A2 returned it, B1 leads
    make_part(m3t, a2, at(2026, 3, 20), P.RETURNED)
    make_part(m3t, b1, at(2026, 3, 21), P.SIGNED)
    n1t = make_ticket(
        b1,
        at(2026, 3, 15),
        signed_on_time=False,
        answered_on_time=True,
        satisfaction=5,
        state=Ticket.State.CLOSED,
    )
    make_part(n1t, b1, at(2026, 3, 15), P.REPLIED)
    make_ticket(None, at(2026, 3, 8), state=Ticket.State.QUEUED)  # nobody leads it yet

    return Board(province, city_a, county, city_b, a1, a2, a3, k1, b1, citizen)


@pytest.fixture
def board(db) -> Board:
    return build_board()


@pytest.fixture
def weights(db) -> WeightSet:
    """The default weights, ranking any department with at least one item, step or ticket."""
    return services.weights_save(actor=None, weights=default_weights(), min_volume=1)


def rate(num: int, den: int) -> dict:
    low, high = WILSON[(num, den)]
    return {"num": num, "den": den, "value": num / den, "low": low, "high": high}


def plain(num: float, den: float, value: float) -> dict:
    """Ratios and means: no interval."""
    return {"num": num, "den": den, "value": value, "low": None, "high": None}


def assert_figure(found: dict, expected: dict, label: str) -> None:
    assert set(found) == {"num", "den", "value", "low", "high"}, label
    assert found["num"] == pytest.approx(expected["num"], abs=1e-9), label
    assert found["den"] == expected["den"], label
    for key in ("value", "low", "high"):
        if expected[key] is None:
            assert found[key] is None, f"{label} {key}"
        else:
            assert found[key] == pytest.approx(expected[key], abs=1e-11), f"{label} {key}"


# March 2026, by hand.
EXPECTED_MARCH = {
    "330100-a": {
        # items (active only): i1 online/mobile/0 trips/ID only, i2 online/0 trips,
        # i3 online/mobile (1 trip), i4 nothing (2 trips); the withdrawn item counts nowhere
        "online": rate(3, 4),  # i1, i2, i3
        "mobile": rate(2, 4),  # i1, i3
        "zero_trips": rate(2, 4),  # i1, i2
        "id_only": rate(1, 4),  # i1
        # statutory > 0: i1 (20 − 5) + i2 (10 − 10) = 15 over 20 + 10 = 30
        "compression": plain(15, 30, 0.5),
        # finished in March by the history: t1, t2 (at 00:00 on 1 Mar), t3 (rejected),
        # t7 (23:59:59 on 31 Mar); not t4 (00:00 on 1 Apr), t5 (no history row), t6 (Feb)
        "on_time": rate(2, 3),  # completed t1 (06 Mar local > due 05 Mar), t2 ✓, t7 ✓
        "handling_days": plain(7.0, 4, 1.75),  # t1 3 + t2 2 + t3 1.5 + t7 0.5 = 7 days / 4
        # in order 0.5, 1.5, 2, 3: the ⌈0.9 × 4⌉ = 4th is t1's 3 days
        "handling_days_p90": plain(3.0, 4, 3.0),
        "correction": rate(2, 4),  # t2, t7 asked for a correction
        "extension": rate(1, 4),  # t7 was given more time (延期)
        "rejection": rate(1, 4),  # t3
        # tickets received in March: k1, k2, k3, k4 (23:59:59 on 31 Mar), k6; not k5 (April)
        "sign_on_time": rate(3, 4),  # signed: k1 ✓, k2 ✗, k3 ✓, k4 ✓
        "reply_on_time": rate(2, 3),  # answered: k1 ✓, k2 ✗, k4 ✓
        "returns": rate(1, 6),  # led parts k1, k2, k3, k4, k6, k7 (returned); not k1's assist
        "satisfaction": rate(2, 3),  # rated k1 5, k2 2, k4 4
        "reopened": rate(2, 3),  # answered k1 0, k2 1, k4 2
        "ticket_delay": rate(1, 3),  # answered k1, k2 (延期), k4
        # ratings in March of A1's cases: case1 1 (two A1 steps: once), case2 2, case7 5
        "bad_ratings": rate(2, 3),
        "assistant_answered": EMPTY,  # measured per region only
        # due in March: 10 Mar (fixed 11 Mar 06:00 local: late), 31 Mar (fixed that day)
        "rectified_on_time": rate(1, 2),
    },
    "330100-b": {
        # j1 online/mobile/0 trips/ID only (15 → 3), j2 online/ID only (5, nothing promised)
        "online": rate(2, 2),
        "mobile": rate(1, 2),
        "zero_trips": rate(1, 2),
        "id_only": rate(2, 2),
        "compression": plain(12, 20, 0.6),  # (15 − 3) + (no promise: nothing) = 12 / (15 + 5)
        "on_time": rate(1, 1),  # u1 finished 13 Mar, due 13 Mar
        "handling_days": plain(4.0, 2, 2.0),  # u1 3 + u2 1 = 4 days / 2
        "handling_days_p90": plain(3.0, 2, 3.0),  # 1, 3: the ⌈0.9 × 2⌉ = 2nd
        "correction": rate(1, 2),  # u2
        "extension": rate(0, 2),
        "rejection": rate(1, 2),  # u2
        "sign_on_time": rate(3, 3),  # m1 (00:00 on 1 Mar), m2, k7
        "reply_on_time": rate(1, 2),  # m1 ✓, m2 ✗
        "returns": rate(1, 4),  # led parts m1, m2, k7, m3 (returned)
        "satisfaction": rate(0, 1),  # m1 rated 3
        "reopened": rate(0, 2),  # m1, m2 never reopened
        "ticket_delay": rate(0, 2),
        "bad_ratings": rate(1, 2),  # case1 1, case9 4 (00:00 on 1 Mar)
        "assistant_answered": EMPTY,  # measured per region only
        "rectified_on_time": rate(0, 1),  # due 1 Mar, only called back
    },
    "330200-a": {
        "online": rate(0, 1),
        "mobile": rate(0, 1),
        "zero_trips": rate(0, 1),
        "id_only": rate(0, 1),
        "compression": plain(6, 8, 0.75),  # (8 − 2) / 8
        "on_time": rate(0, 1),  # v1 finished 5 Mar, due 4 Mar
        "handling_days": plain(4.0, 1, 4.0),  # v1 1 Mar → 5 Mar
        "handling_days_p90": plain(4.0, 1, 4.0),  # the only one
        "correction": rate(0, 1),
        "extension": rate(0, 1),
        "rejection": rate(0, 1),
        "sign_on_time": rate(1, 2),  # n1 ✗, m3 ✓
        "reply_on_time": rate(1, 1),  # n1
        "returns": rate(0, 2),  # led parts n1, m3
        "satisfaction": rate(1, 1),  # n1 rated 5
        "reopened": rate(0, 1),
        "ticket_delay": rate(0, 1),
        "bad_ratings": rate(0, 1),  # case10 rated 3
        "assistant_answered": EMPTY,  # measured per region only
        "rectified_on_time": EMPTY,
    },
    "330106-a": {
        "online": rate(1, 1),
        "mobile": rate(1, 1),
        "zero_trips": rate(1, 1),
        "id_only": rate(1, 1),
        "compression": plain(9, 10, 0.9),  # (10 − 1) / 10
        **{
            key: EMPTY
            for key in (
                "on_time",
                "handling_days",
                "handling_days_p90",
                "correction",
                "extension",
                "rejection",
                "sign_on_time",
                "reply_on_time",
                "returns",
                "satisfaction",
                "reopened",
                "ticket_delay",
                "bad_ratings",
                "rectified_on_time",
                "assistant_answered",
            )
        },
    },
    "330100-c": {m.key: EMPTY for m in METRICS},
}


def scores_by_code(snapshot: Snapshot) -> dict[str, Score]:
    found = {}
    for score in snapshot.scores.select_related("department", "region"):
        code = score.department.code if score.department else f"region:{score.region.code}"
        found[code] = score
    return found


# ---------------------------------------------------------------- every figure, by hand


def test_expected_table_covers_every_metric():
    for code, figures in EXPECTED_MARCH.items():
        assert set(figures) == {m.key for m in METRICS}, code


def test_every_metric_of_every_department_matches_the_hand_computed_figure(board, weights):
    snapshot = services.snapshot_compute(period="month", day=MARCH)

    assert (snapshot.period, snapshot.start, snapshot.end) == (
        "month",
        dt.date(2026, 3, 1),
        dt.date(2026, 4, 1),
    )
    assert snapshot.weight_set == weights
    scores = scores_by_code(snapshot)
    # the hotline desk and the inactive department are not on the board
    assert set(scores) == {
        "330100-a",
        "330100-b",
        "330100-c",
        "330106-a",
        "330200-a",
        "region:330000",
        "region:330100",
        "region:330106",
        "region:330200",
    }
    for code, figures in EXPECTED_MARCH.items():
        assert set(scores[code].metrics) == {m.key for m in METRICS}
        for key, expected in figures.items():
            assert_figure(scores[code].metrics[key], expected, f"{code} {key}")


def test_levels_and_ranking_flags_of_the_board(board, weights):
    scores = scores_by_code(services.snapshot_compute(period="month", day=MARCH))

    levels = {code: score.level for code, score in scores.items()}
    assert levels == {
        "330100-a": "city",
        "330100-b": "city",
        "330100-c": "city",
        "330200-a": "city",
        "330106-a": "county",
        "region:330000": "province",
        "region:330100": "city",
        "region:330200": "city",
        "region:330106": "county",
    }
    # the empty department is listed, with nothing measured, and not ranked
    empty = scores["330100-c"]
    assert empty.metrics == {m.key: EMPTY for m in METRICS}
    assert (empty.volume, empty.ranked, empty.rank, empty.rank_change) == (0, False, None, None)
    # no activity, no score: not its peers' average passed off as its own
    assert empty.score is None
    assert unranked_reason(empty, weights) == UNRANKED_NO_ACTIVITY
    # city-level departments: three ranked peers (A1, A2, B1); the county one ranks alone
    for code in ("330100-a", "330100-b", "330200-a"):
        assert scores[code].ranked is True, code
        assert scores[code].peers == 3, code
    assert sorted(scores[c].rank for c in ("330100-a", "330100-b", "330200-a")) == [1, 2, 3]
    assert empty.peers == 3
    assert (scores["330106-a"].ranked, scores["330106-a"].rank, scores["330106-a"].peers) == (
        True,
        1,
        1,
    )
    assert (scores["region:330000"].rank, scores["region:330000"].peers) == (1, 1)
    assert sorted(scores[c].rank for c in ("region:330100", "region:330200")) == [1, 2]


def test_region_rows_add_up_the_departments_in_and_below_them(board, weights):
    scores = scores_by_code(services.snapshot_compute(period="month", day=MARCH))

    members = {
        "region:330100": ("330100-a", "330100-b", "330100-c", "330106-a"),  # with the county
        "region:330106": ("330106-a",),
        "region:330200": ("330200-a",),
        "region:330000": ("330100-a", "330100-b", "330100-c", "330106-a", "330200-a"),
    }
    for region, codes in members.items():
        for metric in METRICS:
            figure = scores[region].metrics[metric.key]
            den = sum(EXPECTED_MARCH[c][metric.key]["den"] for c in codes)
            if metric.kind == "quantile":  # not additive: a region shows none
                assert (figure["den"], figure["value"]) == (den, None), (region, metric.key)
                continue
            num = sum(EXPECTED_MARCH[c][metric.key]["num"] for c in codes)
            assert figure["num"] == pytest.approx(num, abs=1e-9), (region, metric.key)
            assert figure["den"] == den, (region, metric.key)
            if den:
                assert figure["value"] == pytest.approx(num / den, abs=1e-12)
            else:
                assert figure["value"] is None
    # city A by hand: A1 + A2 + A3 + the county's K1
    city = scores["region:330100"].metrics
    assert_figure(city["online"], rate(6, 7), "city online")  # 3 + 2 + 0 + 1 over 4 + 2 + 0 + 1
    assert_figure(city["compression"], plain(36, 60, 0.6), "city compression")  # 15+12+9 / 30+20+10
    assert_figure(city["handling_days"], plain(11.0, 6, 11 / 6), "city days")  # 7 + 4 over 4 + 2
    assert_figure(city["returns"], rate(2, 10), "city returns")  # 1 + 1 over 6 + 4
    # the province adds B1 to city A: online 6 + 0 over 7 + 1
    assert scores["region:330000"].metrics["online"]["num"] == 6
    assert scores["region:330000"].metrics["online"]["den"] == 8
    # A1 2/3 + A2 1/1 + B1 0/1
    assert_figure(scores["region:330000"].metrics["on_time"], rate(3, 5), "province on_time")
    assert scores["region:330000"].region == board.province
    assert scores["region:330000"].department is None


def test_period_boundaries_are_local_start_inclusive_end_exclusive(board, weights):
    february = scores_by_code(services.snapshot_compute(period="month", day=FEBRUARY))
    april = scores_by_code(services.snapshot_compute(period="month", day=APRIL))

    feb = february["330100-a"].metrics
    assert_figure(feb["on_time"], rate(1, 2), "feb on_time")  # t6 late, t8 on time
    assert_figure(feb["handling_days"], plain(3.0, 2, 1.5), "feb days")  # 2 + 1 days
    assert_figure(feb["bad_ratings"], rate(1, 1), "feb bad")  # case6 rated at 23:59:59, 28 Feb
    assert_figure(feb["returns"], rate(1, 1), "feb returns")  # the February ticket, returned
    assert_figure(feb["sign_on_time"], rate(1, 1), "feb signed")
    assert feb["rectified_on_time"] == EMPTY
    assert_figure(feb["online"], rate(3, 4), "feb online")  # the catalog is a state

    apr = april["330100-a"].metrics
    assert_figure(apr["on_time"], rate(1, 1), "apr on_time")  # t4 at 00:00 on 1 Apr, due 1 Apr
    assert_figure(apr["handling_days"], plain(2.0, 1, 2.0), "apr days")  # 30 Mar → 1 Apr
    assert_figure(apr["bad_ratings"], rate(0, 1), "apr bad")  # case3 rated 4 at 00:00, 1 Apr
    assert_figure(apr["rectified_on_time"], rate(1, 1), "apr rect")  # due 1 Apr, fixed 25 Mar
    assert_figure(apr["sign_on_time"], rate(0, 1), "apr signed")  # k5 at 00:00 on 1 Apr
    assert_figure(apr["reopened"], rate(1, 1), "apr reopened")
    assert_figure(apr["returns"], rate(0, 1), "apr returns")
    for key in ("correction", "extension", "rejection"):
        assert_figure(apr[key], rate(0, 1), f"apr {key}")
    # nothing of B1's happened outside March
    for key in ("on_time", "handling_days", "sign_on_time", "returns", "bad_ratings"):
        assert february["330200-a"].metrics[key] == EMPTY
        assert april["330200-a"].metrics[key] == EMPTY


def test_a_period_without_events_measures_only_the_catalog(board, weights):
    scores = scores_by_code(services.snapshot_compute(period="month", day=dt.date(2025, 6, 1)))

    catalog = {"online", "mobile", "zero_trips", "id_only", "compression"}
    for code in ("330100-a", "330100-b", "330200-a", "330106-a"):
        for metric in METRICS:
            found = scores[code].metrics[metric.key]
            if metric.key in catalog:
                assert_figure(found, EXPECTED_MARCH[code][metric.key], f"{code} {metric.key}")
            else:
                assert found == EMPTY, (code, metric.key)


def test_a_period_without_any_data_gives_an_empty_board(db):
    province = Region.objects.create(code="330000", name="浙江省", level="province")
    city = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    DepartmentFactory(code="330100-a", region=city)
    DepartmentFactory(code="330100-b", region=city)
    services.weights_save(actor=None, weights=default_weights(), min_volume=0)

    snapshot = services.snapshot_compute(period="month", day=MARCH)

    rows = list(snapshot.scores.order_by("department__code", "region__code"))
    assert len(rows) == 4  # two departments, the city and the province
    for row in rows:
        assert row.metrics == {m.key: EMPTY for m in METRICS}
        # no peer has data for any weighted metric: no score, so no rank even at min_volume 0
        assert (row.volume, row.score, row.ranked, row.rank, row.peers) == (0, None, False, None, 0)


# ---------------------------------------------------------------- drill-down


def test_every_figure_equals_the_totals_of_its_drilldown_rows(board, weights):
    snapshot = services.snapshot_compute(period="month", day=MARCH)
    scores = scores_by_code(snapshot)

    for department in (board.a1, board.a2, board.a3, board.k1, board.b1):
        for metric in METRICS:
            rows = list(drilldown(metric.key, department, snapshot))
            figure = scores[department.code].metrics[metric.key]
            if metric.kind == "rate":
                num, den = sum(r.counted for r in rows), len(rows)
            elif metric.kind == "ratio":
                num = sum(r.amount for r in rows if r.amount is not None)
                den = sum(r.base for r in rows)
            elif metric.kind == "quantile":  # rows in order: the ⌈q·n⌉-th
                den = len(rows)
                at_rank = rows[math.ceil(den * metric.quantile) - 1] if den else None
                num = at_rank.amount.total_seconds() / 86400 if at_rank else 0.0
            else:
                num = sum(r.amount.total_seconds() / 86400 for r in rows)
                den = len(rows)
            assert (figure["num"], figure["den"]) == (pytest.approx(num), den), (
                department.code,
                metric.key,
            )
    # the rows themselves, for a few figures
    on_time = drilldown("on_time", board.a1, snapshot)
    assert [(t.finished_at, t.counted) for t in on_time] == [
        (at(2026, 3, 6, 7), False),
        (at(2026, 3, 1), True),
        (at(2026, 3, 31, 23, 59, 59), True),
    ]
    bad = drilldown("bad_ratings", board.a1, snapshot)  # case1 once, though it has two A1 steps
    assert sorted((r.score, r.counted) for r in bad) == [(1, True), (2, True), (5, False)]
    days = drilldown("handling_days", board.a1, snapshot)
    assert sorted(r.amount for r in days) == [
        dt.timedelta(hours=12),
        dt.timedelta(days=1, hours=12),
        dt.timedelta(days=2),
        dt.timedelta(days=3),
    ]
    compression = drilldown("compression", board.a2, snapshot)
    assert sorted((r.base, r.amount) for r in compression) == [(5, None), (15, 12)]


# ---------------------------------------------------------------- scores and ranks, by hand


@dataclass
class Small:
    city: Region
    departments: dict[str, Department]


def build_small(*, march_returns: dict[str, tuple[int, int]]) -> Small:
    """Four city-level departments: items (online or not) and tickets they led in March.

    ``march_returns`` maps a code suffix to (parts led, of which returned)."""
    province = Region.objects.create(code="330000", name="浙江省", level="province")
    city = Region.objects.create(code="330300", name="温州市", level="city", parent=province)
    departments = {
        s: DepartmentFactory(code=f"t-{s}", name=f"温州市{s}局", region=city) for s in "bacd"
    }
    online = {"a": (2, 2), "b": (2, 2), "c": (0, 2), "d": (1, 1)}  # (online, items)
    for s, (yes, total) in online.items():
        for n in range(total):
            make_item(departments[s], online=n < yes)
    add_parts(departments, march_returns, at(2026, 3, 10))
    return Small(city, departments)


def add_parts(departments, returns: dict[str, tuple[int, int]], when: dt.datetime) -> None:
    for s, (led, returned) in returns.items():
        for n in range(led):
            ticket = make_ticket(departments[s], when)
            make_part(ticket, departments[s], when, P.RETURNED if n < returned else P.SIGNED)


MARCH_RETURNS = {"a": (2, 1), "b": (2, 1), "c": (2, 0)}  # d leads nothing: volume 1 item


def ranking(snapshot: Snapshot) -> dict[str, tuple]:
    return {
        s.department.code: (s.score, s.ranked, s.rank, s.peers, s.volume, s.rank_change)
        for s in snapshot.scores.filter(department__isnull=False).select_related("department")
    }


# Weights online 3, returns 1 (the rest 0). Peers' pooled rates:
#   online = (2 + 2 + 0 + 1) / (2 + 2 + 2 + 1) = 5/7; returns = (1 + 1 + 0) / (2 + 2 + 2) = 1/3.
# Estimates (num + 10·prior) / (den + 10), returns turned round (1 − ·):
#   a, b: online (2 + 50/7)/12 = 16/21; returns 1 − (1 + 10/3)/12 = 1 − 13/36 = 23/36
#         score = 100·(3·16/21 + 23/36)/4 = 100·(16/7 + 23/36)/4 = 100·737/1008 = 73.115 → 73.12
#   c:    online (0 + 50/7)/12 = 25/42; returns 1 − (0 + 10/3)/12 = 13/18
#         score = 100·(25/14 + 13/18)/4 = 100·(158/63)/4 = 62.698 → 62.70
#   d:    online (1 + 50/7)/11 = 57/77; returns (no tickets) 1 − (0 + 10/3)/10 = 2/3
#         score = 100·(171/77 + 2/3)/4 = 100·(667/231)/4 = 72.186 → 72.19
# Volume = items + steps + tickets led: a, b, c 2 + 0 + 2 = 4; d 1 + 0 + 0 = 1.
W_ONLINE_RETURNS = {"online": 3, "returns": 1}


def test_scores_and_ranks_by_hand_ties_broken_by_code(db):
    small = build_small(march_returns=MARCH_RETURNS)
    services.weights_save(actor=None, weights=W_ONLINE_RETURNS, min_volume=1)

    snapshot = services.snapshot_compute(period="month", day=MARCH)

    # a and b tie at 73.12: the code decides (t-a before t-b)
    assert ranking(snapshot) == {
        "t-a": (73.12, True, 1, 4, 4, None),
        "t-b": (73.12, True, 2, 4, 4, None),
        "t-d": (72.19, True, 3, 4, 1, None),
        "t-c": (62.70, True, 4, 4, 4, None),
    }
    region = snapshot.scores.get(department__isnull=True, region=small.city)
    # the city alone among city-level regions: its own pooled rates are the priors
    # online (5 + 10·5/7)/(7 + 10) = (85/7)/17 = 5/7; returns 1 − (2 + 10/3)/(6 + 10) = 2/3
    # score = 100·(3·5/7 + 2/3)/4 = 100·(59/21)/4 = 70.238 → 70.24; volume 7 + 0 + 6 = 13
    assert (region.score, region.rank, region.peers, region.volume) == (70.24, 1, 1, 13)


def test_a_department_below_min_volume_is_listed_not_ranked_and_its_peers_close_up(db):
    build_small(march_returns=MARCH_RETURNS)
    services.weights_save(actor=None, weights=W_ONLINE_RETURNS, min_volume=2)

    snapshot = services.snapshot_compute(period="month", day=MARCH)

    # d (volume 1) has no score (it would be 72.19, mostly its peers' average) but still counts
    # in the peers' prior, so a, b and c keep their scores; c moves up to 3rd
    assert ranking(snapshot) == {
        "t-a": (73.12, True, 1, 3, 4, None),
        "t-b": (73.12, True, 2, 3, 4, None),
        "t-c": (62.70, True, 3, 3, 4, None),
        "t-d": (None, False, None, 3, 1, None),
    }
    d = snapshot.scores.get(department__code="t-d")
    assert unranked_reason(d, snapshot.weight_set) == UNRANKED_LOW_VOLUME
    ranked = snapshot.scores.get(department__code="t-c")
    assert unranked_reason(ranked, snapshot.weight_set) is None


def test_rank_change_against_the_previous_snapshot_of_the_same_kind(db):
    small = build_small(march_returns=MARCH_RETURNS)
    # February: a returned both tickets it led, b and c none. Pooled returns 2/6 = 1/3.
    #   a: 1 − (2 + 10/3)/12 = 5/9  → 100·(16/7 + 5/9)/4 = 100·179/252 = 71.03
    #   b: 1 − (0 + 10/3)/12 = 13/18 → 100·(16/7 + 13/18)/4 = 100·379/504 = 75.20
    #   c: 13/18 → 100·(25/14 + 13/18)/4 = 62.70; d: volume 1, no score
    add_parts(small.departments, {"a": (2, 2), "b": (2, 0), "c": (2, 0)}, at(2026, 2, 10))
    services.weights_save(actor=None, weights=W_ONLINE_RETURNS, min_volume=2)

    february = services.snapshot_compute(period="month", day=FEBRUARY)
    services.snapshot_compute(period="quarter", day=FEBRUARY)  # another kind: not compared
    march = services.snapshot_compute(period="month", day=MARCH)

    assert ranking(february) == {
        "t-b": (75.20, True, 1, 3, 4, None),
        "t-a": (71.03, True, 2, 3, 4, None),
        "t-c": (62.70, True, 3, 3, 4, None),
        "t-d": (None, False, None, 3, 1, None),
    }
    # rank_change = rank before − rank now: a 2 → 1 (+1), b 1 → 2 (−1), c 3 → 3 (0)
    assert ranking(march) == {
        "t-a": (73.12, True, 1, 3, 4, 1),
        "t-b": (73.12, True, 2, 3, 4, -1),
        "t-c": (62.70, True, 3, 3, 4, 0),
        "t-d": (None, False, None, 3, 1, None),
    }
    city = march.scores.get(department__isnull=True, region=small.city)
    assert (city.rank, city.rank_change) == (1, 0)
    # recomputing February again does not look at March (it is later), nor at itself
    again = services.snapshot_compute(period="month", day=FEBRUARY)
    assert {v[5] for v in ranking(again).values()} == {None}


def test_new_weights_rerank_the_next_snapshot_and_leave_the_old_one_untouched(db):
    build_small(march_returns=MARCH_RETURNS)
    first = services.weights_save(actor=None, weights=W_ONLINE_RETURNS, min_volume=2)
    march = services.snapshot_compute(period="month", day=MARCH)
    before = ranking(march)

    second = services.weights_save(
        actor=None, weights={"returns": 1}, min_volume=2, note="only returns"
    )
    # Returns alone: a, b 23/36 = 63.89; c 13/18 = 72.22; d (volume 1) no score
    quarter = services.snapshot_compute(period="quarter", day=MARCH)

    assert (first.version, second.version) == (1, 2)
    assert second.weights == {m.key: (1.0 if m.key == "returns" else 0.0) for m in METRICS}
    assert (second.min_volume, second.note) == (2, "only returns")
    assert quarter.weight_set == second
    assert ranking(quarter) == {
        "t-c": (72.22, True, 1, 3, 4, None),
        "t-a": (63.89, True, 2, 3, 4, None),
        "t-b": (63.89, True, 3, 3, 4, None),
        "t-d": (None, False, None, 3, 1, None),
    }
    march.refresh_from_db()
    assert march.weight_set == first
    assert ranking(march) == before
    assert WeightSet.objects.get(pk=first.pk).weights == {
        m.key: {"online": 3.0, "returns": 1.0}.get(m.key, 0.0) for m in METRICS
    }


def test_weights_save_refuses_bad_weights_and_changes_nothing(db):
    first = services.weights_save(actor=None, weights=W_ONLINE_RETURNS, min_volume=2)
    for bad, message in (
        ({"speed": 1}, "unknown metrics: speed"),
        ({"online": -1}, "weights are finite numbers of at least 0"),
        ({"online": float("nan")}, "weights are finite numbers of at least 0"),
        ({"online": "1"}, "weights are finite numbers of at least 0"),
        ({"online": 0}, "at least one weight must be above 0"),
    ):
        with pytest.raises(ValueError, match=message):
            services.weights_save(actor=None, weights=bad, min_volume=1)
    assert list(WeightSet.objects.values_list("pk", flat=True)) == [first.pk]


# ---------------------------------------------------------------- replacing a snapshot


def test_recomputing_a_period_replaces_its_snapshot(board, weights):
    first = services.snapshot_compute(period="month", day=MARCH)
    old_scores = set(first.scores.values_list("pk", flat=True))

    second = services.snapshot_compute(period="month", day=dt.date(2026, 3, 31))

    assert Snapshot.objects.filter(period="month", start=dt.date(2026, 3, 1)).count() == 1
    assert Snapshot.objects.get(period="month", start=dt.date(2026, 3, 1)).pk == second.pk
    assert second.computed_at > first.computed_at
    assert not Snapshot.objects.filter(pk=first.pk).exists()
    assert not Score.objects.filter(pk__in=old_scores).exists()
    assert second.scores.count() == 9


def _frozen(snapshot: Snapshot) -> tuple:
    snapshot = Snapshot.objects.get(pk=snapshot.pk)
    rows = sorted(
        snapshot.scores.values_list(
            "pk", "department_id", "region_id", "metrics", "score", "rank", "volume"
        )
    )
    return snapshot.computed_at, snapshot.weight_set_id, snapshot.seconds, rows


def test_a_failing_metric_leaves_the_old_snapshot_intact(board, weights, monkeypatch):
    old = services.snapshot_compute(period="month", day=MARCH)
    kept = _frozen(old)

    def broken(period):
        raise RuntimeError("the database went away")

    metrics = tuple(
        dataclasses.replace(m, rows=broken) if m.key == "returns" else m for m in METRICS
    )
    monkeypatch.setattr(services, "METRICS", metrics)
    with pytest.raises(RuntimeError, match="the database went away"):
        services.snapshot_compute(period="month", day=MARCH)

    assert list(Snapshot.objects.values_list("pk", flat=True)) == [old.pk]
    assert _frozen(old) == kept


def test_a_failure_while_writing_the_new_rows_rolls_back_to_the_old_snapshot(
    board, weights, monkeypatch
):
    old = services.snapshot_compute(period="month", day=MARCH)
    kept = _frozen(old)

    def broken(objects, batch_size=None):
        raise RuntimeError("disk full")

    # the old snapshot is already deleted inside the transaction when this raises
    monkeypatch.setattr(Score.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        services.snapshot_compute(period="month", day=MARCH)

    assert list(Snapshot.objects.values_list("pk", flat=True)) == [old.pk]
    assert _frozen(old) == kept


# ---------------------------------------------------------------- cost


def grow(board: Board, n: int) -> None:
    """n more departments in city B, each with items, finished steps, tickets and ratings."""
    for i in range(n):
        department = DepartmentFactory(code=f"330200-x{i}", region=board.city_b)
        item = make_item(department, online=True, statutory_days=10, promised_days=4)
        make_item(department, mobile=True, trips=0)
        case = make_case(board.citizen, item)
        for day in (3, 4):
            make_task(
                case,
                department,
                state=S.COMPLETED,
                ready=at(2026, 3, day),
                finished=at(2026, 3, day + 2),
                due=dt.date(2026, 3, day + 1),
                events=(("correction", at(2026, 3, day, 9)), ("complete", at(2026, 3, day + 2))),
            )
        rating = make_rating(case, 1, at(2026, 3, 10))
        make_rectification(
            rating, department, fix_due=dt.date(2026, 3, 20), state=Rectification.State.OPEN
        )
        ticket = make_ticket(
            department, at(2026, 3, 12), signed_on_time=True, answered_on_time=True, satisfaction=4
        )
        make_part(ticket, department, at(2026, 3, 12), P.REPLIED)


# the period's snapshot, whose weights a closed period keeps (1) + weights (1) + one aggregation
# per set of rows (13 for 19 metrics: the items' four rates are one, correction, extension and
# rejection one, reply timeliness and reopenings one) + departments (1) + regions (1) + the previous
# snapshot's ranks (1) + savepoint, looking up the period's old snapshot to delete, insert the
# snapshot, bulk insert its scores, update its seconds, release the savepoint (6)
FIRST_SNAPSHOT_QUERIES = 24
# replacing one: its scores and itself are deleted too (2 more)
REPLACING_QUERIES = 26


@pytest.mark.parametrize("extra", [0, 12])
def test_the_snapshot_runs_a_fixed_number_of_queries(
    board, weights, extra, django_assert_num_queries
):
    grow(board, extra)

    with django_assert_num_queries(FIRST_SNAPSHOT_QUERIES):
        services.snapshot_compute(period="month", day=MARCH)
    with django_assert_num_queries(REPLACING_QUERIES):
        snapshot = services.snapshot_compute(period="month", day=MARCH)

    assert snapshot.scores.filter(department__isnull=False).count() == 5 + extra
    assert snapshot.scores.filter(department__isnull=True).count() == 4


# ---------------------------------------------------------------- the command


def test_compute_scoreboard_command_creates_the_month(board, weights):
    out = io.StringIO()

    call_command("compute_scoreboard", "--period", "month", "--date", "2026-03-15", stdout=out)

    snapshot = Snapshot.objects.get()
    assert (snapshot.period, snapshot.start, snapshot.end) == (
        "month",
        dt.date(2026, 3, 1),
        dt.date(2026, 4, 1),
    )
    assert snapshot.scores.count() == 9
    # the period's name in the default language (Chinese)
    assert re.fullmatch(
        r"月 2026-03-01–2026-04-01: 9 rows, weights v1, \d+\.\d\d s\n", out.getvalue()
    )
    online = snapshot.scores.get(department=board.a1).metrics["online"]
    assert_figure(online, rate(3, 4), "command online")


@pytest.mark.parametrize("bad", ["2026-02-30", "15/03/2026", "yesterday"])
def test_compute_scoreboard_command_refuses_a_bad_date(db, bad):
    with pytest.raises(CommandError, match=r"^--date: give a day as YYYY-MM-DD"):
        call_command("compute_scoreboard", "--period", "month", "--date", bad)
    assert not Snapshot.objects.exists()
    assert not WeightSet.objects.exists()


# ---------------------------------------------------------------- known defects (see the report)


def test_volume_counts_items_finished_steps_and_tickets_led(board, weights):
    scores = scores_by_code(services.snapshot_compute(period="month", day=MARCH))

    assert {code: scores[code].volume for code in EXPECTED_MARCH} == {
        "330100-a": 14,  # 4 items + 4 finished steps (t1, t2, t3 rejected, t7) + 6 tickets led
        "330100-b": 8,  # 2 items + 2 finished steps (u1, u2 rejected) + 4 tickets led
        "330200-a": 4,  # 1 + 1 + 2
        "330106-a": 1,  # 1 item
        "330100-c": 0,
    }


def test_a_rating_counts_only_for_departments_that_carried_out_a_step(db):
    province = Region.objects.create(code="330000", name="浙江省", level="province")
    city = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    done = DepartmentFactory(code="330100-a", region=city)
    skipped = DepartmentFactory(code="330100-b", region=city)
    case = make_case(UserFactory(), make_item(done), Application.Status.REJECTED)
    make_task(
        case,
        done,
        state=S.REJECTED,
        ready=at(2026, 3, 2),
        finished=at(2026, 3, 3),
        events=(("reject", at(2026, 3, 3)),),
    )
    make_task(  # waiting behind the rejected step, so never carried out
        case,
        skipped,
        state=S.CANCELLED,
        finished=at(2026, 3, 3),
        events=(("cancel", at(2026, 3, 3)),),
    )
    make_rating(case, 1, at(2026, 3, 4))
    services.weights_save(actor=None, weights=default_weights(), min_volume=1)

    snapshot = services.snapshot_compute(period="month", day=MARCH)

    scores = scores_by_code(snapshot)
    assert_figure(scores["330100-a"].metrics["bad_ratings"], rate(1, 1), "done")
    assert scores["330100-b"].metrics["bad_ratings"] == EMPTY
    assert list(drilldown("bad_ratings", skipped, snapshot)) == []


def test_a_department_with_nothing_measured_is_never_ranked(db):
    small = build_small(march_returns=MARCH_RETURNS)
    DepartmentFactory(code="t-e", region=small.city)  # nothing at all
    services.weights_save(actor=None, weights=W_ONLINE_RETURNS, min_volume=0)

    snapshot = services.snapshot_compute(period="month", day=MARCH)

    # e's estimates would be the priors' alone (online 5/7, returns 1 − 1/3 → 70.24, above c):
    # with nothing done it has no score at all, even at a minimum volume of 0
    assert ranking(snapshot) == {
        "t-a": (73.12, True, 1, 4, 4, None),
        "t-b": (73.12, True, 2, 4, 4, None),
        "t-d": (72.19, True, 3, 4, 1, None),
        "t-c": (62.70, True, 4, 4, 4, None),
        "t-e": (None, False, None, 4, 0, None),
    }
    e = snapshot.scores.get(department__code="t-e")
    assert unranked_reason(e, snapshot.weight_set) == UNRANKED_NO_ACTIVITY


def test_the_assistant_answer_rate_is_measured_per_region(board, weights):
    """Questions carry the asker's region, not a department: the figure is the regions'."""
    from complaints.models import AssistantQuestion

    def ask(region, answered, when):
        question = AssistantQuestion.objects.create(
            question="问", normalized="问", answered=answered, region=region
        )
        AssistantQuestion.objects.filter(pk=question.pk).update(asked_at=when)

    county = board.k1.region
    city = county.parent
    ask(county, True, at(2026, 3, 2))
    ask(county, False, at(2026, 3, 3))
    ask(city, True, at(2026, 3, 31, 23, 59, 59))
    ask(city, True, at(2026, 4, 1))  # April: not this month
    ask(None, True, at(2026, 3, 5))  # no region: counted nowhere
    snapshot = services.snapshot_compute(period="month", day=MARCH)
    scores = scores_by_code(snapshot)

    assert_figure(scores[f"region:{county.code}"].metrics["assistant_answered"], rate(1, 2), "k")
    # the city adds its county: 1 + 1 answered of 2 + 1
    assert_figure(scores[f"region:{city.code}"].metrics["assistant_answered"], rate(2, 3), "c")
    assert_figure(
        scores[f"region:{city.parent.code}"].metrics["assistant_answered"], rate(2, 3), "p"
    )
    for code in ("330100-a", "330106-a"):
        assert scores[code].metrics["assistant_answered"] == EMPTY
    assert list(drilldown("assistant_answered", board.a1, snapshot)) == []
