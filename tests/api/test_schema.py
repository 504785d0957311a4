import base64
import hashlib
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parents[2] / "zheliban" / "openapi.yaml"


def test_committed_schema_matches_the_code():
    generated = StringIO()
    call_command("spectacular", "--lang", "en", "--validate", "--fail-on-warn", stdout=generated)
    assert generated.getvalue() == COMMITTED.read_text(encoding="utf-8"), (
        "The API changed: regenerate the committed schema with "
        "`python manage.py spectacular --lang en --validate --file zheliban/openapi.yaml`"
    )


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    body = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in body
    assert "http://" not in body.replace("http://testserver", "")
    assert "https://" not in body


@pytest.mark.django_db
def test_api_root_lists_endpoints(client):
    body = client.get("/api/v1/").json()
    assert body["version"] == "v1"
    assert body["endpoints"]["departments"] == "http://testserver/api/v1/departments/"
    assert body["endpoints"]["schema"] == "http://testserver/api/schema/"


@pytest.mark.django_db
def test_the_api_root_lists_every_top_level_endpoint_of_the_schema(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    top_level = {
        path
        for path in schema["paths"]
        if path.startswith("/api/v1/") and "{" not in path and path != "/api/v1/"
    }
    endpoints = client.get("/api/v1/").json()["endpoints"]
    listed = {urlparse(url).path for url in endpoints.values()}
    assert sorted(top_level - listed) == []
    assert {"/api/schema/", "/api/docs/"} <= listed
    assert endpoints["tickets"] == "http://testserver/api/v1/tickets/"
    assert endpoints["assistant"] == "http://testserver/api/v1/assistant/"
    assert endpoints["scoreboard"] == "http://testserver/api/v1/scoreboard/"


class PageResources(HTMLParser):
    """What a page asks the browser to apply or run: inline ``<style>`` and ``<script>`` blocks
    (with their nonce), ``style`` attributes, and the addresses of scripts and stylesheets."""

    def __init__(self):
        super().__init__()
        self.inline: dict[str, list[tuple[str, str]]] = {"style": [], "script": []}
        self.style_attributes: list[str] = []
        self.urls: dict[str, list[str]] = {"style": [], "script": []}
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs:
            self.style_attributes.append(f"<{tag} style={attrs['style']!r}>")
        if tag == "script" and attrs.get("src"):
            self.urls["script"].append(attrs["src"])
        elif tag == "link" and "stylesheet" in (attrs.get("rel") or "").split():
            self.urls["style"].append(attrs["href"])
        elif tag in ("script", "style"):
            self._open, self._text = (tag, attrs.get("nonce") or ""), []

    def handle_data(self, data):
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            self.inline[tag].append((self._open[1], "".join(self._text)))
            self._open = None


def csp_sources(header: str, directive: str) -> list[str]:
    policy = {}
    for part in header.split(";"):
        name, *sources = part.split()
        policy[name] = sources
    return policy.get(directive, policy["default-src"])


def inline_allowed(text: str, nonce: str, sources: list[str]) -> bool:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return (
        "'unsafe-inline'" in sources
        or (nonce and f"'nonce-{nonce}'" in sources)
        or f"'sha256-{digest}'" in sources
    )


@pytest.mark.django_db
def test_the_docs_page_keeps_to_the_sites_content_security_policy(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    page = PageResources()
    page.feed(response.content.decode())
    for kind in ("style", "script"):
        sources = csp_sources(header, f"{kind}-src")
        assert "'unsafe-inline'" not in sources
        refused = [
            text for nonce, text in page.inline[kind] if not inline_allowed(text, nonce, sources)
        ]
        assert refused == [], f"inline {kind} the policy refuses: {refused}"
        # every stylesheet and script comes from the site itself, which 'self' allows, and is there
        assert "'self'" in sources
        assert page.urls[kind], kind
        for url in page.urls[kind]:
            assert url.startswith("/") and not url.startswith("//"), url
            assert client.get(url).status_code == 200, url
    assert page.style_attributes == []  # a style attribute needs 'unsafe-inline'
    # no page's policy was widened for it
    assert client.get("/")["Content-Security-Policy"] == header
