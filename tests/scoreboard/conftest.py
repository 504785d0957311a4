"""A small province for the board: a city with two busy departments and a quiet one, a county
department, and what they did this month, written as the services leave it (task history rows,
ticket timeliness flags, ratings and rectifications). Cases carry numbers as the services give
them (``ZB`` + date + 8 hex digits), tickets theirs (``ZB`` + 8 digits), with private titles,
a report (举报), the citizen's name and phone: what no public page of the board may show.

``board_world(scale=n)`` multiplies every busy department's rows by ``n`` and adds ``n`` extra
city departments, so a page's query count can be compared at two data sizes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import count

import pytest
from django.utils import timezone

from complaints.models import Ticket, TicketDepartment
from departments.models import Department, Region
from scoreboard import services
from scoreboard.metrics import default_weights
from tests.factories import DepartmentFactory, RegionFactory, ServiceItemFactory, UserFactory
from workflows.models import Application, Rating, Rectification, Task, TaskEvent

MIN_VOLUME = 5
_serial = count(1)

# One block of four items: (online, mobile, trips, id_only, statutory, promised).
# Online 3/4, mobile 2/4, zero trips 3/4, ID-only 3/4; compression (10+15+5)/(20+20+10) = 0.6.
ITEM_BLOCK = (
    (False, True, 1, False, 20, 10),
    (True, False, 0, True, 20, 5),
    (True, True, 0, True, 10, 5),
    (True, False, 0, True, 0, 0),
)


@dataclass
class World:
    province: Region
    city: Region
    county: Region
    departments: dict[str, Department]
    citizen: object
    scale: int
    tickets: dict[str, list] = field(default_factory=dict)

    def compute(self, period: str = "month"):
        return services.snapshot_compute(period=period, day=timezone.localdate())


def add_items(department, block=ITEM_BLOCK, times: int = 1):
    items = []
    for _ in range(times):
        for online, mobile, trips, id_only, statutory, promised in block:
            items.append(
                ServiceItemFactory(
                    department=department,
                    online=online,
                    mobile=mobile,
                    trips=trips,
                    id_only=id_only,
                    statutory_days=statutory,
                    promised_days=promised,
                )
            )
    return items


def add_task(world, department, *, late=False, rejected=False, corrected=False, days=2.0):
    """A finished step of a one-item application, with the history rows the services write."""
    now = timezone.now()
    n = next(_serial)
    item = department.board_item
    app = Application.objects.create(
        reference=f"ZB{timezone.localdate():%Y%m%d}{n:08X}",  # as the services number a case
        applicant=world.citizen,
        item=item,
        status=Application.Status.REJECTED if rejected else Application.Status.COMPLETED,
        idempotency_key=f"board-{n}",
        data={"applicant_name": "张小明"},
        submitted_at=now - dt.timedelta(days=days),
        finished_at=now,
    )
    state = Task.State.REJECTED if rejected else Task.State.COMPLETED
    today = timezone.localdate()
    task = Task.objects.create(
        application=app,
        step="main",
        label=item.name,
        item=item,
        department=department,
        state=state,
        due_workdays=3,
        due_date=today - dt.timedelta(days=3) if late else today + dt.timedelta(days=5),
        ready_at=now - dt.timedelta(days=days),
        finished_at=now,
    )
    if corrected:
        TaskEvent.objects.create(application=app, task=task, action="correction")
    TaskEvent.objects.create(
        application=app,
        task=task,
        action="reject" if rejected else "complete",
        from_state="accepted",
        to_state=state,
    )
    return task


def add_ticket(
    world,
    department,
    *,
    signed=True,
    answered=True,
    satisfaction=5,
    reopened=False,
    returned=False,
    kind="complaint",
    title="路灯不亮",
    category="",
):
    ticket = Ticket.objects.create(
        kind=kind,
        category=category,
        channel="web",
        title=title,
        content="小区门口路灯坏了一个月。联系人张三 13912345678",
        contact_name="张三",
        contact_phone="13912345678",
        citizen=world.citizen,
        region=world.city,
        department=department,
        state=Ticket.State.CLOSED,
        signed_on_time=signed,
        answered_on_time=answered,
        satisfaction=satisfaction,
        reopen_count=1 if reopened else 0,
    )
    TicketDepartment.objects.create(
        ticket=ticket,
        department=department,
        is_lead=True,
        state=TicketDepartment.State.RETURNED if returned else TicketDepartment.State.REPLIED,
    )
    world.tickets.setdefault(department.code, []).append(ticket)
    return ticket


def add_rating(world, task, score, *, fixed_on_time=None):
    rating = Rating.objects.create(application=task.application, score=score)
    if fixed_on_time is not None:
        today = timezone.localdate()
        Rectification.objects.create(
            rating=rating,
            department=task.department,
            state=Rectification.State.FIXED,
            callback_due=today,
            fix_due=today,
            fixed_at=timezone.now() if fixed_on_time else timezone.now() + dt.timedelta(days=2),
        )
    return rating


def build_world(scale: int = 1) -> World:
    province = RegionFactory()
    city = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    county = Region.objects.create(code="330106", name="西湖区", level="county", parent=city)
    d = {
        "gongan": DepartmentFactory(code="330100-gongan", name="杭州市公安局", region=city),
        "weijian": DepartmentFactory(
            code="330100-weijian", name="杭州市卫生健康委员会", kind="weijian", region=city
        ),
        "quiet": DepartmentFactory(
            code="330100-shangwu", name="杭州市商务局", kind="shangwu", region=city
        ),
        "county": DepartmentFactory(code="330106-gongan", name="西湖区公安分局", region=county),
    }
    for n in range(scale):
        d[f"extra{n}"] = DepartmentFactory(
            code=f"330100-extra{n}", name=f"杭州市示例局{n}", kind="other", region=city
        )
    world = World(province, city, county, d, UserFactory(real_name="张小明"), scale)
    services.weights_save(actor=None, weights=default_weights(), min_volume=MIN_VOLUME, note="t")

    gongan, weijian = d["gongan"], d["weijian"]
    for department in d.values():
        department.board_item = ServiceItemFactory(
            department=department,
            online=True,
            mobile=True,
            trips=0,
            id_only=True,
            statutory_days=10,
            promised_days=5,
            is_active=False,  # used by cases, not published
        )
    add_items(gongan, times=scale)
    add_items(weijian, block=((True, True, 0, True, 10, 2),) * 4, times=scale)
    add_items(d["quiet"], block=((False, False, 1, False, 20, 20),))
    add_items(d["county"], times=1)
    for n in range(scale):
        add_items(d[f"extra{n}"], block=((True, False, 1, True, 10, 8),) * 6)

    for _ in range(scale):
        # 公安: 4 completed (1 late, 1 corrected), 1 rejected; tickets 2 good, 1 bad.
        good = add_task(world, gongan)
        add_task(world, gongan, corrected=True, days=4.0)
        add_task(world, gongan)
        bad = add_task(world, gongan, late=True, days=6.0)
        add_task(world, gongan, rejected=True)
        add_ticket(world, gongan, category="城乡建设")
        add_ticket(world, gongan, satisfaction=4, kind="report", title="举报王五收受红包")
        add_ticket(
            world,
            gongan,
            signed=False,
            answered=False,
            satisfaction=2,
            reopened=True,
            returned=True,
        )
        add_rating(world, good, 5)
        add_rating(world, bad, 1, fixed_on_time=True)
        # 卫健: 4 on time, tickets all good.
        for _ in range(4):
            add_task(world, weijian, days=1.0)
        add_ticket(world, weijian)
        add_ticket(world, weijian)
    return world


@pytest.fixture
def board_world(db):
    return build_world
