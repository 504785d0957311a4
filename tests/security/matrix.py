"""The permission matrix as data: for every URL pattern of the root URLconf, the requests to make
(one per object it is filled with) and the answer each role must get; for every mutating route,
the writes each role must be refused.

An expectation is a status code, a set of acceptable codes, or one of the redirect kinds below.
``reads`` and ``writes`` are functions of the seeded ``World``, so the objects they name are the
ones ``tests/security/world.py`` built. A pattern missing from ``ROUTES`` fails the coverage test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver

from scoreboard.metrics import METRICS

from .world import (
    ANONYMOUS,
    CITIZEN_A,
    CITIZEN_B,
    CITIZENS,
    DESK,
    DESK_DISPATCHER,
    DESK_OPERATOR,
    DESK_SUPERVISOR,
    ENTERPRISE,
    REPORTER,
    ROLES,
    STAFF,
    SUPERUSER,
    World,
    of,
    staff_role,
)

# ---------------------------------------------------------------- expectations

LOGIN = "redirect to the login page"
ADMIN_LOGIN = "redirect to the admin login page"
ADMIN_MISSING = "redirect to the admin index (no such object in your scope)"
REDIRECT = "any redirect"
DENIED_API = frozenset({401, 403})

Expect = int | frozenset | str


def matches(expected: Expect, response) -> bool:
    status = response.status_code
    location = response.headers.get("Location", "")
    if expected == LOGIN:
        return status == 302 and location.startswith("/accounts/login/")
    if expected == ADMIN_LOGIN:
        return status == 302 and location.startswith("/admin/login/")
    if expected == ADMIN_MISSING:
        return status == 302 and location == "/admin/"
    if expected == REDIRECT:
        return status in (301, 302, 303)
    if isinstance(expected, frozenset):
        return status in expected
    return status == expected


def describe(response) -> str:
    location = response.headers.get("Location")
    return f"{response.status_code}" + (f" → {location}" if location else "")


Rule = Callable[[str], Expect]


def rule(
    ok: Iterable[str],
    *,
    other: Expect = 404,
    anon: Expect = LOGIN,
    ok_status: Expect = 200,
    citizens: Expect | None = None,
    staff: Expect | None = None,
    superuser: Expect | None = None,
) -> Rule:
    """``ok`` roles get ``ok_status``, and so does the superuser unless ``superuser`` says
    otherwise (a citizen's own pages are no administrator's); anonymous visitors ``anon``;
    citizens and enterprises ``citizens`` and staff ``staff`` when given; everyone else
    ``other``."""
    allowed = frozenset(ok)

    def expect(role: str) -> Expect:
        if role == SUPERUSER:
            return ok_status if superuser is None else superuser
        if role in allowed:
            return ok_status
        if role == ANONYMOUS:
            return anon
        if citizens is not None and role in CITIZENS:
            return citizens
        if staff is not None and role in STAFF:
            return staff
        return other

    return expect


def everyone(status: Expect = 200) -> Rule:
    return lambda role: status


def logged_in(status: Expect = 200, *, anon: Expect = LOGIN) -> Rule:
    return lambda role: anon if role == ANONYMOUS else status


@dataclass(frozen=True)
class Read:
    label: str
    url: str
    expect: Rule


@dataclass(frozen=True)
class Write:
    """A mutating request that every role in ``refused`` must be refused with ``expect``."""

    label: str
    method: str
    url: str
    refused: frozenset[str]
    expect: Rule
    data: Any = None
    json: bool = False


@dataclass(frozen=True)
class Route:
    reads: Callable[[World], list[Read]]
    writes: Callable[[World], list[Write]] | None = None
    note: str = ""


def one(url: str, expect: Rule, label: str = "") -> Callable[[World], list[Read]]:
    return lambda w: [Read(label or url, url, expect)]


# ---------------------------------------------------------------- who may see what

WORK = ("clerk", "supervisor")


def workers(department: str) -> frozenset[str]:
    return of(department, *WORK)


ALL_WORKERS = workers("d1") | workers("d2") | workers("d3") | {DESK_OPERATOR, DESK_SUPERVISOR}
# Who works on no tasks at all: the worklist and task pages refuse them (403), never 404.
NON_WORKERS = frozenset(ROLES) - ALL_WORKERS - {ANONYMOUS, SUPERUSER}


def task_rule(ok: Iterable[str]) -> Rule:
    """A task page: ``ok`` roles may use it; a clerk or supervisor of another department gets
    404 (the task is outside their scope), anyone who works on no tasks 403."""
    inner = rule(ok)
    return lambda role: 403 if role in NON_WORKERS else inner(role)


def refused_except(*allowed: Iterable[str] | str) -> frozenset[str]:
    ok: set[str] = {SUPERUSER}
    for a in allowed:
        ok |= {a} if isinstance(a, str) else set(a)
    return frozenset(ROLES) - ok


# ---------------------------------------------------------------- site pages


def _objects(w: World) -> dict:
    return w.objects


def routes_pages() -> dict[str, Route]:
    o = _objects
    public = everyone(200)
    return {
        "": Route(one("/", public)),
        "healthz": Route(one("/healthz", public)),
        "favicon.ico": Route(one("/favicon.ico", everyone(REDIRECT))),
        "elder-mode/": Route(one("/elder-mode/", everyone(405))),
        "i18n/setlang/": Route(one("/i18n/setlang/", everyone(frozenset({204, 302})))),
        "accounts/login/": Route(
            one("/accounts/login/", lambda role: 200 if role == ANONYMOUS else REDIRECT)
        ),
        "accounts/logout/": Route(one("/accounts/logout/", everyone(405))),
        "accounts/register/": Route(one("/accounts/register/", public)),
        "accounts/me/": Route(one("/accounts/me/", logged_in())),
        # A set-password link with a wrong token: the page says the link is no good.
        "accounts/set-password/<uidb64>/<token>/": Route(
            lambda w: [
                Read(
                    "A, a wrong token",
                    f"/accounts/set-password/{w.users[CITIZEN_A].pk}/cz3-0123456789abcdef/",
                    public,
                )
            ]
        ),
        "departments/": Route(one("/departments/", public)),
        "departments/<slug:code>/": Route(
            lambda w: [
                Read(k, f"/departments/{w.departments[k].code}/", public)
                for k in ("d1", "d3", "desk")
            ]
        ),
        "services/": Route(
            lambda w: [
                Read("search", "/services/", public),
                Read("query", "/services/?q=户籍证明", public),
            ]
        ),
        "services/items/<str:code>/": Route(
            lambda w: [Read("d1 item", f"/services/items/{w.items['d1'].code}/", public)]
        ),
        "services/items/<str:code>/versions/<int:number>/": Route(
            lambda w: [Read("v1", f"/services/items/{w.items['d1'].code}/versions/1/", public)]
        ),
        "services/themes/": Route(one("/services/themes/", public)),
        "services/themes/<slug:slug>/": Route(
            lambda w: [Read("theme", f"/services/themes/{o(w)['theme'].slug}/", public)]
        ),
        "services/life-events/<slug:slug>/": Route(
            lambda w: [Read("event", f"/services/life-events/{o(w)['life_event'].slug}/", public)]
        ),
        "services/bundles/": Route(one("/services/bundles/", public)),
        "services/bundles/<slug:slug>/": Route(
            lambda w: [Read("bundle", f"/services/bundles/{w.bundle.slug}/", public)]
        ),
        "apply/bundle/<slug:key>/": Route(
            lambda w: [Read("bundle", f"/apply/bundle/{w.bundle.slug}/", logged_in())]
        ),
        "apply/item/<str:key>/": Route(
            lambda w: [Read("d1 item", f"/apply/item/{w.items['d1'].code}/", logged_in())]
        ),
        # Check your answers: with no complete draft, back to the form.
        "apply/bundle/<slug:key>/check/": Route(
            lambda w: [Read("bundle", f"/apply/bundle/{w.bundle.slug}/check/", logged_in(302))]
        ),
        "apply/item/<str:key>/check/": Route(
            lambda w: [Read("d1 item", f"/apply/item/{w.items['d1'].code}/check/", logged_in(302))]
        ),
        "my/records/": Route(one("/my/records/", logged_in())),
        "my/records/<int:pk>/<slug:field>/wrong/": Route(
            lambda w: [
                Read(
                    "A's population record",
                    f"/my/records/{o(w)['record'].pk}/hukou_address/wrong/",
                    rule([CITIZEN_A], superuser=404),
                )
            ],
            lambda w: [
                Write(
                    "ask to correct another's record",
                    "post",
                    f"/my/records/{o(w)['record'].pk}/hukou_address/wrong/",
                    refused_except(CITIZEN_A),
                    # A has asked already: refused again, nothing changes.
                    rule([CITIZEN_A], ok_status=400, superuser=404),
                    {"claimed_value": "杭州市西湖区某路 1 号"},
                )
            ],
        ),
        "my/applications/": Route(one("/my/applications/", logged_in())),
        "my/applications/<uuid:pk>/": Route(
            lambda w: [
                Read(key, f"/my/applications/{o(w)[key].pk}/", rule([owner], superuser=404))
                for key, owner in (
                    ("app_open", CITIZEN_A),
                    ("app_partial", CITIZEN_A),
                    ("app_draft", CITIZEN_A),
                    ("app_b", CITIZEN_B),
                    ("app_reporter", REPORTER),
                    ("app_enterprise", ENTERPRISE),
                )
            ]
        ),
        "my/applications/<uuid:pk>/correct/<int:task_id>/": Route(
            lambda w: [
                Read(
                    "app_open",
                    f"/my/applications/{o(w)['app_open'].pk}/correct/{o(w)['task_open'].pk}/",
                    logged_in(405),
                )
            ],
            lambda w: [
                Write(
                    "correct another's case",
                    "post",
                    f"/my/applications/{o(w)['app_open'].pk}/correct/{o(w)['task_open'].pk}/",
                    refused_except(CITIZEN_A),
                    rule([], other=404),
                    {"applicant_note": "改过了"},
                )
            ],
        ),
        "my/applications/<uuid:pk>/rate/": Route(
            lambda w: [
                Read(
                    "app_rejected",
                    f"/my/applications/{o(w)['app_rejected'].pk}/rate/",
                    logged_in(405),
                )
            ],
            lambda w: [
                Write(
                    "rate another's case",
                    "post",
                    f"/my/applications/{o(w)['app_rejected'].pk}/rate/",
                    refused_except(CITIZEN_A),
                    rule([], other=404),
                    {"score": "1", "comment": "差"},
                )
            ],
        ),
        "my/notices/": Route(
            one("/my/notices/", logged_in()),
            lambda w: [
                Write(
                    "mark read without logging in",
                    "post",
                    "/my/notices/",
                    frozenset({ANONYMOUS}),
                    everyone(LOGIN),
                    {},
                )
            ],
        ),
        "my/data-use/": Route(one("/my/data-use/", logged_in())),
        "my/": Route(one("/my/", logged_in())),
        "files/<int:pk>/": Route(
            lambda w: [
                Read(
                    "A's upload",
                    f"/files/{o(w)['attachment'].pk}/",
                    rule({CITIZEN_A} | workers("d1")),
                )
            ]
        ),
        # The counter (一窗受理): counter clerks of a service centre only (none in this world),
        # everyone else 403; a case's notices (PDF): its applicant and the staff working on it.
        "counter/": Route(
            one("/counter/", rule([], other=403)),
            lambda w: [
                Write(
                    "find a citizen at the counter",
                    "post",
                    "/counter/",
                    refused_except(),
                    rule([], other=403),
                    {"action": "find", "q": w.users[CITIZEN_A].id_number},
                ),
                Write(
                    "register a citizen at the counter",
                    "post",
                    "/counter/",
                    refused_except(),
                    rule([], other=403),
                    {
                        "action": "register",
                        "real_name": "戊子新",
                        "sex": "男",
                        "birth_date": "1990-01-01",
                        "id_number": "110101199001010015",
                    },
                ),
            ],
        ),
        "counter/citizens/<int:pk>/": Route(
            lambda w: [
                Read(
                    "citizen A",
                    f"/counter/citizens/{w.users[CITIZEN_A].pk}/",
                    rule([], other=403),
                )
            ]
        ),
        "counter/citizens/<int:pk>/apply/bundle/<slug:key>/": Route(
            lambda w: [
                Read(
                    "citizen A, the bundle",
                    f"/counter/citizens/{w.users[CITIZEN_A].pk}/apply/bundle/{w.bundle.slug}/",
                    rule([], other=403),
                )
            ],
            lambda w: [
                Write(
                    "file the bundle for A",
                    "post",
                    f"/counter/citizens/{w.users[CITIZEN_A].pk}/apply/bundle/{w.bundle.slug}/",
                    refused_except(),
                    rule([], other=403),
                    {"applicant_note": "窗口代办", "submit_key": "sec-counter-1"},
                )
            ],
        ),
        "counter/citizens/<int:pk>/apply/item/<str:key>/": Route(
            lambda w: [
                Read(
                    "citizen A, the d1 item",
                    f"/counter/citizens/{w.users[CITIZEN_A].pk}/apply/item/{w.items['d1'].code}/",
                    rule([], other=403),
                )
            ]
        ),
        "counter/cases/<uuid:pk>/": Route(
            lambda w: [
                Read(
                    "app_open (filed online)",
                    f"/counter/cases/{o(w)['app_open'].pk}/",
                    rule([], other=403, superuser=404),
                )
            ]
        ),
        "cases/<uuid:pk>/documents/<slug:kind>.pdf": Route(
            lambda w: [
                Read(
                    "app_open: acceptance",
                    f"/cases/{o(w)['app_open'].pk}/documents/acceptance.pdf",
                    rule({CITIZEN_A} | workers("d1")),
                ),
                Read(
                    "app_rejected: rejection",
                    f"/cases/{o(w)['app_rejected'].pk}/documents/rejection.pdf",
                    rule({CITIZEN_A} | workers("d1")),
                ),
                Read(
                    "app_partial: proof of service",
                    f"/cases/{o(w)['app_partial'].pk}/documents/service.pdf",
                    rule({CITIZEN_A} | workers("d1") | workers("d2")),
                ),
                Read(
                    "app_open: no rejection yet",
                    f"/cases/{o(w)['app_open'].pk}/documents/rejection.pdf",
                    rule([], superuser=404),
                ),
                Read(
                    "app_b: acceptance",
                    f"/cases/{o(w)['app_b'].pk}/documents/acceptance.pdf",
                    rule({CITIZEN_B} | workers("d3")),
                ),
            ]
        ),
        "staff/tasks/": Route(one("/staff/tasks/", rule(ALL_WORKERS, other=403))),
        "staff/": Route(one("/staff/", rule(STAFF, other=403))),
        "staff/tasks/batch/": Route(
            one("/staff/tasks/batch/", logged_in(405)),
            lambda w: [
                Write(
                    f"batch {batch} a d1 task",
                    "post",
                    "/staff/tasks/batch/",
                    refused_except(workers("d1")),
                    # Each row is refused in the list it returns to; no worker, no batch.
                    lambda role: (
                        LOGIN if role == ANONYMOUS else 403 if role in NON_WORKERS else REDIRECT
                    ),
                    {"batch": batch, "tasks": str(o(w)["task_open"].pk), "back": ""},
                )
                for batch in ("claim", "sign")
            ],
        ),
        "staff/tasks/<int:pk>/": Route(
            lambda w: [
                Read(
                    "task_open (d1)",
                    f"/staff/tasks/{o(w)['task_open'].pk}/",
                    task_rule(workers("d1")),
                ),
                Read("task_b (d3)", f"/staff/tasks/{o(w)['task_b'].pk}/", task_rule(workers("d3"))),
                Read(
                    "task of the reporter's case (d1)",
                    f"/staff/tasks/{o(w)['task_reporter'].pk}/",
                    task_rule(workers("d1")),
                ),
            ]
        ),
        "staff/tasks/<int:pk>/act/": Route(
            lambda w: [
                Read("task_open", f"/staff/tasks/{o(w)['task_open'].pk}/act/", logged_in(405))
            ],
            lambda w: [
                Write(
                    f"{action} a d1 task",
                    "post",
                    f"/staff/tasks/{o(w)['task_reporter'].pk}/act/",
                    refused_except(workers("d1")),
                    task_rule([]),
                    {
                        "action": action,
                        "version": "0",
                        "reason": "理由",
                        "fields": "applicant_note",
                    },
                )
                for action in ("claim", "accept", "reject")
            ],
        ),
        "staff/tasks/<int:pk>/extension/": Route(
            lambda w: [
                Read("task_open", f"/staff/tasks/{o(w)['task_open'].pk}/extension/", logged_in(405))
            ],
            lambda w: [
                Write(
                    "ask more time for a d1 task",
                    "post",
                    f"/staff/tasks/{o(w)['task_reporter'].pk}/extension/",
                    refused_except(workers("d1")),
                    task_rule([]),
                    {"days": "2", "reason": "理由"},
                )
            ],
        ),
        **{
            f"staff/tasks/<int:pk>/{route}/": Route(
                lambda w, route=route: [
                    Read(
                        "task_open", f"/staff/tasks/{o(w)['task_open'].pk}/{route}/", logged_in(405)
                    )
                ],
                lambda w, route=route, data=data: [
                    Write(
                        f"{route} a d1 task",
                        "post",
                        f"/staff/tasks/{o(w)['task_reporter'].pk}/{route}/",
                        refused_except(workers("d1")),
                        task_rule([]),
                        data,
                    )
                ],
            )
            for route, data in (
                ("procedure", {"kind": "testing", "reason": "理由", "expected_end": "2030-01-01"}),
                ("hand-over", {"version": "0", "reason": "理由", "colleague": "1"}),
                ("supervise", {"reason": "理由"}),
            )
        },
        "staff/supervisions/<int:pk>/": Route(
            lambda w: [
                Read(
                    "a 督办 to d1",
                    f"/staff/supervisions/{o(w)['supervision'].pk}/",
                    rule(workers("d1")),
                )
            ],
            lambda w: [
                Write(
                    "answer a 督办 to d1",
                    "post",
                    f"/staff/supervisions/{o(w)['supervision'].pk}/",
                    refused_except(workers("d1")),
                    rule([]),
                    {"reply": "答复"},
                )
            ],
        ),
        "staff/tasks/<int:pk>/verify/": Route(
            lambda w: [
                Read("task_open", f"/staff/tasks/{o(w)['task_open'].pk}/verify/", logged_in(405))
            ],
            lambda w: [
                Write(
                    "verify through a d2 task",
                    "post",
                    f"/staff/tasks/{o(w)['task_partial_d2'].pk}/verify/",
                    refused_except(workers("d2")),
                    task_rule([]),
                    {
                        "owner": w.departments["d1"].code,
                        "field": "hukou_region",
                        "expected": "3301",
                    },
                )
            ],
        ),
        "tickets/new/": Route(one("/tickets/new/", logged_in())),
        "my/tickets/": Route(one("/my/tickets/", logged_in())),
        "my/tickets/<int:pk>/": Route(
            lambda w: [
                Read(key, f"/my/tickets/{o(w)[key].pk}/", rule([owner], superuser=404))
                for key, owner in (
                    ("ticket_private", CITIZEN_A),
                    ("ticket_public", CITIZEN_A),
                    ("ticket_b", CITIZEN_B),
                    ("report", REPORTER),
                    ("ticket_anonymous", "nobody"),
                )
            ]
        ),
        "my/tickets/<int:pk>/rate/": Route(
            lambda w: [
                Read(
                    "ticket_private",
                    f"/my/tickets/{o(w)['ticket_private'].pk}/rate/",
                    logged_in(405),
                )
            ],
            lambda w: [
                Write(
                    "rate another's ticket",
                    "post",
                    f"/my/tickets/{o(w)['ticket_private'].pk}/rate/",
                    refused_except(CITIZEN_A),
                    rule([], other=404),
                    {"satisfaction": "1"},
                )
            ],
        ),
        # the signed link is the whole of the permission: a wrong one is gone for everyone
        "tickets/rate/<str:token>/": Route(one("/tickets/rate/not-a-token/", everyone(410))),
        "tickets/files/<int:pk>/": Route(
            lambda w: [
                Read(
                    "A's photo",
                    f"/tickets/files/{o(w)['ticket_attachment'].pk}/",
                    rule({CITIZEN_A} | of("d1") | DESK),
                )
            ]
        ),
        "staff/tickets/": Route(one("/staff/tickets/", rule(STAFF, other=403))),
        "staff/tickets/<int:pk>/": Route(
            lambda w: [
                Read(key, f"/staff/tickets/{o(w)[key].pk}/", rule(readers | DESK, citizens=403))
                for key, readers in (
                    ("ticket_private", of("d1")),
                    ("ticket_b", of("d2")),
                    ("report", of("d1")),
                    ("ticket_hotline", frozenset()),
                )
            ]
        ),
        "staff/tickets/<int:pk>/act/": Route(
            lambda w: [
                Read("ticket_b", f"/staff/tickets/{o(w)['ticket_b'].pk}/act/", logged_in(405))
            ],
            lambda w: [
                Write(
                    "sign for d2's ticket",
                    "post",
                    f"/staff/tickets/{o(w)['ticket_b'].pk}/act/",
                    refused_except(of("d2")),
                    _sign_refusal,
                    {"action": "sign", "version": str(o(w)["ticket_b"].version)},
                ),
                Write(
                    "dispatch the queued hotline ticket",
                    "post",
                    f"/staff/tickets/{o(w)['ticket_hotline'].pk}/act/",
                    refused_except(DESK_DISPATCHER, DESK_SUPERVISOR),
                    _dispatch_refusal,
                    {
                        "action": "dispatch",
                        "version": str(o(w)["ticket_hotline"].version),
                        "department": w.departments["d1"].code,
                    },
                ),
            ],
        ),
        "staff/tickets/dispatch/": Route(
            one("/staff/tickets/dispatch/", logged_in(405)),
            lambda w: [
                Write(
                    "dispatch the queued hotline ticket to its suggestion",
                    "post",
                    "/staff/tickets/dispatch/",
                    refused_except(DESK_DISPATCHER, DESK_SUPERVISOR),
                    rule([], citizens=403, staff=REDIRECT, other=403),
                    {"tickets": str(o(w)["ticket_hotline"].pk)},
                )
            ],
        ),
        "staff/tickets/<int:pk>/reporter/": Route(
            lambda w: [
                Read("report", f"/staff/tickets/{o(w)['report'].pk}/reporter/", logged_in(405))
            ],
            lambda w: [
                Write(
                    "unmask the reporter",
                    "post",
                    f"/staff/tickets/{o(w)['report'].pk}/reporter/",
                    refused_except(DESK_SUPERVISOR),
                    _reveal_refusal,
                    {"reason": "想知道"},
                )
            ],
        ),
        "assistant/": Route(one("/assistant/", everyone(200))),
        "assistant/<int:pk>/helpful/": Route(
            lambda w: [
                Read("B's question", f"/assistant/{o(w)['question_b'].pk}/helpful/", everyone(405))
            ],
            lambda w: [
                Write(
                    f"helpful on {key}",
                    "post",
                    f"/assistant/{o(w)[key].pk}/helpful/",
                    refused,
                    everyone(404),
                    {"helpful": "no"},
                )
                for key, refused in (
                    ("question_b", refused_except(CITIZEN_B)),
                    ("question_anonymous", frozenset(ROLES) - {SUPERUSER}),
                )
            ],
        ),
        "assistant/<int:pk>/flag/": Route(
            lambda w: [
                Read("B's question", f"/assistant/{o(w)['question_b'].pk}/flag/", everyone(405))
            ],
            lambda w: [
                Write(
                    "flag without being staff",
                    "post",
                    f"/assistant/{o(w)['question_b'].pk}/flag/",
                    frozenset({ANONYMOUS}) | CITIZENS,
                    everyone(403),
                    {"note": "错"},
                )
            ],
        ),
        "knowledge/": Route(one("/knowledge/", public)),
        "knowledge/<slug:code>/": Route(
            lambda w: [
                Read(key, f"/knowledge/{o(w)[key].code}/", public)
                for key in ("article", "article_local")
            ]
        ),
        "staff/tickets/stats/": Route(one("/staff/tickets/stats/", rule(STAFF, other=403))),
        "board/": Route(
            lambda w: [
                Read("board", "/board/", public),
                Read("json", "/board/?format=json", public),
                Read("csv", "/board/?format=csv", public),
            ]
        ),
        "board/department/<slug:code>/": Route(
            lambda w: [
                Read(k, f"/board/department/{w.departments[k].code}/", public) for k in ("d1", "d3")
            ]
        ),
        "board/department/<slug:code>/<slug:metric>/": Route(
            lambda w: [
                Read(m.key, f"/board/department/{w.departments['d1'].code}/{m.key}/", public)
                for m in METRICS
                if not m.by_region
            ]
        ),
        "staff/board/": Route(one("/staff/board/", rule(STAFF, other=403))),
        "staff/board/department/<slug:code>/<slug:metric>/": Route(
            lambda w: [
                Read(
                    f"{m.key}{fmt}",
                    f"/staff/board/department/{w.departments['d1'].code}/{m.key}/{fmt}",
                    rule(of("d1"), other=403),
                )
                for m in METRICS
                if not m.by_region
                for fmt in ("", "?format=json")
            ]
        ),
    }


def _sign_refusal(role: str) -> Expect:
    if role == ANONYMOUS:
        return LOGIN
    if role in CITIZENS:
        return 403
    if role in DESK:
        return 403  # the desk sees the ticket but has no part in it
    return 404


def _dispatch_refusal(role: str) -> Expect:
    if role == ANONYMOUS:
        return LOGIN
    if role in CITIZENS or role == DESK_OPERATOR:
        return 403
    return 404  # departments do not see a ticket still at the desk


def _reveal_refusal(role: str) -> Expect:
    if role == ANONYMOUS:
        return LOGIN
    if role in CITIZENS or role in DESK or role in of("d1"):
        return 403  # the handling department sees the report, never its sender
    return 404


# ---------------------------------------------------------------- REST API


def routes_api() -> dict[str, Route]:
    o = _objects
    public = everyone(200)
    auth = logged_in(anon=DENIED_API)
    post_only = logged_in(405, anon=DENIED_API)
    T = "api/v1/tasks/(?P<pk>[0-9]{1,18})/"
    A = (
        "api/v1/applications/(?P<pk>[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
        "[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})/"
    )
    K = "api/v1/tickets/(?P<pk>[0-9]{1,18})/"

    def task_action(action: str) -> Route:
        return Route(
            lambda w: [
                Read("task_open", f"/api/v1/tasks/{o(w)['task_open'].pk}/{action}/", post_only)
            ],
            lambda w: [
                Write(
                    f"{action} a d1 task",
                    "post",
                    f"/api/v1/tasks/{o(w)['task_reporter'].pk}/{action}/",
                    refused_except(workers("d1")),
                    rule([], anon=DENIED_API, other=404),
                    {"version": 0, "reason": "理由", "fields": ["applicant_note"], "outputs": {}},
                    json=True,
                )
            ],
        )

    return {
        "api/v1/": Route(one("/api/v1/", public)),
        "api/v1/me/": Route(one("/api/v1/me/", auth)),
        "api/v1/accounts/register/": Route(one("/api/v1/accounts/register/", everyone(405))),
        "api/v1/auth/token/": Route(
            one("/api/v1/auth/token/", everyone(405)),
            lambda w: [
                # A session is no token: nothing to revoke.
                Write(
                    "revoke the token in use",
                    "delete",
                    "/api/v1/auth/token/",
                    frozenset(ROLES),
                    logged_in(400, anon=DENIED_API),
                )
            ],
        ),
        "api/v1/auth/tokens/": Route(one("/api/v1/auth/tokens/", auth)),
        "api/v1/auth/tokens/<int:pk>/": Route(
            lambda w: [Read("A's token", f"/api/v1/auth/tokens/{o(w)['token'].pk}/", post_only)],
            lambda w: [
                Write(
                    "revoke A's token",
                    "delete",
                    f"/api/v1/auth/tokens/{o(w)['token'].pk}/",
                    frozenset(ROLES) - {CITIZEN_A},
                    logged_in(404, anon=DENIED_API),
                )
            ],
        ),
        "api/v1/regions/$": Route(one("/api/v1/regions/", public)),
        "api/v1/regions/(?P<code>\\d{6}(?:\\d{3})?)/$": Route(
            one("/api/v1/regions/330100/", public)
        ),
        "api/v1/departments/$": Route(one("/api/v1/departments/", public)),
        "api/v1/departments/(?P<code>[-a-zA-Z0-9_]+)/$": Route(
            lambda w: [Read("d1", f"/api/v1/departments/{w.departments['d1'].code}/", public)]
        ),
        "api/v1/staff/memberships/$": Route(one("/api/v1/staff/memberships/", auth)),
        "api/v1/staff/memberships/(?P<pk>[^/.]+)/$": Route(
            lambda w: [
                Read(
                    "d1 clerk's membership",
                    f"/api/v1/staff/memberships/{o(w)['membership'].pk}/",
                    rule(of("d1"), anon=DENIED_API),
                )
            ]
        ),
        "api/v1/items/$": Route(
            lambda w: [
                Read("list", "/api/v1/items/", public),
                Read("search", "/api/v1/items/?search=户籍", public),
            ]
        ),
        "api/v1/items/(?P<code>[-a-zA-Z0-9_]+)/$": Route(
            lambda w: [Read("d1 item", f"/api/v1/items/{w.items['d1'].code}/", public)]
        ),
        "api/v1/items/(?P<code>[-a-zA-Z0-9_]+)/jsonld/$": Route(
            lambda w: [Read("d1 item", f"/api/v1/items/{w.items['d1'].code}/jsonld/", public)]
        ),
        "api/v1/items/(?P<code>[-a-zA-Z0-9_]+)/versions/(?P<number>[0-9]{1,9})/$": Route(
            lambda w: [Read("v1", f"/api/v1/items/{w.items['d1'].code}/versions/1/", public)]
        ),
        "api/v1/themes/$": Route(one("/api/v1/themes/", public)),
        "api/v1/life-events/$": Route(one("/api/v1/life-events/", public)),
        "api/v1/bundles/$": Route(one("/api/v1/bundles/", public)),
        "api/v1/bundles/(?P<slug>[-a-zA-Z0-9_]+)/$": Route(
            lambda w: [Read("bundle", f"/api/v1/bundles/{w.bundle.slug}/", public)]
        ),
        "api/v1/applications/$": Route(one("/api/v1/applications/", auth)),
        A + "$": Route(
            lambda w: [
                Read(
                    key,
                    f"/api/v1/applications/{o(w)[key].pk}/",
                    rule([owner], anon=DENIED_API, superuser=404),
                )
                for key, owner in (
                    ("app_open", CITIZEN_A),
                    ("app_b", CITIZEN_B),
                    ("app_reporter", REPORTER),
                )
            ]
        ),
        A + "correction/$": Route(
            lambda w: [
                Read(
                    "app_open", f"/api/v1/applications/{o(w)['app_open'].pk}/correction/", post_only
                )
            ],
            lambda w: [
                Write(
                    "correct another's case",
                    "post",
                    f"/api/v1/applications/{o(w)['app_open'].pk}/correction/",
                    refused_except(CITIZEN_A),
                    rule([], anon=DENIED_API, other=404),
                    {"task": o(w)["task_open"].pk, "answers": {"applicant_note": "改"}},
                    json=True,
                )
            ],
        ),
        A + "rating/$": Route(
            lambda w: [
                Read(
                    "app_rejected",
                    f"/api/v1/applications/{o(w)['app_rejected'].pk}/rating/",
                    post_only,
                )
            ],
            lambda w: [
                Write(
                    "rate another's case",
                    "post",
                    f"/api/v1/applications/{o(w)['app_rejected'].pk}/rating/",
                    refused_except(CITIZEN_A),
                    rule([], anon=DENIED_API, other=404),
                    {"score": 1, "comment": "差"},
                    json=True,
                )
            ],
        ),
        "api/v1/applications/<uuid:pk>/documents/<slug:kind>/": Route(
            lambda w: [
                Read(
                    "app_open: acceptance",
                    f"/api/v1/applications/{o(w)['app_open'].pk}/documents/acceptance/",
                    rule({CITIZEN_A} | workers("d1"), anon=DENIED_API),
                ),
                Read(
                    "app_rejected: correction (none)",
                    f"/api/v1/applications/{o(w)['app_rejected'].pk}/documents/correction/",
                    rule([], anon=DENIED_API, superuser=404),
                ),
            ]
        ),
        **{
            f"api/v1/counter/{route}": Route(
                one(f"/api/v1/counter/{route}", post_only),
                lambda w, route=route, body=body: [
                    Write(
                        f"counter: {route}",
                        "post",
                        f"/api/v1/counter/{route}",
                        refused_except(),
                        rule([], anon=DENIED_API, other=403),
                        body(w),
                        json=True,
                    )
                ],
            )
            for route, body in (
                ("citizens/find/", lambda w: {"query": w.users[CITIZEN_A].real_name}),
                (
                    "citizens/",
                    lambda w: {
                        "real_name": "戊子新",
                        "sex": "男",
                        "birth_date": "1990-01-01",
                        "id_number": "110101199001010015",
                    },
                ),
                (
                    "applications/",
                    lambda w: {
                        "citizen": w.users[CITIZEN_A].pk,
                        "item": w.items["d1"].code,
                        "answers": {"applicant_note": "窗口代办"},
                        "idempotency_key": "sec-counter-api",
                    },
                ),
            )
        },
        "api/v1/tasks/$": Route(one("/api/v1/tasks/", auth)),
        T + "$": Route(
            lambda w: [
                Read(
                    "task_open (d1)",
                    f"/api/v1/tasks/{o(w)['task_open'].pk}/",
                    rule(workers("d1"), anon=DENIED_API),
                ),
                Read(
                    "task_b (d3)",
                    f"/api/v1/tasks/{o(w)['task_b'].pk}/",
                    rule(workers("d3"), anon=DENIED_API),
                ),
                Read(
                    "task of the reporter's case (d1)",
                    f"/api/v1/tasks/{o(w)['task_reporter'].pk}/",
                    rule(workers("d1"), anon=DENIED_API),
                ),
            ]
        ),
        **{
            T + f"{action}/$": task_action(action)
            for action in (
                "accept",
                "claim",
                "complete",
                "correction",
                "reject",
                "release",
                "extension",
                "extension-decision",
                "hand-over",
                "send-back",
                "procedure",
                "procedure-end",
                "supervise",
            )
        },
        "api/v1/supervisions/$": Route(one("/api/v1/supervisions/", auth)),
        "api/v1/supervisions/(?P<pk>[0-9]{1,18})/$": Route(
            lambda w: [
                Read(
                    "a 督办 to d1",
                    f"/api/v1/supervisions/{o(w)['supervision'].pk}/",
                    rule(workers("d1"), anon=DENIED_API),
                )
            ]
        ),
        "api/v1/supervisions/(?P<pk>[0-9]{1,18})/reply/$": Route(
            lambda w: [
                Read(
                    "a 督办 to d1",
                    f"/api/v1/supervisions/{o(w)['supervision'].pk}/reply/",
                    post_only,
                )
            ],
            lambda w: [
                Write(
                    "answer a 督办 to d1",
                    "post",
                    f"/api/v1/supervisions/{o(w)['supervision'].pk}/reply/",
                    refused_except(workers("d1")),
                    rule([], anon=DENIED_API, other=404),
                    {"reply": "答复"},
                    json=True,
                )
            ],
        ),
        "api/v1/tickets/$": Route(one("/api/v1/tickets/", auth)),
        "api/v1/tickets/duplicates/$": Route(
            one(
                "/api/v1/tickets/duplicates/?region=330106&content="
                "%E5%8A%9E%E7%90%86%E6%88%B7%E7%B1%8D%E8%AF%81%E6%98%8E%E6%97%B6%E7%AA%97%E5%8F%A3"
                "%E5%B7%A5%E4%BD%9C%E4%BA%BA%E5%91%98%E6%9A%97%E7%A4%BA%E8%A6%81%E5%A5%BD%E5%A4%84"
                "%E8%B4%B9",
                public,
            )
        ),
        K + "$": Route(
            lambda w: [
                Read(key, f"/api/v1/tickets/{o(w)[key].pk}/", rule(readers, anon=DENIED_API))
                for key, readers in (
                    ("ticket_private", {CITIZEN_A} | of("d1") | DESK),
                    ("ticket_b", {CITIZEN_B} | of("d2") | DESK),
                    ("report", {REPORTER} | of("d1") | DESK),
                    ("ticket_hotline", DESK),
                )
            ]
        ),
        K + "actions/$": Route(
            lambda w: [
                Read("ticket_b", f"/api/v1/tickets/{o(w)['ticket_b'].pk}/actions/", post_only)
            ],
            lambda w: [
                Write(
                    "sign for d2's ticket",
                    "post",
                    f"/api/v1/tickets/{o(w)['ticket_b'].pk}/actions/",
                    refused_except(of("d2")),
                    _api_sign_refusal,
                    {"action": "sign", "version": o(w)["ticket_b"].version},
                    json=True,
                ),
                Write(
                    "dispatch the queued hotline ticket",
                    "post",
                    f"/api/v1/tickets/{o(w)['ticket_hotline'].pk}/actions/",
                    refused_except(DESK_DISPATCHER, DESK_SUPERVISOR),
                    _api_dispatch_refusal,
                    {"action": "dispatch", "department": w.departments["d1"].code},
                    json=True,
                ),
            ],
        ),
        K + "merge/$": Route(
            lambda w: [
                Read(
                    "ticket_hotline",
                    f"/api/v1/tickets/{o(w)['ticket_hotline'].pk}/merge/",
                    post_only,
                )
            ],
            lambda w: [
                Write(
                    "merge the anonymous ticket into the hotline one",
                    "post",
                    f"/api/v1/tickets/{o(w)['ticket_hotline'].pk}/merge/",
                    refused_except(DESK_DISPATCHER, DESK_SUPERVISOR),
                    _api_dispatch_refusal,
                    {"tickets": [o(w)["ticket_anonymous"].pk]},
                    json=True,
                )
            ],
        ),
        K + "reporter/$": Route(
            lambda w: [Read("report", f"/api/v1/tickets/{o(w)['report'].pk}/reporter/", post_only)],
            lambda w: [
                Write(
                    "unmask the reporter",
                    "post",
                    f"/api/v1/tickets/{o(w)['report'].pk}/reporter/",
                    refused_except(DESK_SUPERVISOR),
                    rule([], anon=DENIED_API, other=403),
                    {"reason": "想知道"},
                    json=True,
                )
            ],
        ),
        "api/v1/assistant/": Route(one("/api/v1/assistant/?q=户籍证明怎么开", public)),
        "api/v1/assistant/<int:pk>/helpful/": Route(
            lambda w: [
                Read("B's", f"/api/v1/assistant/{o(w)['question_b'].pk}/helpful/", everyone(405))
            ],
            lambda w: [
                Write(
                    f"helpful on {key}",
                    "post",
                    f"/api/v1/assistant/{o(w)[key].pk}/helpful/",
                    refused,
                    everyone(404),
                    {"helpful": False},
                    json=True,
                )
                for key, refused in (
                    ("question_b", refused_except(CITIZEN_B)),
                    ("question_anonymous", frozenset(ROLES) - {SUPERUSER}),
                )
            ],
        ),
        "api/v1/assistant/<int:pk>/flag/": Route(
            lambda w: [
                Read("B's", f"/api/v1/assistant/{o(w)['question_b'].pk}/flag/", everyone(405))
            ],
            lambda w: [
                Write(
                    "flag without being staff",
                    "post",
                    f"/api/v1/assistant/{o(w)['question_b'].pk}/flag/",
                    frozenset({ANONYMOUS}) | CITIZENS,
                    everyone(403),
                    {"note": "错"},
                    json=True,
                )
            ],
        ),
        "api/v1/tickets/stats/": Route(
            one("/api/v1/tickets/stats/", rule(STAFF, anon=DENIED_API, other=403))
        ),
        "api/v1/scoreboard/": Route(one("/api/v1/scoreboard/", public)),
        "api/v1/scoreboard/departments/<slug:code>/": Route(
            lambda w: [
                Read("d1", f"/api/v1/scoreboard/departments/{w.departments['d1'].code}/", public)
            ]
        ),
        "api/v1/scoreboard/departments/<slug:code>/<slug:metric>/": Route(
            lambda w: [
                Read(
                    m.key,
                    f"/api/v1/scoreboard/departments/{w.departments['d1'].code}/{m.key}/",
                    public,
                )
                for m in METRICS
                if not m.by_region
            ]
        ),
        "api/schema/": Route(one("/api/schema/", public)),
        "api/docs/": Route(one("/api/docs/", public)),
    }


def _api_sign_refusal(role: str) -> Expect:
    if role == ANONYMOUS:
        return DENIED_API
    if role in DESK or role == CITIZEN_B:
        return 403  # they see the ticket (the desk all, B their own) but have no part in it
    return 404  # a citizen reads only their own tickets; other departments do not see it


def _api_dispatch_refusal(role: str) -> Expect:
    if role == ANONYMOUS:
        return DENIED_API
    if role == DESK_OPERATOR:
        return 403
    return 404


# ---------------------------------------------------------------- Open311

OPEN311 = "open311/v2/"


def routes_open311() -> dict[str, Route]:
    o = _objects
    public = everyone(200)

    def both(path: str, expect: Rule, label: str = "") -> list[Read]:
        return [
            Read(f"{label}{fmt}", f"/open311/v2/{path}.{fmt}", expect) for fmt in ("json", "xml")
        ]

    return {
        OPEN311 + "discovery\\.(?P<fmt>[A-Za-z0-9]+)$": Route(lambda w: both("discovery", public)),
        OPEN311 + "services\\.(?P<fmt>[A-Za-z0-9]+)$": Route(lambda w: both("services", public)),
        OPEN311 + "services/(?P<code>[^/.]+)\\.(?P<fmt>[A-Za-z0-9]+)$": Route(
            lambda w: both("services/general", public)
        ),
        OPEN311 + "requests\\.(?P<fmt>[A-Za-z0-9]+)$": Route(
            lambda w: both("requests", public),
            lambda w: [
                Write(
                    "submit without an api_key",
                    "post",
                    "/open311/v2/requests.json",
                    frozenset(ROLES),
                    everyone(frozenset({400, 403})),
                    {"service_code": "general", "description": "路灯坏了", "address_id": "330106"},
                )
            ],
        ),
        OPEN311 + "requests/(?P<request_id>[^/.]+)\\.(?P<fmt>[A-Za-z0-9]+)$": Route(
            lambda w: [
                *both(f"requests/{o(w)['ticket_public'].pk}", public, "public "),
                *both(f"requests/{o(w)['ticket_private'].pk}", public, "private "),
                *both(f"requests/{o(w)['report'].pk}", everyone(404), "report "),
            ]
        ),
        OPEN311 + "tokens/(?P<token>[^/.]+)\\.(?P<fmt>[A-Za-z0-9]+)$": Route(
            lambda w: both(f"tokens/{o(w)['ticket_public'].token}", public)
        ),
        OPEN311 + "$": Route(one("/open311/v2/", everyone(404))),
        OPEN311 + "(?P<path>.*)$": Route(one("/open311/v2/nothing.json", everyone(404))),
    }


# ---------------------------------------------------------------- admin

C, S, D, AD = "clerk", "supervisor", "dispatcher", "admin"
ALL4 = frozenset({C, S, D, AD})
ALL_CASE_READERS = frozenset({C, S, AD})
NONE: frozenset[str] = frozenset()
CLOSED = "closed"  # not even the superuser


@dataclass(frozen=True)
class AdminSpec:
    """What each department role may do with one model in admin, and which departments' staff
    see the object (``None``: every member of staff with the permission)."""

    obj: Callable[[World], Any]
    view: frozenset[str] = NONE
    add: frozenset[str] | str = NONE
    change: frozenset[str] | str = NONE
    delete: frozenset[str] | str = NONE
    scope: Callable[[World], frozenset[str]] | None = None  # the roles that see the object
    objects_change: bool = True  # False: the change permission covers no existing object
    change_data: Callable[[World, Any], dict] = lambda w, obj: {}


def in_departments(
    *keys: str, roles: Iterable[str] = ("clerk", "supervisor", "dispatcher", "admin")
):
    def scope(w: World) -> frozenset[str]:
        found: set[str] = set()
        for key in keys:
            if key == "desk":
                found |= {r for r in DESK if _role_name(r) in set(roles)}
            else:
                found |= of(key, *roles)
        return frozenset(found)

    return scope


def _role_name(role: str) -> str | None:
    """The department role a staff role holds (clerk, supervisor, dispatcher, admin)."""
    if role == DESK_OPERATOR:
        return C
    if role == DESK_DISPATCHER:
        return D
    if role == DESK_SUPERVISOR:
        return S
    for r in (C, S, D, AD):
        if role.endswith(f"_{r}") and role[:2] in ("d1", "d2", "d3"):
            return r
    return None


def admin_specs() -> dict[str, AdminSpec]:
    o = _objects
    from django.contrib.auth.models import Group

    def group(w):
        return Group.objects.get_or_create(name="示例组")[0]

    def token(w):
        return o(w)["token"]

    def axes(model):
        def get(w):
            return model.objects.order_by("pk").first()

        return get

    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from zheliban.core.models import OutboxMessage

    return {
        "auth.group": AdminSpec(group),
        "accounts.personaltoken": AdminSpec(token, add=CLOSED, delete=CLOSED),
        "axes.accessattempt": AdminSpec(axes(AccessAttempt), add=CLOSED),
        "axes.accesslog": AdminSpec(axes(AccessLog), add=CLOSED),
        "axes.accessfailurelog": AdminSpec(axes(AccessFailureLog), add=CLOSED),
        "core.calendaryear": AdminSpec(lambda w: o(w)["calendar"]),
        "core.outboxmessage": AdminSpec(
            lambda w: OutboxMessage.objects.order_by("created_at").first(),
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
        ),
        "accounts.user": AdminSpec(lambda w: w.users[staff_role("d1", C)], view=frozenset({AD})),
        "departments.region": AdminSpec(lambda w: w.regions["city"]),
        "departments.department": AdminSpec(
            lambda w: w.departments["d1"],
            view=ALL4,
            change=frozenset({AD}),
            scope=in_departments("d1"),
        ),
        "departments.servicelocation": AdminSpec(
            lambda w: o(w)["location"],
            view=ALL4,
            add=frozenset({AD}),
            change=frozenset({S, AD}),
            delete=frozenset({AD}),
            scope=lambda w: in_departments("d1")(w) | {staff_role("d2", C)},
        ),
        "departments.membership": AdminSpec(
            lambda w: o(w)["membership"],
            view=frozenset({C, S, AD}),
            add=frozenset({AD}),
            change=frozenset({AD}),
            delete=frozenset({AD}),
            scope=in_departments("d1"),
            objects_change=False,  # a role is granted or revoked, never edited in place
        ),
        "departments.servicelocationuserpermission": AdminSpec(lambda w: o(w)["shared_location"]),
        "departments.datagrant": AdminSpec(
            lambda w: o(w)["grant"],
            view=frozenset({S, AD}),
            add=frozenset({AD}),
            change=frozenset({AD}),
            scope=in_departments("d1", "d2"),
        ),
        "catalog.serviceitem": AdminSpec(
            lambda w: w.items["d1"],
            view=ALL4,
            add=frozenset({AD}),
            change=frozenset({S, AD}),
            scope=in_departments("d1"),
        ),
        "catalog.theme": AdminSpec(lambda w: o(w)["theme"]),
        "catalog.lifeevent": AdminSpec(lambda w: o(w)["life_event"]),
        "catalog.bundle": AdminSpec(lambda w: w.bundle),
        "catalog.synonym": AdminSpec(lambda w: o(w)["synonym"]),
        "workflows.workflowdefinition": AdminSpec(
            lambda w: o(w)["bundle_wf"],
            view=frozenset({C, S, AD}),
            add=frozenset({AD}),
            change=frozenset({AD}),
            scope=in_departments("d1", "d2"),
        ),
        "workflows.task": AdminSpec(
            lambda w: o(w)["task_open"],
            view=frozenset({C, S, AD}),
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
            scope=in_departments("d1"),
        ),
        "workflows.application": AdminSpec(
            lambda w: o(w)["app_open"],
            view=frozenset({C, S, AD}),
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
            scope=in_departments("d1"),
        ),
        **{
            f"workflows.{model}": AdminSpec(
                lambda w, model=model: o(w)[model],
                view=ALL_CASE_READERS,
                add=CLOSED,
                change=CLOSED,
                delete=CLOSED,
                scope=in_departments("d1"),
            )
            for model in ("extension", "specialprocedure", "supervision")
        },
        "workflows.dataaccess": AdminSpec(
            lambda w: o(w)["data_access"],
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
            scope=in_departments("d1", "d2"),  # the owner's and the consumer's staff
        ),
        "registers.record": AdminSpec(
            lambda w: o(w)["record"],
            view=frozenset({C, S, AD}),
            add=frozenset({AD}),
            change=frozenset({AD}),
            delete=frozenset({AD}),
            scope=in_departments("d1"),
        ),
        "registers.correctionrequest": AdminSpec(
            lambda w: o(w)["register_correction"],
            view=frozenset({C, S, AD}),
            add=CLOSED,
            change=frozenset({C, S, AD}),
            scope=in_departments("d1"),
        ),
        "workflows.rating": AdminSpec(
            lambda w: o(w)["rating"],
            view=frozenset({S, AD}),
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
            scope=in_departments("d1"),
        ),
        "workflows.rectification": AdminSpec(
            lambda w: o(w)["rectification"],
            view=frozenset({S, AD}),
            add=CLOSED,
            change=frozenset({S}),
            delete=CLOSED,
            scope=in_departments("d1"),
        ),
        "complaints.article": AdminSpec(
            lambda w: o(w)["article"], view=ALL4, add=frozenset({AD}), change=frozenset({AD})
        ),
        "complaints.assistantquestion": AdminSpec(
            lambda w: o(w)["question_reporter"],
            view=frozenset({S, D, AD}),
            add=CLOSED,
            scope=in_departments("d1", "d2", "desk"),  # asked in 杭州市: its staff read it
        ),
        "complaints.pinnedanswer": AdminSpec(
            lambda w: o(w)["pinned"],
            view=frozenset({D, AD}),
            add=frozenset({D, AD}),
            change=frozenset({D, AD}),
        ),
        "complaints.open311key": AdminSpec(
            lambda w: o(w)["open311_key"], view=frozenset({AD}), delete=CLOSED
        ),
        "complaints.ticket": AdminSpec(
            lambda w: o(w)["ticket_private"],
            view=ALL4,
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
            scope=lambda w: in_departments("d1", "desk")(w),
        ),
        "complaints.dispatchrule": AdminSpec(
            lambda w: o(w)["dispatch_rule"],
            view=frozenset({D, AD}),
            add=frozenset({D, AD}),
            change=frozenset({D, AD}),
        ),
        "complaints.reporteraccess": AdminSpec(
            lambda w: o(w)["reporter_access"],
            view=frozenset({S}),
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
            scope=lambda w: frozenset({DESK_SUPERVISOR}),
        ),
        "scoreboard.weightset": AdminSpec(
            lambda w: o(w)["weight_set"], view=frozenset({AD}), change=CLOSED, delete=CLOSED
        ),
        "scoreboard.snapshot": AdminSpec(
            lambda w: o(w)["snapshot"],
            view=frozenset({S, AD}),
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
        ),
        "scoreboard.score": AdminSpec(
            lambda w: o(w)["score"],
            view=frozenset({S, AD}),
            add=CLOSED,
            change=CLOSED,
            delete=CLOSED,
        ),
    }


def _may(perm: frozenset[str] | str, role: str) -> bool:
    if perm == CLOSED:
        return False
    if role == SUPERUSER:
        return True
    return _role_name(role) in perm


def _admin_rule(spec: AdminSpec, w: World, kind: str) -> Rule:
    """The answer of one admin view of the spec's object (or of the model, for ``changelist``
    and ``add``)."""
    scope = spec.scope(w) if spec.scope else None

    def in_scope(role: str) -> bool:
        return role == SUPERUSER or scope is None or role in scope

    def expect(role: str) -> Expect:
        if role == ANONYMOUS or role in CITIZENS:
            return ADMIN_LOGIN
        changer = _may(spec.change, role) and spec.objects_change
        viewer = _may(spec.view, role) or changer
        if kind == "changelist":
            return 200 if viewer else 403
        if kind == "add":
            return 200 if _may(spec.add, role) else 403
        if kind == "change":
            if not viewer:
                return 403
            return 200 if in_scope(role) else ADMIN_MISSING
        if kind == "history":  # admin looks the object up before it checks the permission
            if not in_scope(role):
                return ADMIN_MISSING
            return 200 if viewer else 403
        if kind == "delete":
            if not _may(spec.delete, role):
                return 403
            return 200 if in_scope(role) else ADMIN_MISSING
        if kind == "post-add":
            return 403
        if kind == "post-change":
            if not _may(spec.change, role):
                return 403
            if not in_scope(role):
                return ADMIN_MISSING  # admin finds no object, then asks about the model
            return 200 if spec.objects_change else 403
        if kind == "post-delete":
            if not _may(spec.delete, role):
                return 403
            return ADMIN_MISSING
        raise AssertionError(kind)

    return expect


def _refused_admin(spec: AdminSpec, w: World, kind: str) -> frozenset[str]:
    """The roles an admin write must refuse: anyone without the permission, or with it but
    outside the object's scope."""
    scope = spec.scope(w) if spec.scope else None
    perm = {"post-add": spec.add, "post-change": spec.change, "post-delete": spec.delete}[kind]
    refused = set()
    for role in ROLES:
        if role == SUPERUSER:
            continue
        outside = kind != "post-add" and scope is not None and role not in scope
        fixed = kind == "post-change" and not spec.objects_change
        if role == ANONYMOUS or role in CITIZENS or not _may(perm, role) or outside or fixed:
            refused.add(role)
    return frozenset(refused)


def routes_admin() -> dict[str, Route]:
    specs = admin_specs()
    routes: dict[str, Route] = {}
    registered = {m._meta.label_lower: m for m in admin.site._registry}
    assert set(registered) == set(specs), (
        "admin models without a row in the matrix: "
        f"{sorted(set(registered) - set(specs))}; rows without a model: "
        f"{sorted(set(specs) - set(registered))}"
    )
    for label, spec in specs.items():
        app, model = label.split(".")
        base = f"admin/{app}/{model}/"

        def reads(kind: str, suffix: str, spec=spec, app=app, model=model):
            def build(w: World) -> list[Read]:
                url = f"/admin/{app}/{model}/"
                if kind not in ("changelist", "add"):
                    obj = spec.obj(w)
                    url += f"{obj.pk}/"
                return [Read(kind, url + suffix, _admin_rule(spec, w, kind))]

            return build

        def writes(kind: str, spec=spec, app=app, model=model):
            def build(w: World) -> list[Write]:
                obj = spec.obj(w)
                url = {
                    "post-add": f"/admin/{app}/{model}/add/",
                    "post-change": f"/admin/{app}/{model}/{obj.pk}/change/",
                    "post-delete": f"/admin/{app}/{model}/{obj.pk}/delete/",
                }[kind]
                data = {"post": "yes"} if kind == "post-delete" else spec.change_data(w, obj)
                return [
                    Write(
                        kind,
                        "post",
                        url,
                        _refused_admin(spec, w, kind),
                        _admin_rule(spec, w, kind),
                        data,
                    )
                ]

            return build

        def action(spec=spec, app=app, model=model):
            def build(w: World) -> list[Write]:
                obj = spec.obj(w)
                return [
                    Write(
                        "delete_selected",
                        "post",
                        f"/admin/{app}/{model}/",
                        _refused_admin(spec, w, "post-delete"),
                        lambda role: (
                            ADMIN_LOGIN
                            if role == ANONYMOUS or role in CITIZENS
                            else frozenset({200, 302, 403})
                        ),
                        {
                            "action": "delete_selected",
                            "_selected_action": str(obj.pk),
                            "post": "yes",
                        },
                    )
                ]

            return build

        routes[base] = Route(reads("changelist", ""), action())
        routes[base + "add/"] = Route(reads("add", "add/"), writes("post-add"))
        routes[base + "<path:object_id>/history/"] = Route(reads("history", "history/"))
        routes[base + "<path:object_id>/delete/"] = Route(
            reads("delete", "delete/"), writes("post-delete")
        )
        routes[base + "<path:object_id>/change/"] = Route(
            reads("change", "change/"), writes("post-change")
        )
        if label == "workflows.workflowdefinition":
            routes[base + "<path:object_id>/review/"] = Route(_review_reads, _review_writes)
        # the bare object URL redirects staff to its change page
        routes[base + "<path:object_id>/"] = Route(
            lambda w, spec=spec, app=app, model=model: [
                Read(
                    "object",
                    f"/admin/{app}/{model}/{spec.obj(w).pk}/",
                    lambda role: ADMIN_LOGIN if role == ANONYMOUS or role in CITIZENS else REDIRECT,
                )
            ]
        )

    def staff_only(status: Expect) -> Rule:
        return lambda role: ADMIN_LOGIN if role == ANONYMOUS or role in CITIZENS else status

    def app_rule(app_label: str) -> Rule:
        def expect(role: str) -> Expect:
            if role == ANONYMOUS or role in CITIZENS:
                return ADMIN_LOGIN
            for label, spec in specs.items():
                if label.split(".")[0] != app_label:
                    continue
                if any(_may(p, role) for p in (spec.view, spec.add, spec.change, spec.delete)):
                    return 200
            return 404

        return expect

    apps = sorted({label.split(".")[0] for label in specs})
    routes.update(
        {
            "admin/": Route(one("/admin/", staff_only(200))),
            "admin/login/": Route(
                one("/admin/login/", lambda r: 200 if r == ANONYMOUS or r in CITIZENS else REDIRECT)
            ),
            "admin/logout/": Route(
                one(
                    "/admin/logout/",
                    lambda r: REDIRECT if r == ANONYMOUS or r in CITIZENS else 405,
                )
            ),
            "admin/password_change/": Route(one("/admin/password_change/", staff_only(200))),
            "admin/password_change/done/": Route(
                one("/admin/password_change/done/", staff_only(200))
            ),
            "admin/autocomplete/": Route(
                one(
                    "/admin/autocomplete/?app_label=complaints&model_name=article"
                    "&field_name=department&term=",
                    staff_only(200),
                )
            ),
            "admin/jsi18n/": Route(one("/admin/jsi18n/", staff_only(200))),
            "admin/r/<path:content_type_id>/<path:object_id>/": Route(
                lambda w: [
                    Read(
                        "the report",
                        f"/admin/r/{ContentType.objects.get_for_model(w.objects['report']).pk}/"
                        f"{w.objects['report'].pk}/",
                        staff_only(REDIRECT),
                    )
                ]
            ),
            "admin/accounts/user/<id>/password/": Route(
                lambda w: [
                    Read(
                        "A's password",
                        f"/admin/accounts/user/{w.users[CITIZEN_A].pk}/password/",
                        _password_rule,
                    )
                ],
                lambda w: [
                    Write(
                        "set A's password",
                        "post",
                        f"/admin/accounts/user/{w.users[CITIZEN_A].pk}/password/",
                        frozenset(ROLES) - {SUPERUSER},
                        _password_rule,
                        {"password1": "Xx-123456789", "password2": "Xx-123456789"},
                    )
                ],
            ),
            "admin/(?P<app_label>" + "|".join(_admin_app_order()) + ")/$": Route(
                lambda w: [Read(app, f"/admin/{app}/", app_rule(app)) for app in apps]
            ),
            "admin/(?P<url>.*)$": Route(one("/admin/no-such-page/", staff_only(404))),
        }
    )
    return routes


REVIEWERS = frozenset({staff_role("d1", AD), staff_role("d2", AD)})


def _review_rule(role: str) -> Expect:
    """A shared version's review page: for the administrators of the departments it binds."""
    if role == ANONYMOUS or role in CITIZENS:
        return ADMIN_LOGIN
    if role in REVIEWERS:
        return 200
    if role == SUPERUSER or role in of("d1") | of("d2"):
        return 403  # sees the version, administers none of its departments
    return 404


def _review_reads(w: World) -> list[Read]:
    return [
        Read(
            "pending version",
            f"/admin/workflows/workflowdefinition/{w.objects['pending_wf'].pk}/review/",
            _review_rule,
        )
    ]


def _review_writes(w: World) -> list[Write]:
    return [
        Write(
            "approve for d1",
            "post",
            f"/admin/workflows/workflowdefinition/{w.objects['pending_wf'].pk}/review/",
            frozenset(ROLES) - REVIEWERS - {SUPERUSER},
            _review_rule,
            {"department": str(w.departments["d1"].pk), "decision": "approved", "note": "同意"},
        )
    ]


def _password_rule(role: str) -> Expect:
    if role == ANONYMOUS or role in CITIZENS:
        return ADMIN_LOGIN
    return 200 if role == SUPERUSER else 403


def _admin_app_order() -> list[str]:
    """The app labels in the order admin's app_index pattern lists them."""
    seen: list[str] = []
    for model in admin.site._registry:
        label = model._meta.app_label
        if label not in seen:
            seen.append(label)
    return seen


# ---------------------------------------------------------------- the whole table


def all_routes() -> dict[str, Route]:
    return {**routes_pages(), **routes_api(), **routes_open311(), **routes_admin()}


def url_patterns() -> list[str]:
    """Every pattern of the root URLconf, written as ``ResolverMatch.route`` writes it."""
    found: list[str] = []

    def walk(resolver, prefix: str) -> None:
        for p in resolver.url_patterns:
            part = str(p.pattern)
            if part.startswith("^"):
                part = part[1:]
            if isinstance(p, URLResolver):
                walk(p, prefix + part)
            elif isinstance(p, URLPattern):
                found.append(prefix + part)

    walk(get_resolver(), "")
    return found


@dataclass
class Summary:
    """Figures the session prints at the end (see ``conftest.pytest_terminal_summary``)."""

    patterns: int = 0
    roles: int = len(ROLES)
    objects: set = field(default_factory=set)
    cells: int = 0
    requests: int = 0
    leaks: list = field(default_factory=list)
    known_leaks: list = field(default_factory=list)
    wrong_answers: list = field(default_factory=list)
    wrong_writes: list = field(default_factory=list)
    writes: int = 0
    public_urls: int = 0
    public_requests: int = 0
    public_leaks: list = field(default_factory=list)


SUMMARY = Summary()
