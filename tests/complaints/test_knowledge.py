"""The knowledge base 1+N: seeding from official replies, overrides and validity on its pages."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone

from complaints.knowledge import services
from complaints.knowledge.seed import default_replies_path, knowledge_seed_replies
from complaints.knowledge.text import reply_body
from complaints.models import Article
from tests.conftest import require
from tests.factories import CityFactory, DepartmentFactory

pytestmark = pytest.mark.django_db

REPLIES = [
    {
        "id": "101",
        "topic": "A市某路段路灯不亮",
        "reply": "网友“UU0081”您好！您的留言已收悉。现将有关情况回复如下："
        "经查，该路段路灯线路老化，已于5月10日更换完毕。感谢您对我们工作的支持！2019年5月12日",
    },
    {
        "id": "102",
        "topic": "咨询公积金提取",
        "reply": "您好！函件收悉，经调查处理，现将有关情况回复如下：购房后可凭购房合同申请提取。"
        "特此回复。2019年10月9日",
    },
    {"id": "103", "topic": "反映问题", "reply": "网友：您好！留言已收悉"},
]


def english(client):
    client.cookies["zhb_lang"] = "en"
    return client


@pytest.fixture
def replies_file(tmp_path):
    path = tmp_path / "replies.jsonl"
    path.write_text(
        "\n".join(json.dumps(row, ensure_ascii=False) for row in REPLIES) + "\n", encoding="utf-8"
    )
    return path


def test_reply_body_trims_salutation_lead_in_closing_and_date():
    assert reply_body(REPLIES[0]["reply"]) == "经查，该路段路灯线路老化，已于5月10日更换完毕。"
    assert reply_body(REPLIES[1]["reply"]) == "购房后可凭购房合同申请提取。"
    assert reply_body(REPLIES[2]["reply"]) == ""


def test_reply_body_never_adds_text_to_the_real_replies():
    path = default_replies_path()
    require(path.is_file(), f"needs the replies at {path} (or set ZHELIBAN_DATA_DIR)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    bodies = [(reply_body(row["reply"]), " ".join(row["reply"].split())) for row in rows]
    assert all(body in reply for body, reply in bodies)
    assert sum(1 for body, _ in bodies if body) > 0.95 * len(rows)


def test_seeding_creates_province_articles_from_replies_and_is_idempotent(replies_file):
    first = knowledge_seed_replies(path=replies_file)
    assert (first.created, first.updated, first.unchanged, first.skipped) == (2, 0, 0, 1)
    article = Article.objects.get(code="reply-101")
    assert article.scope == Article.Scope.PROVINCE
    assert article.source == Article.Source.REPLY
    assert article.source_ref == "101"
    assert article.question == "A市某路段路灯不亮"
    assert article.answer == "经查，该路段路灯线路老化，已于5月10日更换完毕。"
    stamp = article.updated_at

    second = knowledge_seed_replies(path=replies_file)
    assert (second.created, second.updated, second.unchanged, second.skipped) == (0, 0, 2, 1)
    assert Article.objects.count() == 2
    assert Article.objects.get(code="reply-101").updated_at == stamp


def test_seeding_updates_a_changed_reply(replies_file):
    knowledge_seed_replies(path=replies_file)
    rows = [dict(REPLIES[0], topic="A市某路段路灯不亮了")]
    replies_file.write_text(json.dumps(rows[0], ensure_ascii=False), encoding="utf-8")
    report = knowledge_seed_replies(path=replies_file)
    assert (report.created, report.updated) == (0, 1)
    assert Article.objects.get(code="reply-101").question == "A市某路段路灯不亮了"


def test_seed_knowledge_command(replies_file):
    out = io.StringIO()
    call_command("seed_knowledge", str(replies_file), stdout=out)
    assert "2 articles created, 0 updated, 0 unchanged, 1 replies skipped" in out.getvalue()
    with pytest.raises(CommandError, match="no replies file"):
        call_command("seed_knowledge", str(replies_file.parent / "missing.jsonl"))


def demo_owners():
    city = CityFactory(code="330100", name="杭州市")
    DepartmentFactory(code="330100-renshe", name="杭州市人力资源和社会保障局", region=city)
    return city


def test_demo_hook_without_the_data_file_seeds_the_demo_articles(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHELIBAN_DATA_DIR", str(tmp_path))
    demo_owners()
    out = io.StringIO()
    apps.get_app_config("complaints").seed_demo(stdout=out)
    assert "no replies file" in out.getvalue()
    local = Article.objects.get(code="demo-hotline-scope-hz")
    assert local.scope == Article.Scope.CITY
    assert local.overrides.code == "demo-hotline-scope"
    department = Article.objects.get(code="demo-social-card-loss-hz")
    assert department.department.code == "330100-renshe"
    count = Article.objects.count()

    apps.get_app_config("complaints").seed_demo(stdout=io.StringIO())
    assert Article.objects.count() == count == 6


def test_demo_hook_seeds_the_replies_file(replies_file, tmp_path, monkeypatch):
    target = tmp_path / "data" / "complaints"
    target.mkdir(parents=True)
    (target / "messages_with_replies.jsonl").write_bytes(replies_file.read_bytes())
    monkeypatch.setenv("ZHELIBAN_DATA_DIR", str(tmp_path / "data"))
    out = io.StringIO()
    apps.get_app_config("complaints").seed_demo(stdout=out)
    assert "2 articles created" in out.getvalue()
    assert Article.objects.filter(source=Article.Source.REPLY).count() == 2


def make_article(code, question, answer, **values) -> Article:
    return services.article_save(
        article=Article(code=code, question=question, answer=answer, **values)
    )


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
    return province, local


def test_the_local_article_page_shows_what_it_overrides(client, override):
    response = english(client).get("/knowledge/hotline-hz/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "This local article overrides the province article" in text
    assert '<a href="/knowledge/hotline/">hotline</a>' in text


def test_the_province_article_page_lists_its_local_overrides(client, override):
    text = english(client).get("/knowledge/hotline/").content.decode()
    assert "Overridden locally" in text
    assert '<a href="/knowledge/hotline-hz/">hotline-hz</a> · 杭州市' in text


def test_the_list_marks_overrides_both_ways(client, override):
    text = english(client).get("/knowledge/").content.decode()
    assert "overrides the province article hotline" in text
    assert "overridden by 1 local article" in text


def test_an_expired_article_is_marked_on_its_page(client):
    today = timezone.localdate()
    make_article(
        "old",
        "疫情期间如何办理业务？",
        "实行预约办理。",
        scope="province",
        valid_from=today - dt.timedelta(days=400),
        valid_until=today - dt.timedelta(days=1),
    )
    text = english(client).get("/knowledge/old/").content.decode()
    assert "Expired: this article was valid until" in text
    assert "The assistant no longer uses it." in text
    assert "Expired" in english(client).get("/knowledge/").content.decode()


def test_an_inactive_article_has_no_page(client):
    make_article("gone", "问题", "答案。", scope="province", is_active=False)
    assert client.get("/knowledge/gone/").status_code == 404


@pytest.mark.parametrize("size", [3, 30])
def test_knowledge_pages_query_count_is_fixed(size, client, override, django_assert_num_queries):
    for n in range(size):
        make_article(f"a{n}", f"问题{n}", f"答案{n}。", scope="province")
    with django_assert_num_queries(2):  # count, page (owners and overrides joined, annotated)
        assert client.get("/knowledge/").status_code == 200
    with django_assert_num_queries(2):  # the article with its owners, its local overrides
        assert client.get("/knowledge/hotline/").status_code == 200
