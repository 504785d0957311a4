"""Public pages kept whole for visitors without a session (``zheliban.core.page_cache``).

The portal's own pages (home, an item's guide, search, the board) are fetched with the plain test
client as visitors would. What the cache must refuse is shown with the small views at the end of
this module (its own URLs, ``@pytest.mark.urls``), each counting its calls: a kept answer is one
the view was not called for.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template import engines
from django.test import Client, override_settings
from django.urls import path

from catalog import services as catalog_services
from catalog.models import Material, ServiceItem
from scoreboard.services import snapshot_compute
from tests.factories import CityFactory, DepartmentFactory, ServiceItemFactory, UserFactory
from workflows.models import Application, Task
from workflows.services import rating_follow_up, rating_submit
from zheliban.core import cache as fail_open
from zheliban.core.middleware import ELDER_COOKIE

pytestmark = pytest.mark.django_db

TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]*)"')
HOME = "/"
SEARCH = "/services/?q=出生"
BOARD = "/board/"
CODE = "330100GA0001"
GUIDE = f"/services/items/{CODE}/"
NAME = "出生登记"
DEPARTMENT = "杭州市公安局"
NOWHERE = {
    "default": {
        "BACKEND": "zheliban.core.cache.FailOpenRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
    }
}


def tokens(response) -> list[bytes]:
    return TOKEN.findall(response.content)


def text(response) -> str:
    """The page as a visitor reads it: search highlights (``<mark>``) taken out."""
    return response.content.decode().replace("<mark>", "").replace("</mark>", "")


def without_tokens(response) -> bytes:
    return TOKEN.sub(b'name="csrfmiddlewaretoken" value=""', response.content)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the block queued for the commit (the generation's bump), as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def superuser():
    return UserFactory(is_superuser=True, is_staff=True)


@pytest.fixture
def item(committed):
    """One published item of a department of 杭州市 (the most popular: the home page lists it)."""
    with committed():
        city = CityFactory(code="330100", name="杭州市")
        department = DepartmentFactory(
            code="330100-gongan", name=DEPARTMENT, kind="gongan", region=city
        )
        item = ServiceItemFactory.build(
            code=CODE, name=NAME, department=department, region=city, popularity=900
        )
        catalog_services.item_publish(
            actor=None,
            item=item,
            materials=[{"name": "居民身份证", "source": Material.Source.SHARED}],
        )
    return item


@pytest.fixture
def board(item, committed):
    """A monthly board of January 2026."""
    with committed():
        snapshot_compute(period="month", day=dt.date(2026, 1, 15))


def rename(item, name: str) -> None:
    item.refresh_from_db()
    item.name = name
    catalog_services.item_publish(actor=None, item=item)


# --- the portal's pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown", "version_queries"),
    [(HOME, GUIDE, 0), (SEARCH, GUIDE, 0), (GUIDE, NAME, 0), (BOARD, DEPARTMENT, 1)],
    ids=["home", "search", "guide", "board"],
)
def test_the_next_visitor_gets_the_kept_page_with_a_form_token_of_their_own(
    board, url, shown, version_queries, django_assert_num_queries
):
    first = Client(enforce_csrf_checks=True).get(url)
    assert first.status_code == 200
    assert shown in first.content.decode()

    visitor = Client(enforce_csrf_checks=True)
    # Only the page's version is read: no view, no template.
    with django_assert_num_queries(version_queries):
        second = visitor.get(url)
    assert second.status_code == 200
    assert without_tokens(second) == without_tokens(first)
    assert second["Content-Type"] == first["Content-Type"]
    first_tokens, own_tokens = set(tokens(first)), set(tokens(second))
    assert len(own_tokens) == 1 and len(first_tokens) == 1  # one token per page, in every form
    assert own_tokens != first_tokens
    assert len(tokens(second)) == len(tokens(first)) >= 2
    assert visitor.cookies[settings.CSRF_COOKIE_NAME].value

    # The token goes with the cookie set on the answer: the switch of language is accepted.
    token = own_tokens.pop().decode()
    answer = visitor.post("/i18n/setlang/", {"csrfmiddlewaretoken": token, "language": "en"})
    assert answer.status_code == 302
    assert visitor.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    # The first visitor's token does not go with this visitor's cookie.
    stranger = first_tokens.pop().decode()
    refused = visitor.post("/i18n/setlang/", {"csrfmiddlewaretoken": stranger, "language": "zh"})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("url", "shown", "version_queries"),
    [
        (f"/api/v1/items/{CODE}/", NAME, 0),
        ("/api/v1/departments/?region=330100", DEPARTMENT, 0),
        ("/api/v1/scoreboard/?level=city", DEPARTMENT, 1),
    ],
    ids=["item", "departments", "board"],
)
def test_api_reads_are_kept_too(board, url, shown, version_queries, django_assert_num_queries):
    first = Client().get(url)
    assert first.status_code == 200
    assert shown in first.content.decode()
    with django_assert_num_queries(version_queries):
        second = Client().get(url)
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"] == "application/json"
    assert "Set-Cookie" not in second


def test_an_api_read_is_kept_per_format_and_language(item):
    url = f"/api/v1/items/{CODE}/"
    as_json = Client().get(url)
    as_jsonld = Client(HTTP_ACCEPT="application/ld+json").get(url)
    assert as_json["Content-Type"] == "application/json"
    assert as_jsonld["Content-Type"] == "application/ld+json"
    assert as_jsonld.json()["@type"] == "cpsv:PublicService"
    assert "@type" not in Client().get(url).json()

    search = "/api/v1/items/?search=出生"
    chinese = Client().get(search)
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(search)
    assert chinese["Content-Language"] == "zh-hans" and english["Content-Language"] == "en"
    types = [f["label"] for f in english.json()["facets"]["type"]]
    assert types == ["Public service"]
    assert [f["label"] for f in Client().get(search).json()["facets"]["type"]] == ["公共服务"]


def test_a_logged_in_user_is_never_served_a_kept_page_nor_is_theirs_kept(board, superuser):
    user = Client()
    user.force_login(superuser)
    own = user.get(HOME)
    assert own.status_code == 200
    assert b"/accounts/logout/" in own.content

    anonymous = Client().get(HOME)
    assert b"/accounts/logout/" not in anonymous.content
    assert b"/accounts/login/" in anonymous.content
    again = user.get(HOME)
    assert b"/accounts/logout/" in again.content


def test_english_and_elder_mode_pages_are_kept_apart(item, django_assert_num_queries):
    chinese = Client().get(HOME)
    assert b'lang="zh-Hans"' in chinese.content

    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = english.get(HOME)
    assert b'lang="en"' in page.content
    assert b"What do you need to get done?" in page.content
    with django_assert_num_queries(0):
        kept = Client(HTTP_ACCEPT_LANGUAGE="en").get(HOME)  # pages follow the cookie only
    assert b'lang="zh-Hans"' in kept.content
    assert without_tokens(kept) == without_tokens(chinese)

    elder = Client()
    elder.cookies[ELDER_COOKIE] = "1"
    page = elder.get(HOME)
    assert b'<body class="elder">' in page.content
    assert b'<body class="">' in Client().get(HOME).content
    with django_assert_num_queries(0):
        kept = elder.get(HOME)
    assert without_tokens(kept) == without_tokens(page)


def test_a_renamed_item_is_seen_at_once_on_every_page(item, committed):
    for url in (HOME, SEARCH, GUIDE):
        assert NAME in text(Client().get(url)), url
        assert "新生儿出生登记" not in text(Client().get(url)), url
    with committed():
        rename(item, "新生儿出生登记")
    for url in (HOME, SEARCH, GUIDE):
        assert "新生儿出生登记" in text(Client().get(url)), url


def test_an_unpublished_item_is_gone_at_once_and_back_once_published(
    item, superuser, committed, django_assert_num_queries
):
    Client().get(GUIDE)
    with django_assert_num_queries(0):
        assert Client().get(GUIDE).status_code == 200
    assert NAME in Client().get(HOME).content.decode()

    with committed():
        catalog_services.items_set_published(
            actor=superuser, items=ServiceItem.objects.filter(code=CODE), published=False
        )
    assert Client().get(GUIDE).status_code == 404
    assert Client().get(GUIDE).status_code == 404
    assert NAME not in Client().get(HOME).content.decode()

    with committed():
        catalog_services.items_set_published(
            actor=superuser, items=ServiceItem.objects.filter(code=CODE), published=True
        )
    assert Client().get(GUIDE).status_code == 200
    assert NAME in Client().get(HOME).content.decode()


def finished_case(item, key: str) -> Application:
    """A case of ``item`` completed, ready to be rated by its applicant."""
    application = Application.objects.create(
        applicant=UserFactory(),
        item=item,
        status=Application.Status.COMPLETED,
        idempotency_key=key,
    )
    Task.objects.create(
        application=application,
        step="decide",
        item=item,
        department=item.department,
        state=Task.State.COMPLETED,
        due_workdays=5,
    )
    return application


def ratings(response) -> str:
    """The guide's ratings section."""
    return response.content.decode().split('id="item-ratings"')[1]


def test_a_rating_is_seen_at_once_on_the_kept_guide_of_its_item_only(
    item, committed, django_assert_num_queries
):
    case = finished_case(item, "rated")
    with committed():
        other = ServiceItemFactory(department=item.department, region=item.region)
    other_case = finished_case(other, "other")
    assert "暂无评价" in ratings(Client().get(GUIDE))
    with django_assert_num_queries(0):
        assert "暂无评价" in ratings(Client().get(GUIDE))

    with committed():
        rating_submit(applicant=other_case.applicant, application=other_case, score=1)
    with django_assert_num_queries(0):  # another item's rating: this guide stays kept
        assert "暂无评价" in ratings(Client().get(GUIDE))

    with committed():
        rating_submit(applicant=case.applicant, application=case, score=4)
    section = ratings(Client().get(GUIDE))
    assert "5 分制 4.0 分" in section and "共 1 条" in section
    with django_assert_num_queries(0):
        assert ratings(Client().get(GUIDE)) == section
    with committed():  # a follow-up review changes no figure: the guide stays kept
        rating_follow_up(applicant=case.applicant, application=case, text="办得很快")
    with django_assert_num_queries(0):
        assert ratings(Client().get(GUIDE)) == section


def test_a_rating_inside_an_open_transaction_is_not_kept(item, committed):
    case = finished_case(item, "rated")
    assert "暂无评价" in ratings(Client().get(GUIDE))
    with pytest.raises(RuntimeError), transaction.atomic():
        rating_submit(applicant=case.applicant, application=case, score=5)
        assert "共 1 条" in ratings(Client().get(GUIDE))
        raise RuntimeError("roll back")
    for _ in range(2):
        assert "暂无评价" in ratings(Client().get(GUIDE))


def board_period(response) -> str:
    """The board's sentence saying which period it shows."""
    found = re.search(r'<p class="note" id="board-period">(.*?)</p>', response.content.decode())
    assert found is not None
    return found.group(1)


def test_a_new_board_snapshot_is_seen_at_once(board, committed, django_assert_num_queries):
    january = board_period(Client().get(BOARD))
    assert "2026-01-01" in january and "2026-02-01" in january
    with django_assert_num_queries(1):
        assert board_period(Client().get(BOARD)) == january
    with committed():
        snapshot_compute(period="month", day=dt.date(2026, 2, 10))
    february = board_period(Client().get(BOARD))
    assert "2026-02-01" in february and "2026-03-01" in february


def test_a_change_inside_an_open_transaction_is_not_kept(item):
    kept = Client().get(HOME)
    assert NAME in kept.content.decode()
    with pytest.raises(RuntimeError), transaction.atomic():
        rename(item, "尚未提交的名称")
        seen = Client().get(HOME).content.decode()
        assert "尚未提交的名称" in seen  # this transaction sees its own change...
        raise RuntimeError("roll back")
    for _ in range(2):  # ...and nobody is given the page it saw
        content = Client().get(HOME).content.decode()
        assert NAME in content
        assert "尚未提交的名称" not in content


def test_pages_answer_while_the_cache_is_down(item, django_assert_max_num_queries):
    fail_open.OUTAGE.skip_until = 0.0
    try:
        with override_settings(CACHES=NOWHERE):
            for url in (HOME, GUIDE, SEARCH):
                for _ in range(2):
                    visitor = Client(enforce_csrf_checks=True)
                    response = visitor.get(url)
                    assert response.status_code == 200, url
                    assert NAME in text(response)
                    (token,) = set(tokens(response))
                    answer = visitor.post(
                        "/i18n/setlang/", {"csrfmiddlewaretoken": token.decode(), "language": "en"}
                    )
                    assert answer.status_code == 302
    finally:
        fail_open.OUTAGE.skip_until = 0.0


# --- what is kept and what is not, with views of this module -----------------------------------

CALLS = {"count": 0}
VERSION: dict[str, list | None] = {"parts": [1]}
PAGE = engines["django"].from_string(
    "<p>call {{ call }}</p><form method='post'>{% csrf_token %}</form>"
)


def page_version(request, *args, **kwargs):
    return VERSION["parts"]


def _page(request, status: int = 200) -> HttpResponse:
    CALLS["count"] += 1
    return HttpResponse(PAGE.render({"call": CALLS["count"]}, request), status=status)


def plain(request):
    return _page(request)


def not_found(request):
    return _page(request, status=404)


def redirect(request):
    response = _page(request, status=302)
    response["Location"] = "/elsewhere/"
    return response


def sets_cookie(request):
    response = _page(request)
    response.set_cookie("seen", "1")
    return response


def writes_session(request):
    request.session["seen"] = True
    return _page(request)


def takes_token(request):
    response = _page(request)
    response.content += f"<i>{get_token(request)}</i>".encode()
    return response


def private(request):
    response = _page(request)
    response["Cache-Control"] = "private"
    return response


urlpatterns = [
    path("kept/", plain, name="plain"),
    path("api/v1/kept/", plain, name="api-plain"),
    path("not-found/", not_found, name="not-found"),
    path("redirect/", redirect, name="redirect"),
    path("sets-cookie/", sets_cookie, name="sets-cookie"),
    path("writes-session/", writes_session, name="writes-session"),
    path("takes-token/", takes_token, name="takes-token"),
    path("private/", private, name="private"),
    path("not-listed/", plain, name="not-listed"),
]
THIS = __name__ + ".page_version"
PAGES = {p.name: [THIS] for p in urlpatterns if p.name != "not-listed"}


@pytest.fixture
def pages(settings):
    settings.PUBLIC_PAGES = PAGES
    CALLS["count"] = 0
    VERSION["parts"] = [1]
    return settings


def call(response) -> int:
    assert response.status_code in (200, 302, 404), response.status_code
    found = re.search(rb"<p>call (\d+)</p>", response.content)
    assert found is not None, response.content
    return int(found.group(1))


@pytest.mark.urls(__name__)
def test_a_kept_page_is_served_for_its_version_only(pages):
    assert call(Client().get("/kept/")) == 1
    assert call(Client().get("/kept/")) == 1
    assert call(Client().get("/kept/?page=2")) == 2  # the query string is part of the key
    VERSION["parts"] = [2]
    assert call(Client().get("/kept/")) == 3
    assert call(Client().get("/kept/")) == 3
    VERSION["parts"] = None  # the version function declines: made for every request
    assert call(Client().get("/kept/")) == 4
    assert call(Client().get("/kept/")) == 5
    assert call(Client().get("/not-listed/")) == 6
    assert call(Client().get("/not-listed/")) == 7


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    "kind", ["logged in", "session cookie", "messages cookie", "authorization header"]
)
def test_visitors_with_a_session_or_credentials_are_never_served_nor_kept(pages, kind):
    def special() -> Client:
        client = Client()
        if kind == "logged in":
            client.force_login(UserFactory())
        elif kind == "session cookie":
            client.cookies[settings.SESSION_COOKIE_NAME] = "no-such-session"
        elif kind == "messages cookie":
            client.cookies["messages"] = "anything"
        else:
            client.defaults["HTTP_AUTHORIZATION"] = "Token 0123456789abcdef"
        return client

    assert call(special().get("/kept/")) == 1
    assert call(Client().get("/kept/")) == 2  # the first visitor's page was not kept
    assert call(Client().get("/kept/")) == 2
    assert call(special().get("/kept/")) == 3  # nor is the kept page given to them
    assert call(special().get("/kept/")) == 4


@pytest.mark.urls(__name__)
def test_language_and_elder_mode_are_entries_of_their_own(pages):
    assert call(Client().get("/kept/")) == 1
    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert call(english.get("/kept/")) == 2
    assert call(english.get("/kept/")) == 2
    elder = Client()
    elder.cookies[ELDER_COOKIE] = "1"
    assert call(elder.get("/kept/")) == 3
    assert call(elder.get("/kept/")) == 3
    # Pages follow the language cookie alone; the API follows Accept-Language too.
    assert call(Client(HTTP_ACCEPT_LANGUAGE="en").get("/kept/")) == 1
    assert call(Client().get("/api/v1/kept/")) == 4
    assert call(Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/kept/")) == 5
    assert call(Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/kept/")) == 5
    assert call(Client().get("/api/v1/kept/")) == 4


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    "url",
    [
        "/not-found/",
        "/redirect/",
        "/sets-cookie/",
        "/writes-session/",
        "/takes-token/",
        "/private/",
    ],
)
def test_answers_that_are_not_the_same_for_everyone_are_not_kept(pages, url):
    assert call(Client().get(url)) == 1
    assert call(Client().get(url)) == 2
    assert call(Client().get("/kept/")) == 3
    assert call(Client().get("/kept/")) == 3  # the cache itself works
