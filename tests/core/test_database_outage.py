"""A database outage answers a clear 503 (page or the API's error shape), never a redirect to the
login page as if the visitor had been logged out, nor a bare 500."""

from tests.core.test_health import probe

PROBE_PAGES = """
import json, django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="{language}")
client.cookies["sessionid"] = "a" * 32  # a logged-in visitor's cookie
answers = {{}}
for url in ("/my/tickets/", "/my/applications/", "/services/", "/api/v1/tickets/", "/api/v1/me/"):
    response = client.get(url)
    body = response.content.decode()
    if response.get("Content-Type", "").startswith("application/json"):
        body = json.dumps(response.json(), ensure_ascii=False)
    answers[url] = [
        response.status_code, response.get("Location"), response.get("Retry-After"), body
    ]
print(json.dumps(answers))
"""


def test_a_database_outage_answers_503_to_a_logged_in_visitor(tmp_path):
    answers = probe(
        tmp_path,
        script=PROBE_PAGES.format(language="zh-hans"),
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere",
    )
    for url, (status, location, retry_after, body) in answers.items():
        assert (status, location, retry_after) == (503, None, "30"), url
        assert "请一分钟后再试；您的登录状态仍然有效。" in body, url
    assert '"code": "unavailable"' in answers["/api/v1/tickets/"][3]
    assert "<h1>服务暂时不可用</h1>" in answers["/my/tickets/"][3]
