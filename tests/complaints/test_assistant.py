"""The assistant: answers with sources from articles and item guides, or a prefilled ticket."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Material
from complaints.knowledge import services
from complaints.knowledge.selectors import session_fingerprint
from complaints.models import Article, AssistantQuestion, PinnedAnswer
from complaints.views.assistant import ASKER_COOKIE
from departments.models import ServiceLocation
from tests.factories import (
    CityFactory,
    DepartmentFactory,
    ServiceItemFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/assistant/"
ITEM = "出入境通行证签发"


def english(client):
    client.cookies["zhb_lang"] = "en"
    return client


def ask(client, q, **params):
    return english(client).get(API, {"q": q, **params})


def make_article(code, question, answer, **values) -> Article:
    return services.article_save(
        article=Article(code=code, question=question, answer=answer, **values)
    )


@pytest.fixture
def item():
    department = DepartmentFactory(name="示例市公安局")
    ServiceLocation.objects.create(
        department=department,
        name="市民服务中心",
        address="示例路1号",
        windows="1-3号窗口",
        opening_hours="工作日 9:00-17:00",
        phone="12345",
    )
    item = ServiceItemFactory(
        name=ITEM,
        department=department,
        promised_days=5,
        statutory_days=20,
        fee_fen=2000,
        fee_note="按本数收取",
        location="示例市公安局出入境大厅",
        consult_phone="0571-87280000",
        summary="为本市户籍居民签发往来港澳通行证。",
    )
    Material.objects.create(item=item, name="居民身份证", sort_order=1)
    Material.objects.create(item=item, name="近期免冠照片", required=False, sort_order=2)
    Material.objects.create(item=item, name="户口簿", source=Material.Source.SHARED, sort_order=3)
    ServiceItemFactory(name="营业执照核发")  # another item, never the answer here
    return item


@pytest.mark.parametrize(
    "question, expected",
    [
        (
            f"办理{ITEM}要什么材料",
            f"Materials for {ITEM}: 居民身份证; 近期免冠照片 (if applicable); "
            "户口簿 (Fetched by data sharing; nothing to bring).",
        ),
        (
            f"{ITEM}多久能办好",
            f"{ITEM}: Statutory limit: 20 working days; promised: 5 working days; 75% shorter.",
        ),
        (
            f"{ITEM}在哪里办",
            f"Where to apply for {ITEM}: 示例市公安局出入境大厅. 示例市公安局 receives "
            "applicants at: 市民服务中心: 示例路1号, 1-3号窗口, 工作日 9:00-17:00, phone 12345. "
            "Questions: 0571-87280000.",
        ),
        (f"{ITEM}要钱吗", f"{ITEM}: fee ¥20.00. 按本数收取"),
    ],
    ids=["materials", "time", "location", "fee"],
)
def test_item_questions_are_answered_from_the_items_fields(client, item, question, expected):
    response = ask(client, question)
    assert response.status_code == 200
    data = response.json()
    assert data["answered"] is True
    assert data["answer"] == expected
    assert data["confidence"] == 1.0
    assert data["ticket_url"] is None
    assert data["sources"] == [
        {
            "type": "item",
            "code": item.code,
            "title": ITEM,
            "passage": expected,
            "url": f"/services/items/{item.code}/",
        }
    ]
    record = AssistantQuestion.objects.get(pk=data["question_id"])
    assert (record.question, record.answer, record.answered) == (question, expected, True)


@pytest.fixture
def articles():
    return [
        make_article(
            "card-loss",
            "社会保障卡丢了怎么办？",
            "请先拨打12333临时挂失，再到服务网点补卡。",
            scope="province",
            keywords="社保卡 挂失",
        ),
        make_article(
            "fund",
            "住房公积金怎么提取？",
            "购房后可凭购房合同申请提取。",
            scope="province",
        ),
    ]


def test_an_article_answers_with_its_passage_and_source(client, articles):
    data = ask(client, "社会保障卡丢了怎么办").json()
    assert data["answered"] is True
    assert data["answer"] == "请先拨打12333临时挂失，再到服务网点补卡。"
    assert data["sources"][0] == {
        "type": "article",
        "code": "card-loss",
        "title": "社会保障卡丢了怎么办？",
        "passage": "请先拨打12333临时挂失，再到服务网点补卡。",
        "url": "/knowledge/card-loss/",
    }
    assert 0.4 <= data["confidence"] <= 1


def test_an_unanswerable_question_offers_a_prefilled_ticket(client, articles):
    question = "火星移民签证怎么申请"
    data = ask(client, question).json()
    record = AssistantQuestion.objects.get()
    assert data["answered"] is False
    assert data["answer"] is None
    assert data["sources"] == []
    assert 0 <= data["confidence"] < 0.4
    assert data["question_id"] == record.pk
    assert data["ticket_url"] == reverse("complaints:ticket-new") + "?" + urlencode(
        {"kind": "consultation", "content": question, "question": record.pk}
    )
    assert (record.answered, record.answer) == (False, "")


def test_the_threshold_is_a_setting(client, articles, settings):
    settings.ASSISTANT_THRESHOLD = 1.01
    data = ask(client, "社会保障卡丢了怎么办？").json()
    assert data["answered"] is False


def test_an_expired_article_is_never_used(client):
    today = timezone.localdate()
    make_article(
        "epidemic",
        "疫情期间如何办理业务？",
        "实行预约办理。",
        scope="province",
        valid_until=today - dt.timedelta(days=1),
    )
    make_article(
        "future",
        "明年起如何办理业务？",
        "全部网上办理。",
        scope="province",
        valid_from=today + dt.timedelta(days=1),
    )
    assert ask(client, "疫情期间如何办理业务？").json()["answered"] is False
    assert ask(client, "明年起如何办理业务？").json()["answered"] is False
    make_article("current", "疫情期间如何办理业务？", "窗口照常开放。", scope="province")
    data = ask(client, "疫情期间如何办理业务？").json()
    assert [s["code"] for s in data["sources"]] == ["current"]


@pytest.fixture
def override():
    city = CityFactory(code="330100", name="杭州市")
    province = make_article(
        "hotline", "12345热线受理哪些事项？", "受理咨询、求助、投诉、举报和建议。", scope="province"
    )
    local = make_article(
        "hotline-hz",
        "12345热线受理哪些事项？",
        "杭州市12345热线受理市、区两级的咨询和投诉。",
        scope="city",
        region=city,
        overrides=province,
    )
    return city, province, local


def test_the_local_article_answers_for_its_region(client, override):
    city, _province, _local = override
    district = CityFactory(code="330106", name="西湖区", level="county", parent=city)
    for region in (city.code, district.code):
        data = ask(client, "12345热线受理哪些事项", region=region).json()
        assert data["answer"] == "杭州市12345热线受理市、区两级的咨询和投诉。"
        assert data["sources"][0]["code"] == "hotline-hz"
        assert data["sources"][0]["overrides"] == "hotline"
    assert AssistantQuestion.objects.filter(region=district).count() == 1


def test_the_province_article_answers_without_a_region_or_elsewhere(client, override):
    elsewhere = CityFactory(code="330200", name="宁波市")
    for params in ({}, {"region": elsewhere.code}):
        data = ask(client, "12345热线受理哪些事项", **params).json()
        assert [s["code"] for s in data["sources"]] == ["hotline"]


def test_an_expired_local_article_gives_way_to_the_province_one(client, override):
    city, _province, local = override
    local.valid_until = timezone.localdate() - dt.timedelta(days=1)
    services.article_save(article=local)
    data = ask(client, "12345热线受理哪些事项", region=city.code).json()
    assert [s["code"] for s in data["sources"]] == ["hotline"]


def test_helpful_is_recorded_by_the_asker(client, articles):
    data = ask(client, "社会保障卡丢了怎么办").json()
    response = client.post(
        f"{API}{data['question_id']}/helpful/", {"helpful": False}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "question_id": data["question_id"],
        "helpful": False,
        "flagged": False,
    }
    assert AssistantQuestion.objects.get().helpful is False


def test_a_cookieless_caller_gets_an_asker_cookie_and_no_session(client, articles):
    data = ask(client, "社会保障卡丢了怎么办").json()
    cookie = client.cookies[ASKER_COOKIE]
    assert len(cookie.value) == 32
    assert (cookie["httponly"], cookie["samesite"], cookie["max-age"]) == (
        True,
        "Lax",
        settings.SESSION_COOKIE_AGE,
    )
    assert "sessionid" not in client.cookies
    assert Session.objects.count() == 0
    record = AssistantQuestion.objects.get()
    assert record.asker_session == session_fingerprint(cookie.value) != cookie.value
    # The same cookie asks again: it is kept, not replaced.
    again = ask(client, "火星移民签证怎么申请")
    assert ASKER_COOKIE not in again.cookies
    assert AssistantQuestion.objects.get(pk=again.json()["question_id"]).asker_session == (
        record.asker_session
    )
    # Another caller, with a cookie of their own or a forged one, may not say it helped.
    for other in ({}, {ASKER_COOKIE: "x" * 32}, {ASKER_COOKIE: "not a token"}):
        stranger = Client()
        stranger.cookies.load(other)
        url = f"{API}{data['question_id']}/helpful/"
        refused = stranger.post(url, {"helpful": True}, content_type="application/json")
        assert refused.status_code == 404
    assert AssistantQuestion.objects.get(pk=data["question_id"]).helpful is None
    response = client.post(
        f"{API}{data['question_id']}/helpful/", {"helpful": True}, content_type="application/json"
    )
    assert response.status_code == 200
    assert AssistantQuestion.objects.get(pk=data["question_id"]).helpful is True
    assert Session.objects.count() == 0


def test_a_malformed_asker_cookie_is_replaced(client, articles):
    client.cookies.load({ASKER_COOKIE: "<script>"})
    response = ask(client, "社会保障卡丢了怎么办")
    token = response.cookies[ASKER_COOKIE].value
    assert token != "<script>" and len(token) == 32
    assert AssistantQuestion.objects.get().asker_session == session_fingerprint(token)


def test_a_caller_with_a_session_asks_as_that_session(client, articles):
    english(client).post("/assistant/", {"q": "火星移民签证怎么申请"})  # the page made a session
    data = ask(client, "社会保障卡丢了怎么办").json()
    assert ASKER_COOKIE not in client.cookies
    record = AssistantQuestion.objects.get(pk=data["question_id"])
    assert record.asker_session == session_fingerprint(client.session.session_key)
    assert client.post(f"/assistant/{record.pk}/helpful/", {"helpful": "yes"}).status_code == 302
    record.refresh_from_db()
    assert record.helpful is True


def test_helpful_on_the_page(client, articles):
    english(client).post("/assistant/", {"q": "社会保障卡丢了怎么办"})
    record = AssistantQuestion.objects.get()
    response = client.post(f"/assistant/{record.pk}/helpful/", {"helpful": "yes"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.helpful is True
    assert "You said this helped." in client.get("/assistant/").content.decode()


def test_someone_elses_question_cannot_be_rated(client, articles):
    owner = UserFactory()
    record = services.assistant_ask(question="社会保障卡丢了怎么办", user=owner)
    client.force_login(UserFactory())
    response = client.post(
        f"{API}{record.pk}/helpful/", {"helpful": True}, content_type="application/json"
    )
    assert response.status_code == 404
    assert client.post(f"/assistant/{record.pk}/helpful/", {"helpful": "yes"}).status_code == 404
    record.refresh_from_db()
    assert record.helpful is None


def test_staff_flag_a_wrong_answer(client, articles):
    record = services.assistant_ask(question="社会保障卡丢了怎么办")
    staff = StaffFactory()
    client.force_login(staff)
    response = client.post(
        f"{API}{record.pk}/flag/", {"note": "补卡地点已变"}, content_type="application/json"
    )
    assert response.status_code == 200
    record.refresh_from_db()
    assert (record.flagged, record.flag_note, record.flagged_by) == (True, "补卡地点已变", staff)


def test_a_citizens_flag_is_refused_and_changes_nothing(client, articles):
    record = services.assistant_ask(question="社会保障卡丢了怎么办")
    client.force_login(UserFactory())
    response = english(client).post(
        f"{API}{record.pk}/flag/", {"note": "不对"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.post(f"/assistant/{record.pk}/flag/", {"note": "不对"}).status_code == 403
    client.logout()
    assert (
        client.post(f"{API}{record.pk}/flag/", {}, content_type="application/json").status_code
        == 403
    )
    record.refresh_from_db()
    assert (record.flagged, record.flag_note, record.flagged_by) == (False, "", None)


def test_staff_flag_on_the_page(client, articles):
    staff = StaffFactory()
    client.force_login(staff)
    english(client).post("/assistant/", {"q": "社会保障卡丢了怎么办"})
    record = AssistantQuestion.objects.get()
    assert "Flag as wrong" in client.get("/assistant/").content.decode()
    client.post(f"/assistant/{record.pk}/flag/", {"note": "过时"})
    record.refresh_from_db()
    assert (record.flagged, record.flag_note) == (True, "过时")


def test_a_pinned_article_wins(client, articles):
    _card, fund = articles
    services.answer_pin(question="社会保障卡丢了怎么办？", article=fund, actor=StaffFactory())
    data = ask(client, "社会保障卡丢了 怎么办").json()
    assert data["answer"] == "购房后可凭购房合同申请提取。"
    assert data["confidence"] == 1.0
    assert data["sources"][0]["code"] == "fund"
    assert data["sources"][0]["pinned"] is True


def test_a_pinned_item_wins_and_answers_the_intent(client, item, articles):
    services.answer_pin(question="补卡要带什么材料", item=item, actor=StaffFactory())
    data = ask(client, "补卡要带什么材料？").json()
    assert data["sources"][0]["code"] == item.code
    assert data["answer"].startswith(f"Materials for {ITEM}: ")


def test_a_pin_and_an_unpin_take_effect_for_the_next_question(
    client, articles, django_capture_on_commit_callbacks
):
    _card, fund = articles
    staff = StaffFactory()
    assert ask(client, "社会保障卡丢了怎么办").json()["sources"][0]["code"] == "card-loss"
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_pin(question="社会保障卡丢了怎么办", article=fund, actor=staff)
    assert ask(client, "社会保障卡丢了怎么办").json()["sources"][0]["code"] == "fund"
    with pytest.raises(PermissionDenied):
        services.pins_delete(pins=PinnedAnswer.objects.all(), actor=UserFactory())
    assert ask(client, "社会保障卡丢了怎么办").json()["sources"][0]["code"] == "fund"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.pins_delete(pins=PinnedAnswer.objects.all(), actor=staff) == 1
    assert ask(client, "社会保障卡丢了怎么办").json()["sources"][0]["code"] == "card-loss"


def test_only_staff_pin(articles):
    with pytest.raises(Exception, match="Only staff"):
        services.answer_pin(question="问", article=articles[0], actor=UserFactory())
    assert PinnedAnswer.objects.count() == 0


@pytest.mark.parametrize(
    "params, code",
    [
        ({"q": ""}, "question_empty"),
        ({"q": "   "}, "question_empty"),
        ({}, "question_empty"),
        ({"q": "问" * 501}, "question_too_long"),
        ({"q": "问题", "region": "33"}, "region_invalid"),
        ({"q": "问题", "region": "339999"}, "region_unknown"),
    ],
)
def test_bad_input_is_refused_and_nothing_recorded(client, params, code):
    response = client.get(API, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response["Content-Language"] == "zh-hans"
    assert AssistantQuestion.objects.count() == 0


def test_bad_input_message_in_english(client):
    response = client.get(API, {"q": "问" * 501}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "question_too_long",
        "message": "Keep the question to 500 characters (it has 501).",
    }
    response = client.get(API, {"q": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["error"]["message"] == "Ask a question."


def test_bad_input_on_the_page(client):
    response = english(client).post("/assistant/", {"q": ""})
    assert response.status_code == 400
    assert "Ask a question." in response.content.decode()
    assert AssistantQuestion.objects.count() == 0


def test_the_page_shows_the_conversation_as_bubbles(client, articles):
    english(client)
    response = client.post("/assistant/", {"q": "社会保障卡丢了怎么办"})
    assert response.status_code == 302
    client.post("/assistant/", {"q": "火星移民签证怎么申请"})
    text = client.get("/assistant/").content.decode()
    first, second = AssistantQuestion.objects.order_by("id")
    assert text.index(f'id="q-{first.pk}"') < text.index(f'id="q-{second.pk}"')
    assert "请先拨打12333临时挂失，再到服务网点补卡。" in text
    assert 'href="/knowledge/card-loss/"' in text
    assert "Send the question to the 12345 desk" in text
    assert f"question={second.pk}" in text
    # Another session does not see them.
    client.cookies.pop("sessionid")
    assert "社会保障卡丢了怎么办" not in client.get("/assistant/").content.decode()


def kb_of_size(size: int, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        make_article(
            "card-loss", "社会保障卡丢了怎么办？", "请先拨打12333临时挂失。", scope="province"
        )
        for n in range(size):
            make_article(f"a{n}", f"第{n}个问题怎么处理", f"第{n}个答案。", scope="province")
        department = DepartmentFactory()
        for n in range(size):
            ServiceItemFactory(name=f"测试事项{n}号", department=department)


@pytest.mark.parametrize("size", [2, 40])
def test_api_query_count_is_fixed(
    size, client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    kb_of_size(size, django_capture_on_commit_callbacks)
    ask(client, "预热")  # builds this process's index (3 queries), kept until the next change
    # the insert alone: pins are read with the index, the asker is the cookie the first question
    # set (no session row)
    with django_assert_num_queries(1):
        assert ask(client, "社会保障卡丢了怎么办").json()["answered"] is True
    with django_assert_num_queries(1):
        assert ask(client, "火星移民签证怎么申请").json()["answered"] is False
    with django_assert_num_queries(3):  # item, materials, insert
        assert ask(client, "测试事项1号要什么材料").json()["answered"] is True
    client.cookies.clear()
    with django_assert_num_queries(1):  # a caller without cookies: the same
        assert ask(client, "社会保障卡丢了怎么办").json()["answered"] is True


@pytest.mark.parametrize("size", [2, 40])
def test_page_query_count_is_fixed(
    size, client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    kb_of_size(size, django_capture_on_commit_callbacks)
    for n in range(3):
        client.post("/assistant/", {"q": f"社会保障卡丢了怎么办{n}"})
    # session, conversation, regions
    with django_assert_num_queries(3):
        assert client.get("/assistant/").status_code == 200
    # session, insert, session saved (savepoint, update, release)
    with django_assert_num_queries(5):
        assert client.post("/assistant/", {"q": "社会保障卡丢了怎么办"}).status_code == 302
