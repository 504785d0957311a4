"""What anyone may read without logging in carries no private fact.

The world (``tests/security/world.py``) holds private tickets (not made public), a 举报 with a
distinctive title, sender name and phone, rejected and partly rejected cases, private assistant
questions and a computed board. Every URL of the matrix an anonymous visitor gets a 200 on is
fetched as HTML and as its JSON and CSV downloads (API and Open311 in their own formats), with
searches aimed at the private texts, and none of the world's private strings may appear.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from django.urls import resolve

from .matrix import SUMMARY, all_routes, matches
from .world import ANONYMOUS, CITIZEN_B, REPORTER

OPEN311_REQUESTS = "open311/v2/requests\\.(?P<fmt>[A-Za-z0-9]+)$"
OPEN311_REQUEST = "open311/v2/requests/(?P<request_id>[^/.]+)\\.(?P<fmt>[A-Za-z0-9]+)$"
TICKET_NEW = "tickets/new/"

# Public leaks known and not fixed yet: (pattern, secret) → why. Delete an entry when its fix
# lands: the test fails while an entry no longer happens.
KNOWN_PUBLIC_LEAKS: dict[tuple[str, str], str] = {}
# Places that still show a report: pattern → why, under the same rule.
KNOWN_REPORT_LISTINGS: dict[str, str] = {}


def public_urls(world, call) -> list[tuple[str, str]]:
    """(pattern, url) of every matrix read an anonymous visitor gets a 200 on, with the
    downloads of each HTML page and searches for the private texts."""
    found: list[tuple[str, str]] = []
    for pattern, route in all_routes().items():
        for read in route.reads(world):
            expected = read.expect(ANONYMOUS)
            if expected != 200:
                continue
            found.append((pattern, read.url))
            if not read.url.startswith(("/api/", "/open311/")) and "format=" not in read.url:
                joiner = "&" if "?" in read.url else "?"
                found += [(pattern, f"{read.url}{joiner}format={fmt}") for fmt in ("json", "csv")]
    o = world.objects
    # A search page repeats its query: ask with the tail of each private text, so that only a
    # leak can bring the whole text back.
    for text in (o["report"].title, o["ticket_private"].title, o["question_reporter"].question):
        q = quote(text[-7:])
        found += [
            ("services/", f"/services/?q={q}"),
            ("knowledge/", f"/knowledge/?q={q}"),
            ("api/v1/items/$", f"/api/v1/items/?search={q}"),
            ("api/v1/assistant/", f"/api/v1/assistant/?q={q}"),
            (
                "api/v1/tickets/duplicates/$",
                f"/api/v1/tickets/duplicates/?region=330106&content={quote(o['report'].content)}",
            ),
        ]
    for fmt in ("json", "xml"):
        found.append((OPEN311_REQUESTS, f"/open311/v2/requests.{fmt}?status=open,closed"))
    return list(dict.fromkeys(found))


def test_no_public_url_shows_a_private_fact(world, call):
    secrets = world.forbidden_for(ANONYMOUS)
    urls = public_urls(world, call)
    leaks, fetched = [], 0
    for pattern, url in urls:
        answer = call(ANONYMOUS, "get", url)
        fetched += 1
        assert answer.status_code in (200, 400, 404), f"{url}: {answer.status_code}"
        for secret in secrets:
            if secret.text in answer.text:
                leaks.append((pattern, url, secret.what, secret.text))
    SUMMARY.public_urls = len(urls)
    SUMMARY.public_requests += fetched
    known = {(p, w) for p, _url, w, _t in leaks if (p, w) in KNOWN_PUBLIC_LEAKS}
    new = [leak for leak in leaks if (leak[0], leak[2]) not in KNOWN_PUBLIC_LEAKS]
    SUMMARY.public_leaks.extend(new)
    fixed = [key for key in KNOWN_PUBLIC_LEAKS if key not in known]
    assert fetched > 150, f"only {fetched} public URLs were fetched"
    assert not new, "private facts on public URLs:\n" + "\n".join(
        f"  {url}: {what} ({text})" for _p, url, what, text in new
    )
    assert not fixed, f"known public leaks that no longer happen (delete them): {fixed}"


def _open311_ids(answer, fmt: str) -> set[str]:
    if fmt == "json":
        return {row["service_request_id"] for row in json.loads(answer.raw)}
    root = ET.fromstring(answer.raw.encode())  # noqa: S314 - our own server's answer
    return {node.text for node in root.iter("service_request_id")}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_never_shows_a_report(world, call, fmt):
    """Open311 lists the desk's work, but a 举报's very existence is not for the public."""
    report, public = world.objects["report"], world.objects["ticket_public"]
    listing = call(ANONYMOUS, "get", f"/open311/v2/requests.{fmt}")
    assert listing.status_code == 200
    ids = _open311_ids(listing, fmt)
    assert str(public.pk) in ids  # the sweep reads what it should
    detail = call(ANONYMOUS, "get", f"/open311/v2/requests/{report.pk}.{fmt}")
    _known_or_fail(OPEN311_REQUESTS, str(report.pk) in ids, "listed in requests")
    _known_or_fail(OPEN311_REQUEST, detail.status_code != 404, f"answered {detail.status_code}")


def test_duplicate_suggestions_never_offer_a_report(world, call):
    """Another citizen writing about the same matter is not shown the report: the web form's
    check step and the API's duplicates list."""
    report = world.objects["report"]
    form = {
        "kind": "complaint",
        "title": "窗口索要好处费",
        "content": report.content,
        "region": "330106",
        "address": report.address,
        "step": "check",
    }
    page = call(CITIZEN_B, "post", "/tickets/new/", data=form)
    assert resolve("/tickets/new/").route == TICKET_NEW
    assert page.status_code == 200, page.status_code
    offered = report.number in page.text or report.title in page.text
    api = call(
        CITIZEN_B,
        "get",
        f"/api/v1/tickets/duplicates/?region=330106&content={quote(report.content)}",
    )
    assert matches(200, api)
    assert report.title not in api.text and str(report.number) not in api.text
    own = call(REPORTER, "get", f"/my/tickets/{report.pk}/")
    assert report.title in own.text  # the sender still reads their own report
    _known_or_fail(TICKET_NEW, offered, "offered as a likely duplicate")


def _known_or_fail(pattern: str, happened: bool, what: str) -> None:
    if pattern in KNOWN_REPORT_LISTINGS:
        assert happened, (
            f"{pattern}: a report is no longer {what}: delete the entry from KNOWN_REPORT_LISTINGS"
        )
    else:
        assert not happened, f"{pattern}: a report is {what}"
