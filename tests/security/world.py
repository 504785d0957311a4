"""A small province for the permission matrix and the public-leak sweep, built as users would.

Two cities (杭州市 with a district, and 宁波市), four departments (the owning one, another of the
same city, one of the other city and the 12345 desk), staff of every role, three citizens and an
enterprise, and what they did: applications in every state (with an upload, a rating and a
rectification, a rejected and a partly rejected case), tickets of every kind including a 举报
about an application, attachments, assistant questions, knowledge articles, a computed board,
an Open311 key and an API token.

Every person and private object carries distinctive strings (``World.secrets``): names, phones,
ID numbers (plain and masked the two ways the portal masks them), application references, ticket
numbers and titles. Each secret lists the roles allowed to read it; the tests look for the others'.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from axes.models import AccessFailureLog
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from catalog.models import Bundle, BundleItem, LifeEvent, Material, Synonym, Theme
from catalog.services import item_publish
from complaints import services as complaints
from complaints.knowledge import services as knowledge
from complaints.models import Article, AssistantQuestion, DispatchRule, Ticket
from complaints.open311.keys import open311_key_issue
from departments.models import DataGrant, Department, Membership, Region, ServiceLocation
from departments.models import ServiceLocationUserPermission as SharedLocation
from scoreboard import services as scoreboard
from scoreboard.metrics import default_weights
from tests.factories import PASSWORD, DepartmentFactory, ServiceItemFactory, StaffFactory
from workflows import services as workflows
from workflows.models import Application, Rectification, Task
from zheliban.accounts.models import User
from zheliban.accounts.services import user_register
from zheliban.core.identity import id_number_check_char, mask_middle, mask_phone, uscc_check_char
from zheliban.core.models import CalendarYear

R = Membership.Role
ROLES_OF_DEPARTMENT = (R.CLERK, R.SUPERVISOR, R.DISPATCHER, R.ADMIN)
DEPARTMENT_KEYS = ("d1", "d2", "d3")  # owning; other of the same city; of another city

ANONYMOUS = "anonymous"
CITIZEN_A, CITIZEN_B, REPORTER, ENTERPRISE = "citizen_a", "citizen_b", "reporter", "enterprise"
DESK_OPERATOR, DESK_DISPATCHER, DESK_SUPERVISOR = "desk_clerk", "desk_dispatcher", "desk_supervisor"
SUPERUSER = "superuser"


def staff_role(department: str, role: str) -> str:
    return f"{department}_{role}"


ROLES: tuple[str, ...] = (
    ANONYMOUS,
    CITIZEN_A,
    CITIZEN_B,
    REPORTER,
    ENTERPRISE,
    *(staff_role(d, r) for d in DEPARTMENT_KEYS for r in ROLES_OF_DEPARTMENT),
    DESK_OPERATOR,
    DESK_DISPATCHER,
    DESK_SUPERVISOR,
    SUPERUSER,
)
CITIZENS = frozenset({CITIZEN_A, CITIZEN_B, REPORTER, ENTERPRISE})
DESK = frozenset({DESK_OPERATOR, DESK_DISPATCHER, DESK_SUPERVISOR})
STAFF = frozenset(ROLES) - CITIZENS - {ANONYMOUS}


def of(department: str, *roles: str) -> frozenset[str]:
    """The roles of one department (all four when none are named)."""
    return frozenset(staff_role(department, r) for r in (roles or ROLES_OF_DEPARTMENT))


WORKERS = (R.CLERK, R.SUPERVISOR)  # who works on a department's tasks
CASE_READERS = (R.CLERK, R.SUPERVISOR, R.ADMIN)  # who reads its cases in admin


@dataclass(frozen=True)
class Secret:
    """A string only ``readers`` may find in a response."""

    text: str
    what: str
    readers: frozenset[str]


@dataclass
class World:
    regions: dict[str, Region]
    departments: dict[str, Department]
    users: dict[str, Any]  # role → user (None for anonymous)
    items: dict[str, Any]
    bundle: Bundle
    objects: dict[str, Any] = field(default_factory=dict)
    secrets: list[Secret] = field(default_factory=list)
    open311_key: str = ""
    token: str = ""

    def secret(self, text: str, what: str, readers) -> None:
        assert text, what
        self.secrets.append(Secret(str(text), what, frozenset(readers) | {SUPERUSER}))

    def forbidden_for(self, role: str) -> list[Secret]:
        return [s for s in self.secrets if role not in s.readers]


def _id_number(prefix6: str, birth: str, seq: str) -> str:
    first17 = f"{prefix6}{birth}{seq}"
    return first17 + id_number_check_char(first17)


def _png(color: str = "red") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(buffer, format="PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def _pdf() -> SimpleUploadedFile:
    body = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return SimpleUploadedFile("hukou.pdf", body, content_type="application/pdf")


ITEM_FIELDS = [
    {"name": "applicant_note", "label": "申请说明", "type": "text", "required": True},
    {
        "name": "holder_id_number",
        "label": "持证人身份证号码",
        "type": "id_number",
        "required": True,
    },
]
PARALLEL = """bundle: {slug}
steps:
  police: {{item: "{d1}", due: 3 workdays}}
  health: {{item: "{d2}", due: 2 workdays}}
"""


def build_world() -> World:
    province = Region.objects.create(code="330000", name="浙江省", level=Region.Level.PROVINCE)
    city = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    district = Region.objects.create(code="330106", name="西湖区", level="county", parent=city)
    other_city = Region.objects.create(code="330200", name="宁波市", level="city", parent=province)
    regions = {"province": province, "city": city, "district": district, "other": other_city}

    departments = {
        "d1": DepartmentFactory(
            code="330100-gongan", name="杭州市公安局", kind="gongan", region=city
        ),
        "d2": DepartmentFactory(
            code="330100-weijian", name="杭州市卫生健康委员会", kind="weijian", region=city
        ),
        "d3": DepartmentFactory(
            code="330200-gongan", name="宁波市公安局", kind="gongan", region=other_city
        ),
        "desk": DepartmentFactory(
            code="330100-rexian", name="杭州市12345热线", kind=Department.Kind.HOTLINE, region=city
        ),
    }
    users: dict[str, Any] = {ANONYMOUS: None}
    for key in DEPARTMENT_KEYS:
        for role in ROLES_OF_DEPARTMENT:
            user = StaffFactory(
                username=f"{departments[key].code}-{role}", real_name=f"{key}{role}职员"
            )
            Membership.objects.create(user=user, department=departments[key], role=role)
            users[staff_role(key, role)] = user
    for name, role in ((DESK_OPERATOR, R.CLERK), (DESK_DISPATCHER, R.DISPATCHER)):
        users[name] = StaffFactory(username=f"330100-rexian-{role}", real_name=f"热线{role}职员")
        Membership.objects.create(user=users[name], department=departments["desk"], role=role)
    users[DESK_SUPERVISOR] = StaffFactory(username="330100-rexian-supervisor", real_name="热线科长")
    Membership.objects.create(
        user=users[DESK_SUPERVISOR], department=departments["desk"], role=R.SUPERVISOR
    )
    users[SUPERUSER] = StaffFactory(username="root", real_name="省管理员", is_superuser=True)

    people = {
        CITIZEN_A: ("甲申明", "13911110001", _id_number("330102", "19850615", "201")),
        CITIZEN_B: ("乙酉亮", "13922220002", _id_number("330203", "19870707", "302")),
        REPORTER: ("丙戌举", "13933330003", _id_number("330104", "19790303", "403")),
    }
    for role, (name, phone, id_number) in people.items():
        users[role] = user_register(
            kind=User.Kind.CITIZEN,
            real_name=name,
            phone=phone,
            password=PASSWORD,
            id_number=id_number,
        )
    credit = "91330106MA2H0JKL7"
    users[ENTERPRISE] = user_register(
        kind=User.Kind.ENTERPRISE,
        real_name="丁亥保密科技有限公司",
        phone="13944440004",
        password=PASSWORD,
        credit_code=credit + uscc_check_char(credit),
    )

    # ------------------------------------------------------------ catalog
    theme = Theme.objects.create(slug="sec-theme", name="户籍证照")
    event = LifeEvent.objects.create(slug="sec-event", name="迁入落户")
    synonym = Synonym.objects.create(phrase="迁个户口", expansion="户口 迁移")
    items = {}
    for key in ("d1", "d2", "d3"):
        item = ServiceItemFactory(
            code=f"11330000SEC{key.upper()}0001",
            name=f"{departments[key].name}户籍证明",
            department=departments[key],
            form_fields=ITEM_FIELDS,
        )
        Material.objects.create(item=item, name="户口簿", source=Material.Source.APPLICANT)
        item_publish(actor=None, item=item, note="first")
        item.themes.add(theme)
        item.life_events.add(event)
        items[key] = item
    bundle = Bundle.objects.create(
        slug="sec-bundle", name="迁入一件事", is_active=True, region=city, life_event=event
    )
    for n, key in enumerate(("d1", "d2")):
        BundleItem.objects.create(bundle=bundle, item=items[key], sort_order=n)
    text = PARALLEL.format(slug=bundle.slug, d1=items["d1"].code, d2=items["d2"].code)
    bundle_wf = workflows.definition_save(actor=None, text=text)
    _approve(bundle_wf, departments, users)
    bundle_wf = workflows.definition_activate(actor=None, definition=bundle_wf)
    # A next version waiting for the departments' approval.
    pending_wf = workflows.definition_save(
        actor=None, text=text.replace("due: 2 workdays", "due: 1 workday")
    )
    draft_wf = workflows.definition_save(
        actor=None, text=workflows.item_default_text(items["d3"])
    )  # a draft, never activated
    world = World(regions, departments, users, items, bundle)
    world.objects.update(
        theme=theme,
        life_event=event,
        bundle_wf=bundle_wf,
        pending_wf=pending_wf,
        draft_wf=draft_wf,
    )
    world.objects["item_version"] = items["d1"].versions.order_by("number").first()
    world.objects["synonym"] = synonym
    world.objects["location"] = ServiceLocation.objects.create(
        department=departments["d1"], name="杭州市公安局办事大厅", address="示例路1号"
    )
    world.objects["shared_location"] = SharedLocation.objects.create(
        content_object=world.objects["location"],
        user=users[staff_role("d2", R.CLERK)],
        permission_id=_permission_id("change_servicelocation"),
    )
    world.objects["grant"] = DataGrant.objects.create(
        owner=departments["d1"],
        consumer=departments["d2"],
        fields=["hukou_region"],
        purpose="核验户籍",
        legal_basis="户口登记条例",
        mode=DataGrant.Mode.VERIFY,
    )
    world.objects["membership"] = Membership.objects.get(
        user=users[staff_role("d1", R.CLERK)], department=departments["d1"]
    )
    world.objects["calendar"] = CalendarYear.objects.create(year=2031, published=False)
    # django-axes keeps failure logs only when configured to; one row shows what admin makes of it
    AccessFailureLog.objects.create(
        username="citizen-nobody", ip_address="127.0.0.1", user_agent="test", path_info="/"
    )

    _applications(world)
    _tickets(world)
    _assistant(world)
    _board(world)
    return world


def _approve(definition, departments, users) -> None:
    """Each department a shared version binds approves its steps, by its own administrator: a
    version needs them all before it may be activated."""
    from workflows.models import WorkflowApproval

    for key in ("d1", "d2"):
        workflows.definition_decide(
            actor=users[staff_role(key, R.ADMIN)],
            definition=definition,
            department=departments[key],
            decision=WorkflowApproval.Decision.APPROVED,
        )


def _permission_id(codename: str) -> int:
    from django.contrib.auth.models import Permission

    return Permission.objects.get(codename=codename).pk


# ---------------------------------------------------------------- applications


def _apply(world: World, role: str, *, item=None, bundle=None, key: str, uploads=None):
    user = world.users[role]
    draft = workflows.application_start(applicant=user, item=item, bundle=bundle)
    app, _created = workflows.application_submit(
        applicant=user,
        application=draft,
        answers={
            "applicant_note": f"{user.real_name}的申请",
            "holder_id_number": user.id_number or "",
        },
        uploads=uploads or {},
        idempotency_key=key,
    )
    return app


def _move(world: World, app, department: str, *actions, **kwargs):
    task = app.tasks.get(department=world.departments[department])
    clerk = world.users[staff_role(department, R.CLERK)]
    for action in actions:
        task = workflows.task_transition(actor=clerk, task_id=task.pk, action=action, **kwargs)
    return task


def _applications(world: World) -> None:
    items, o = world.items, world.objects
    case_readers_d1 = of("d1", *CASE_READERS)
    case_readers_d2 = of("d2", *CASE_READERS)
    case_readers_d3 = of("d3", *CASE_READERS)

    # A: in progress at D1, with an upload; claimed by D1's clerk.
    o["app_open"] = _apply(
        world, CITIZEN_A, item=items["d1"], key="a-open", uploads={"户口簿": _pdf()}
    )
    o["task_open"] = _move(world, o["app_open"], "d1", "claim")
    # D1's clerk ran a one-day test (检测) on it and asks for more time; D1's supervisor issues
    # a 督办 about it.
    clerk_d1 = world.users[staff_role("d1", R.CLERK)]
    workflows.procedure_start(
        actor=clerk_d1,
        task_id=o["task_open"].pk,
        kind="testing",
        reason="送检样品",
        expected_end=timezone.localdate(),
    )
    o["specialprocedure"] = workflows.procedure_end(actor=clerk_d1, task_id=o["task_open"].pk)
    o["extension"] = workflows.extension_request(
        actor=clerk_d1, task_id=o["task_open"].pk, workdays=2, reason="需要补充调查"
    )
    o["supervision"] = workflows.supervision_issue(
        actor=world.users[staff_role("d1", R.SUPERVISOR)],
        task_id=o["task_open"].pk,
        reason="请说明进度",
    )
    o["task_open"].refresh_from_db()
    o["attachment"] = o["app_open"].attachments.get()
    # A: completed at D1, rated 2: a rectification for D1.
    o["app_done"] = _apply(world, CITIZEN_A, item=items["d1"], key="a-done")
    o["task_done"] = _move(world, o["app_done"], "d1", "claim", "accept", "complete")
    o["rating"] = workflows.rating_submit(
        applicant=world.users[CITIZEN_A], application=o["app_done"], score=2, comment="太慢了"
    )
    o["rectification"] = Rectification.objects.get(rating=o["rating"])
    # A: the bundle, D1 rejects and D2 completes: partly completed.
    o["app_partial"] = _apply(world, CITIZEN_A, bundle=world.bundle, key="a-partial")
    _move(world, o["app_partial"], "d1", "claim", "accept", "reject", reason="材料不全甲号驳回理由")
    o["task_partial_d2"] = _move(world, o["app_partial"], "d2", "claim", "accept", "complete")
    # A: rejected outright by D1.
    o["app_rejected"] = _apply(world, CITIZEN_A, item=items["d1"], key="a-rejected")
    _move(
        world,
        o["app_rejected"],
        "d1",
        "claim",
        "accept",
        "reject",
        reason="甲号第二次驳回不符合受理条件",
    )
    # A: a draft for D2's item.
    o["app_draft"] = workflows.application_start(applicant=world.users[CITIZEN_A], item=items["d2"])
    # B: in progress at D3 (the other city).
    o["app_b"] = _apply(world, CITIZEN_B, item=items["d3"], key="b-open")
    o["task_b"] = o["app_b"].tasks.get()
    # The reporter: in progress at D1; the 举报 below is about this case.
    o["app_reporter"] = _apply(world, REPORTER, item=items["d1"], key="r-open")
    o["task_reporter"] = o["app_reporter"].tasks.get()
    # The enterprise: in progress at D2.
    o["app_enterprise"] = _apply(world, ENTERPRISE, item=items["d2"], key="e-open")
    # D2 verifies a fact D1 holds about A (logged, never the value).
    o["data_access"] = workflows.data_verify(
        consumer=world.departments["d2"],
        owner=world.departments["d1"],
        citizen=world.users[CITIZEN_A],
        field="hukou_region",
        expected="330106",
        purpose="核验户籍",
        application=o["app_partial"],
        actor=world.users[staff_role("d2", R.CLERK)],
    )
    from workflows.models import DataAccess

    o["data_access"] = DataAccess.objects.order_by("-id").first()
    # D1 (公安) keeps A's population record; A asks it to correct the address.
    from registers import services as registers

    a = world.users[CITIZEN_A]
    o["record"] = registers.record_save(
        register="population",
        owner=world.departments["d1"],
        data={
            "id_number": a.id_number,
            "name": a.real_name,
            "sex": "男",
            "birth_date": f"{a.id_number[6:10]}-{a.id_number[10:12]}-{a.id_number[12:14]}",
            "hukou_region": "330106",
            "hukou_address": "杭州市西湖区甲号户籍路 9 号",
            "household_no": "HH-A-0001",
        },
    )
    o["register_correction"] = registers.correction_request(
        citizen=a,
        record=o["record"],
        field="hukou_address",
        claimed_value="杭州市西湖区甲号户籍路 19 号",
    )
    o["notice"] = world.users[CITIZEN_A].notices.order_by("id").first()

    # A case's number: its applicant, and every member of staff of the departments that carry
    # it out (the rows behind the board's figures are for them too).
    for key in ("app_open", "app_done", "app_partial", "app_rejected"):
        readers = {CITIZEN_A} | of("d1")
        if key == "app_partial":
            readers |= of("d2")
        world.secret(o[key].reference, f"A's case {key}", readers)
    world.secret(
        "材料不全甲号驳回理由",
        "why A's bundle was partly rejected",
        {CITIZEN_A} | case_readers_d1 | case_readers_d2,
    )
    world.secret(
        "甲号第二次驳回不符合受理条件", "why A's case was rejected", {CITIZEN_A} | case_readers_d1
    )
    world.secret(o["app_b"].reference, "B's case", {CITIZEN_B} | of("d3"))
    world.secret(o["app_enterprise"].reference, "the enterprise's case", {ENTERPRISE} | of("d2"))
    # The report is about this case: the desk, which dispatches it, may know the case.
    world.secret(o["app_reporter"].reference, "the reporter's case", {REPORTER} | of("d1") | DESK)

    a, b, r, e = (world.users[k] for k in (CITIZEN_A, CITIZEN_B, REPORTER, ENTERPRISE))
    # Who may know a person: themselves, the departments handling their cases (in full), the
    # desk and the departments handling their tickets (masked).
    _person(
        world,
        CITIZEN_A,
        a,
        full=case_readers_d1 | case_readers_d2,
        masked=DESK | of("d1"),
        claimer=of("d1", R.CLERK) | of("d2", R.CLERK),
    )
    _person(world, CITIZEN_B, b, full=case_readers_d3, masked=DESK | of("d2"), claimer=frozenset())
    # The reporter is also an applicant of D1, which handles their case and so knows them as its
    # applicant, like anyone's: what D1 must never learn is that this applicant sent the report
    # (the report's pages show that case's facts without its reference: tests/complaints/
    # test_reports.py). Hiding the applicant on D1's own task would itself betray the report.
    _person(
        world,
        REPORTER,
        r,
        full=case_readers_d1,
        masked=DESK | of("d1"),
        claimer=of("d1", R.CLERK),
    )
    world.secret(e.real_name, "the enterprise's name", {ENTERPRISE} | case_readers_d2)
    world.secret(e.credit_code, "the enterprise's credit code", {ENTERPRISE})
    world.secret(e.phone, "the enterprise's phone", {ENTERPRISE})


def _person(world: World, role: str, user, *, full, masked, claimer) -> None:
    own = {role}
    world.secret(user.real_name, f"{role}'s name", own | full)
    world.secret(user.phone, f"{role}'s phone", own)
    world.secret(mask_phone(user.phone), f"{role}'s masked phone", own | masked)
    world.secret(user.id_number, f"{role}'s ID number", own | claimer)
    world.secret(mask_middle(user.id_number), f"{role}'s masked ID number", own | full)
    world.secret(
        mask_middle(user.id_number, keep_start=3, keep_end=4),
        f"{role}'s ID number masked for a case",
        own | full,
    )


# ---------------------------------------------------------------- tickets


def _ticket(world: World, role: str | None, **fields) -> Ticket:
    values = {
        "kind": "complaint",
        "channel": "web",
        "region": world.regions["district"],
        "address": "文三路 100 号",
        "citizen": world.users[role] if role else None,
    }
    values.update(fields)
    return complaints.ticket_submit(**values)


def _act(world: World, ticket: Ticket, role: str, action: str, **kwargs) -> Ticket:
    return complaints.ticket_transition(
        actor=world.users[role], ticket=ticket.pk, action=action, **kwargs
    )


def _tickets(world: World) -> None:
    o, d = world.objects, world.departments
    dispatcher = DESK_DISPATCHER
    d1_clerk = staff_role("d1", R.CLERK)
    # A's private complaint with a photo, being handled by D1.
    o["ticket_private"] = _ticket(
        world,
        CITIZEN_A,
        title="甲私密投诉文三路工地夜间施工",
        content="文三路一百号工地每晚施工到凌晨，我家就在隔壁，孩子无法入睡，请查处。",
        uploads=[_png()],
    )
    _act(world, o["ticket_private"], dispatcher, "dispatch", department=d["d1"])
    _act(world, o["ticket_private"], d1_clerk, "sign")
    o["ticket_attachment"] = o["ticket_private"].attachments.get()
    # A's public complaint, answered and closed: its title is for everyone.
    o["ticket_public"] = _ticket(
        world,
        CITIZEN_A,
        title="公开投诉古墩路路灯不亮",
        content="古墩路与文一路路口的路灯坏了两个星期，晚上很黑，请尽快修复。",
        is_public=True,
    )
    _act(world, o["ticket_public"], dispatcher, "dispatch", department=d["d1"])
    _act(world, o["ticket_public"], d1_clerk, "sign")
    _act(world, o["ticket_public"], d1_clerk, "answer", note="已安排维修，路灯已恢复照明。")
    _act(world, o["ticket_public"], DESK_OPERATOR, "callback", note="市民确认已修复。")
    _act(world, o["ticket_public"], CITIZEN_A, "rate", satisfaction=5)
    # B's consultation waiting at D2 to be signed for.
    o["ticket_b"] = _ticket(
        world,
        CITIZEN_B,
        kind="consultation",
        title="乙私密咨询医保异地备案流程",
        content="我在宁波工作，想问医保异地备案需要哪些材料，多久办好？",
    )
    _act(world, o["ticket_b"], dispatcher, "dispatch", department=d["d2"])
    # A caller on the hotline, entered by the desk's operator, queued for a dispatcher.
    o["ticket_hotline"] = _ticket(
        world,
        None,
        channel="hotline",
        title="来电私密求助独居老人无人照看",
        content="邻居独居老人已经三天没出门，敲门无人应答，请社区上门看看。",
        entered_by=world.users[DESK_OPERATOR],
        contact_name="来电人戊子",
        contact_phone="13955550005",
        kind="help",
    )
    # An anonymous complaint, queued.
    o["ticket_anonymous"] = _ticket(
        world,
        None,
        title="匿名私密投诉饭店后厨脏乱",
        content="某饭店后厨卫生条件很差，老鼠乱窜，请市场监管部门检查。",
        is_anonymous=True,
    )
    # The 举报: about the reporter's own case at D1, dispatched with it.
    o["report"] = _ticket(
        world,
        REPORTER,
        kind="report",
        title="举报杭州市公安局窗口索要好处费",
        content="办理户籍证明时窗口工作人员暗示要好处费才能加快办理，我有录音为证。",
        contact_name="丙戌举",
        contact_phone="13933330003",
        application=o["app_reporter"],
    )
    if o["report"].state in (Ticket.State.RECEIVED, Ticket.State.QUEUED):
        _act(world, o["report"], dispatcher, "dispatch", department=d["d1"])
    complaints.reporter_reveal(
        user=world.users[DESK_SUPERVISOR], ticket=o["report"], reason="核实举报人身份"
    )
    from complaints.models import ReporterAccess

    o["reporter_access"] = ReporterAccess.objects.get()
    for t in ("ticket_private", "ticket_b", "ticket_hotline", "ticket_anonymous", "report"):
        o[t].refresh_from_db()

    handlers = {
        "ticket_private": {CITIZEN_A} | of("d1"),
        "ticket_b": {CITIZEN_B} | of("d2"),
        "ticket_hotline": frozenset(),
        "ticket_anonymous": frozenset(),
        "report": {REPORTER} | of("d1"),
    }
    for key, readers in handlers.items():
        ticket = o[key]
        world.secret(ticket.number, f"{key}'s number", readers | DESK)
        world.secret(ticket.title, f"{key}'s title", readers | DESK)
    world.secret("来电人戊子", "the caller's name", frozenset())
    world.secret("13955550005", "the caller's phone", frozenset())
    world.secret("139****0005", "the caller's masked phone", DESK)
    world.secret("丙**", "the reporter's masked name", {REPORTER} | DESK | of("d1", *CASE_READERS))


# ---------------------------------------------------------------- knowledge and assistant


def _assistant(world: World) -> None:
    o = world.objects
    o["article"] = knowledge.article_save(
        article=Article(
            code="sec-hukou",
            scope=Article.Scope.PROVINCE,
            question="户籍证明怎么开",
            answer="户籍证明可以在浙里办线上申请，也可以到派出所窗口办理。",
            keywords="户籍 证明",
        )
    )
    o["article_local"] = knowledge.article_save(
        article=Article(
            code="sec-hukou-hz",
            scope=Article.Scope.DEPARTMENT,
            department=world.departments["d1"],
            region=world.regions["city"],
            question="杭州户籍证明怎么开",
            answer="杭州市民可在杭州市公安局办事大厅办理户籍证明。",
            overrides=o["article"],
        )
    )
    o["pinned"] = knowledge.answer_pin(
        question="开户籍证明", article=o["article"], actor=world.users[SUPERUSER]
    )
    o["dispatch_rule"] = DispatchRule.objects.create(keyword="噪音", kind="shengtai", note="t")
    # B's question, which became B's ticket; the reporter's, which became the report; an
    # anonymous one.
    o["question_b"] = knowledge.assistant_ask(
        question="乙私下问异地备案被拒怎么办", region_code="330100", user=world.users[CITIZEN_B]
    )
    AssistantQuestion.objects.filter(pk=o["question_b"].pk).update(ticket=o["ticket_b"])
    o["question_reporter"] = knowledge.assistant_ask(
        question="丙私下问窗口索要好处费找谁", region_code="330100", user=world.users[REPORTER]
    )
    AssistantQuestion.objects.filter(pk=o["question_reporter"].pk).update(ticket=o["report"])
    o["question_anonymous"] = knowledge.assistant_ask(question="户籍证明怎么开", user=None)
    for key in ("question_b", "question_reporter", "question_anonymous"):
        o[key].refresh_from_db()
    supervisors = frozenset(
        staff_role(d, r) for d in DEPARTMENT_KEYS for r in (R.SUPERVISOR, R.DISPATCHER, R.ADMIN)
    )
    world.secret(o["question_b"].question, "B's question", {CITIZEN_B} | supervisors | DESK)
    world.secret(
        o["question_reporter"].question, "the reporter's question", {REPORTER} | supervisors | DESK
    )
    o["open311_key"], world.open311_key = open311_key_issue(name="示例集成商")
    world.secret(world.open311_key, "the Open311 api_key", frozenset())
    from zheliban.accounts.services import personal_token_issue

    o["token"], world.token = personal_token_issue(user=world.users[CITIZEN_A], name="A's client")
    world.secret(world.token, "A's API token", frozenset())


# ---------------------------------------------------------------- board


def _board(world: World) -> None:
    o = world.objects
    o["weight_set"] = scoreboard.weights_save(
        actor=None, weights=default_weights(), min_volume=1, note="security matrix"
    )
    o["snapshot"] = scoreboard.snapshot_compute(period="month", day=timezone.localdate())
    o["score"] = o["snapshot"].scores.filter(department=world.departments["d1"]).first()
    o["task_any"] = Task.objects.filter(department=world.departments["d1"]).first()
    o["application_any"] = Application.objects.exclude(status="draft").first()
    o["today"] = dt.date.today()
