"""A dispatcher of 杭州市's 12345 desk works the morning's queue of ten tickets on a phone.

Six complaints carry a confident suggestion: the dispatcher ticks them on the queue and sends
them to their suggestions in one submit. Three the model got wrong or was unsure of: the
dispatcher opens the first, types part of the right department's name into the lead field,
takes the name the list offers and dispatches; the next queued ticket opens by itself. The last
is a consultation the knowledge base answers: answered and closed, never dispatched, and the
queue is empty. Every page load is counted (at most 16). The database then holds each ticket's
state, lead, category (the lead's matter; the model's guess kept in ``category_guessed``) and
history, and the statistics count the tickets under the final categories.

The suggestions are set as the dispatch model would have left them on arrival (the queue event's
``suggested``, ``confidence`` and ``reasons``, the ticket's guessed category), the way
``tests/complaints/test_ticket_pages.py`` sets them: the journey is the dispatcher's, not the
model's.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import translation
from playwright.sync_api import expect

from complaints import services
from complaints.dispatch.categories import CATEGORY_BY_KIND
from complaints.knowledge.services import article_save
from complaints.models import Article, Ticket, TicketEvent
from departments.models import Department, Membership, Region
from tests.e2e.test_newborn import fits_and_passes_axe, path_of, zh, zh_label
from tests.factories import (
    PASSWORD,
    DepartmentFactory,
    MembershipFactory,
    RegionFactory,
    UserFactory,
)

pytestmark = pytest.mark.e2e

QUEUE = "/staff/tickets/?view=queue"
STATS = "/staff/tickets/stats/"
MAX_PAGE_LOADS = 16
CONFIDENT = 0.8  # the dispatcher ticks the suggestions shown at this confidence or above

CITY_DEPARTMENTS = {
    "zhujian": "杭州市住房和城乡建设局",
    "shengtai": "杭州市生态环境局",
    "jiaotong": "杭州市交通运输局",
    "jiaoyu": "杭州市教育局",
    "renshe": "杭州市人力资源和社会保障局",
    "weijian": "杭州市卫生健康委员会",
    "shangwu": "杭州市商务局",
}
DISTRICT_DEPARTMENTS = {
    "zhujian": "西湖区住房和城乡建设局",
    "shengtai": "杭州市生态环境局西湖分局",
    "jiaotong": "西湖区交通运输局",
    "jiaoyu": "西湖区教育局",
}

PENSION_QUESTION = "我是灵活就业人员，没有单位，在杭州怎么自己交养老保险？网上能办吗？"
PENSION_ANSWER = (
    "灵活就业人员可以个人身份参加职工基本养老保险：登录浙里办搜索“灵活就业人员参保登记”，"
    "填写信息并选择缴费基数，按月或按季度缴费；也可携带身份证到户籍地或居住地社保经办窗口办理。"
)


@dataclass(frozen=True)
class Case:
    """A ticket of the queue: what the citizen wrote, what the model guessed, and how the
    dispatcher handles it (``typed``: what is typed into the lead field; ``lead``: the name
    taken from the list, or the suggestion's name; ``article``: answered from the KB)."""

    title: str
    content: str
    guessed: str | None  # the kind of department the model suggested (None: no suggestion)
    confidence: float | None
    reasons: tuple[str, ...]
    lead: str | None
    typed: str = ""
    kind: str = Ticket.Kind.COMPLAINT
    article: bool = False
    hotline: bool = False


CASES = [
    Case(
        "工地夜间打桩施工扰民",
        "文三路100号旁边的工地每天晚上十一点以后还在打桩，整栋楼都在震，孩子第二天要上学，"
        "根本睡不着，请尽快查处。",
        "zhujian",
        0.93,
        ("打桩", "工地", "施工"),
        DISTRICT_DEPARTMENTS["zhujian"],
    ),
    Case(
        "培训机构晚上噪声扰民",
        "楼下底商的培训机构每天晚上上课到九点半，音响和喊叫声很大，楼上住户无法休息，"
        "希望派人来测一下噪声，督促他们整改。",
        "jiaoyu",
        0.46,
        ("培训机构", "上课"),
        DISTRICT_DEPARTMENTS["shengtai"],
        typed="生态环境",
    ),
    Case(
        "小河被排污水发黑发臭",
        "西溪湿地东侧的小河最近河水发黑发臭，岸边有一根管子一直往河里排污水，"
        "水面上漂着死鱼，附近居民晚上都不敢开窗。",
        "shengtai",
        0.91,
        ("排污", "发臭", "河水"),
        DISTRICT_DEPARTMENTS["shengtai"],
    ),
    Case(
        "公交站点取消出行不便",
        "古墩路的公交线路调整后，留下路口的站点取消了，附近小区的老人去医院要多走两公里，"
        "希望恢复这个站点。",
        "jiaotong",
        0.88,
        ("公交", "站点", "线路"),
        DISTRICT_DEPARTMENTS["jiaotong"],
    ),
    Case(
        "路口红绿灯时间太短",
        "文一西路和紫金港路路口新换的红绿灯，行人绿灯只有十五秒，老人过马路走不到一半就变灯了，"
        "非常危险，希望延长行人通行时间。",
        "zhujian",
        0.41,
        ("新换", "路口"),
        CITY_DEPARTMENTS["jiaotong"],
        typed="杭州市交通",
        hotline=True,
    ),
    Case(
        "学校强制购买辅导资料",
        "孩子所在的小学要求家长统一购买指定的课外辅导资料，每学期三百多元，"
        "不买的学生会被老师点名批评。",
        "jiaoyu",
        0.9,
        ("学校", "家长", "辅导资料"),
        DISTRICT_DEPARTMENTS["jiaoyu"],
    ),
    Case(
        "装修公司拖欠工资",
        "我在三墩镇一家装修公司干了半年，老板拖欠我和另外六个工友三个月的工资，"
        "一共四万多元，一直推说没钱。",
        "renshe",
        0.95,
        ("拖欠", "工资", "老板"),
        CITY_DEPARTMENTS["renshe"],
    ),
    Case(
        "养老保险怎么交",
        PENSION_QUESTION,
        "renshe",
        0.72,
        ("养老保险", "灵活就业"),
        None,
        kind=Ticket.Kind.CONSULTATION,
        article=True,
    ),
    Case(
        "社区卫生服务中心夜间无人值班",
        "社区卫生服务中心晚上没有医生值班，孩子半夜发烧只能打车去市区的医院，希望增加夜间门诊。",
        "weijian",
        0.86,
        ("卫生服务中心", "医生", "门诊"),
        CITY_DEPARTMENTS["weijian"],
    ),
    Case(
        "酒店入住临时加价",
        "酒店在网上标价一晚两百八十元，入住时前台说周末要加收一百元，不加钱就不给房，"
        "和网上写的不一样。",
        "renshe",
        0.33,
        ("前台",),
        CITY_DEPARTMENTS["shangwu"],
        typed="商务",
    ),
]


def zh_plural(singular: str, plural: str, count: int, **params) -> str:
    with translation.override("zh-hans"):
        return translation.ngettext(singular, plural, count) % params


@pytest.fixture(autouse=True)
def _no_dispatch_model(settings, tmp_path):
    """No model and no rules: every ticket waits for the desk, as the cases say."""
    settings.DISPATCH_MODEL_DIR = str(tmp_path / "no-models")
    settings.DISPATCH_RULES_PATH = None
    services._predictor_cache.clear()
    yield
    services._predictor_cache.clear()


@pytest.fixture
def city(transactional_db):
    """杭州市's desk and departments, 西湖区's own, the desk's dispatcher and operator."""
    province = RegionFactory()
    hangzhou = Region.objects.create(code="330100", name="杭州市", level="city", parent=province)
    xihu = Region.objects.create(code="330106", name="西湖区", level="county", parent=hangzhou)
    desk = DepartmentFactory(
        code="330100-rexian",
        name="杭州市12345政务服务便民热线",
        kind=Department.Kind.HOTLINE,
        region=hangzhou,
    )
    departments = {}
    for region, names in ((hangzhou, CITY_DEPARTMENTS), (xihu, DISTRICT_DEPARTMENTS)):
        for kind, name in names.items():
            departments[name] = DepartmentFactory(
                code=f"{region.code}-{kind}", name=name, kind=kind, region=region
            )
    R = Membership.Role
    dispatcher = MembershipFactory(
        department=desk, role=R.DISPATCHER, user__real_name="派单员小李"
    ).user
    operator = MembershipFactory(department=desk, role=R.CLERK, user__real_name="话务员小王").user
    return xihu, departments, dispatcher, operator


def _nearest(departments: dict[str, Department], kind: str) -> Department:
    return (
        departments.get(DISTRICT_DEPARTMENTS.get(kind, "")) or departments[CITY_DEPARTMENTS[kind]]
    )


def queue_the_morning(city) -> list[Ticket]:
    """The tickets as they arrived, each left in the queue with the model's suggestion."""
    xihu, departments, _dispatcher, operator = city
    tickets = []
    for n, case in enumerate(CASES):
        if case.hotline:
            sender = {
                "channel": Ticket.Channel.HOTLINE,
                "entered_by": operator,
                "contact_name": "陈女士",
                "contact_phone": "13805710042",
            }
        else:
            sender = {
                "channel": Ticket.Channel.WEB,
                "citizen": UserFactory(real_name=f"市民{'甲乙丙丁戊己庚辛壬癸'[n]}"),
            }
        ticket = services.ticket_submit(
            kind=case.kind,
            title=case.title,
            content=case.content,
            region=xihu,
            address="",
            **sender,
        )
        assert ticket.state == Ticket.State.QUEUED
        suggested = _nearest(departments, case.guessed) if case.guessed else None
        guessed = CATEGORY_BY_KIND[case.guessed].name if case.guessed else ""
        TicketEvent.objects.filter(ticket=ticket, action="queue").update(
            data={
                "suggested": suggested.code if suggested else "",
                "confidence": case.confidence,
                "reasons": list(case.reasons),
            }
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            category=guessed,
            category_guessed=guessed,
            dispatch_confidence=case.confidence,
            dispatch_reasons=list(case.reasons),
        )
        tickets.append(Ticket.objects.get(pk=ticket.pk))
    return tickets


def choose_department(page, typed: str) -> str:
    """Type part of a department's name into the lead field and take the first name the list
    offers (the ticket's district first), as a person does; the name taken."""
    lead = page.locator("#d-lead")
    lead.fill("")  # the wrong suggestion was filled in
    lead.press_sequentially(typed)
    names = page.locator("#d-departments option").evaluate_all("os => os.map(o => o.value)")
    offered = [name for name in names if typed in name]
    assert offered, f"the list offers nothing for {typed!r}"
    lead.press("ArrowDown")
    if lead.input_value() in offered:
        lead.press("Enter")  # Chromium showed the list: Enter takes the highlighted name
    else:
        # Headless Chromium draws no datalist popup (ArrowDown changes nothing, and Enter
        # would submit the form with the half-typed name): take the first offer by its name.
        lead.fill(offered[0])
    expect(lead).to_have_value(offered[0])
    return offered[0]


def press(page, action: str) -> None:
    with page.expect_navigation() as navigation:
        page.locator(f"main form button[name=action][value={action}]").click()
    assert navigation.value.status == 200


def test_a_dispatcher_empties_a_queue_of_ten_in_at_most_sixteen_page_loads(
    city, new_context, log_in
):
    _xihu, departments, dispatcher, operator = city
    article = article_save(
        article=Article(
            code="linghuo-jiuye-yanglao",
            scope=Article.Scope.DEPARTMENT,
            department=departments[CITY_DEPARTMENTS["renshe"]],
            question="灵活就业人员怎么缴纳职工基本养老保险？",
            answer=PENSION_ANSWER,
            keywords="灵活就业 养老保险 社保 缴费 参保",
        )
    )
    tickets = queue_the_morning(city)
    case_of = {t.pk: case for t, case in zip(tickets, CASES, strict=True)}
    confident = [t.pk for t, c in zip(tickets, CASES, strict=True) if c.confidence >= CONFIDENT]
    assert len(confident) == 6

    page = new_context().new_page()  # a phone, 360 px wide
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    log_in(page, dispatcher.username, PASSWORD)
    logging_in = len(loads)  # the login page and the page after it

    # 1. The queue: each row shows its suggestion by name, with its confidence and reasons.
    assert page.goto(QUEUE).status == 200
    rows = page.locator("main table.worklist tbody tr")
    expect(rows).to_have_count(10)
    fits_and_passes_axe(page)
    ticked = []
    for ticket in tickets:
        case = case_of[ticket.pk]
        row = page.locator(f"main tr[data-ticket='{ticket.pk}']")
        suggestion = _nearest(departments, case.guessed)
        expect(row.locator(f"[data-suggested='{suggestion.code}']")).to_have_text(suggestion.name)
        expect(row.locator("small.reasons")).to_have_text("、".join(case.reasons))
        shown = row.locator("td").nth(3).inner_text()
        confidence = float(re.search(r"· (\d\.\d\d)", shown)[1])
        assert confidence == case.confidence
        if confidence >= CONFIDENT:
            row.locator("input[name=tickets]").check()
            ticked.append(ticket.pk)
    assert ticked == confident

    # 2. One submit sends the six to their suggestions; the queue comes back with four.
    with page.expect_navigation() as navigation:
        page.locator("#bulk-dispatch button[type=submit]").click()
    assert navigation.value.status == 200
    assert (path_of(page), parse_qs(urlparse(page.url).query)) == (
        "/staff/tickets/",
        {"view": ["queue"]},
    )
    expect(page.locator(".messages[role=status]")).to_contain_text(
        zh_plural(
            "%(n)d ticket dispatched to its suggestion.",
            "%(n)d tickets dispatched to their suggestions.",
            6,
            n=6,
        )
    )
    expect(rows).to_have_count(4)
    left = [t.pk for t in tickets if t.pk not in confident]
    assert [int(pk) for pk in rows.evaluate_all("rs => rs.map(r => r.dataset.ticket)")] == left
    fits_and_passes_axe(page)

    # 3. The first of the four opens; each desk move opens the next, the last the queue.
    with page.expect_navigation():
        rows.first.locator("a").first.click()
    fits_and_passes_axe(page)
    taken, opened = {}, []
    for _ in range(4):
        pk = int(path_of(page).strip("/").split("/")[-1])
        opened.append(pk)
        case = case_of[pk]
        expect(page.locator("#ticket-state")).to_have_text(zh_label(Ticket.State.QUEUED))
        expect(page.locator("#ticket-content")).to_have_text(case.content)
        if case.article:
            choice = page.locator(f"main input[name=article][value='{article.code}']")
            expect(choice).to_be_checked()
            expect(page.locator(f"main a[href='{article.get_absolute_url()}']")).to_have_text(
                article.question
            )
            press(page, "resolve")
        else:
            # the wrong suggestion is filled in, named as the dispatcher knows it
            suggestion = _nearest(departments, case.guessed)
            expect(page.locator("#suggested-department")).to_have_text(suggestion.name)
            expect(page.locator("#d-lead")).to_have_value(suggestion.name)
            taken[pk] = choose_department(page, case.typed)
            press(page, "dispatch")
    assert (path_of(page), parse_qs(urlparse(page.url).query)) == (
        "/staff/tickets/",
        {"view": ["queue"]},
    )
    expect(page.locator("main")).to_contain_text(zh("No tickets here."))
    assert opened == left  # each in the queue's order
    assert taken == {pk: case_of[pk].lead for pk in left if not case_of[pk].article}

    # 4. The statistics count every ticket under its final category.
    assert page.goto(STATS).status == 200
    by_category = page.locator("main section[aria-labelledby=h-category] table tbody tr")
    shown = by_category.evaluate_all(
        "rs => rs.map(r => [r.dataset.key, Number(r.querySelector('td').textContent)])"
    )
    final = Counter(
        CATEGORY_BY_KIND[departments[c.lead].kind].name if c.lead else "劳动和社会保障"
        for c in CASES
    )
    assert dict(shown) == dict(final)
    assert sum(final.values()) == 10

    # Every page load counts, logging in too; the work itself: the queue, the queue after the
    # bulk dispatch, the four tickets, the empty queue, the statistics.
    assert len(loads) <= MAX_PAGE_LOADS, loads
    assert (logging_in, len(loads) - logging_in) == (2, 8), loads

    # 5. What the database holds.
    for ticket in tickets:
        case = case_of[ticket.pk]
        ticket.refresh_from_db()
        guessed = CATEGORY_BY_KIND[case.guessed].name
        sender = operator.pk if case.hotline else None
        if case.article:
            assert (ticket.state, ticket.department, ticket.article) == (
                Ticket.State.CLOSED,
                None,
                article,
            )
            assert (ticket.category, ticket.category_guessed) == ("劳动和社会保障", guessed)
            assert ticket.reply.startswith(PENSION_ANSWER)
            # the source, in the language the desk worked in (Chinese, the default)
            assert ticket.reply.endswith(
                f"出处：知识库“{article.question}”（{article.get_absolute_url()}）"
            )
            assert list(ticket.events.values_list("action", "actor", "department")) == [
                ("receive", sender, None),
                ("queue", None, None),
                ("resolve", dispatcher.pk, None),
            ]
            assert ticket.parts.count() == 0
            continue
        lead = departments[case.lead]
        category = CATEGORY_BY_KIND[lead.kind].name
        assert (ticket.state, ticket.department, ticket.category, ticket.category_guessed) == (
            Ticket.State.DISPATCHED,
            lead,
            category,
            guessed,
        )
        assert ticket.dispatched_automatically is False
        assert list(ticket.events.values_list("action", "actor", "department")) == [
            ("receive", sender, None),
            ("queue", None, None),
            ("dispatch", dispatcher.pk, lead.pk),
        ]
        dispatch = ticket.events.get(action="dispatch")
        assert (dispatch.from_state, dispatch.to_state) == (
            Ticket.State.QUEUED,
            Ticket.State.DISPATCHED,
        )
        assert dispatch.data["category"] == category
        assert dispatch.data["automatic"] is False
        assert list(ticket.parts.values_list("department", "is_lead", "state")) == [
            (lead.pk, True, "dispatched")
        ]
    # the three the model got wrong: the guess is kept, the category follows the lead
    wrong = [t for t in tickets if case_of[t.pk].typed]
    assert [(t.category_guessed, t.category) for t in wrong] == [
        ("教育文体", "环境保护"),
        ("城乡建设", "交通运输"),
        ("劳动和社会保障", "商贸旅游"),
    ]
