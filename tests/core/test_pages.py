import re

import pytest

pytestmark = pytest.mark.django_db


def test_chinese_by_default_whatever_the_browser_asks(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert 'lang="zh-Hans"' in response.content.decode()
    assert response["Content-Language"] == "zh-hans"


def test_language_switch_is_remembered(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/departments/"})
    assert response.status_code == 302
    assert response["Location"] == "/departments/"
    page = client.get("/")
    assert 'lang="en"' in page.content.decode()
    assert "What do you need to get done?" in page.content.decode()


def test_api_follows_accept_language(client):
    response = client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response.json()["error"]["message"].startswith("Authentication credentials")
    chinese = client.get("/api/v1/me/")
    assert chinese.json()["error"]["message"] != response.json()["error"]["message"]


def test_elder_mode_toggles_and_refuses_foreign_redirects(client):
    response = client.post("/elder-mode/", {"on": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert 'class="elder"' in client.get("/").content.decode()
    client.post("/elder-mode/", {"on": "0", "next": "/"})
    assert 'class="elder"' not in client.get("/").content.decode()


def test_security_headers(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_no_assets_from_the_internet(client):
    for url in ("/", "/accounts/login/", "/accounts/register/", "/departments/", "/services/"):
        body = client.get(url).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', body), url


def test_api_404_is_json(client):
    response = client.get("/api/v1/departments/!!/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("value", ["0", "101", "²", "1.5", "abc", ""])
def test_bad_page_size_is_a_clear_400(client, value):
    response = client.get(f"/api/v1/departments/?page_size={value}", HTTP_ACCEPT_LANGUAGE="en")
    if value == "":
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "page_size_invalid"


def test_favicon_ico_answers_with_the_sites_icon(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.redirect_chain == [("/static/img/favicon.svg", 302)]
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"<svg ")
    # the pages link the same icon
    assert 'rel="icon" href="/static/img/favicon.svg"' in client.get("/").content.decode()
