"""The seeded world, built once for the package inside a transaction that is rolled back at the
end; each test runs in a savepoint of it (pytest-django's ``db``), and each request in one more,
so what one request writes is never seen by the next.

``call(role, method, url, ...)`` makes one request as a role (a fresh client with that role's
session, exceptions turned into 500 answers) and returns the response with its body as text;
``fingerprint()`` hashes every row of every table but the sessions, to prove a refused write
changed nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client, override_settings

from .matrix import SUMMARY
from .world import ANONYMOUS, ROLES, World, build_world

VOLATILE_TABLES = {"django_session"}


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    overrides = override_settings(
        DISPATCH_MODEL_DIR=str(tmp_path_factory.mktemp("no-models")), DISPATCH_RULES_PATH=None
    )
    overrides.enable()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
            built.sessions = {}
            for role in ROLES:
                if role == ANONYMOUS:
                    continue
                client = Client()
                client.force_login(built.users[role])
                built.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            _failed_login(built)
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            overrides.disable()
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
    overrides.disable()


def _failed_login(world: World) -> None:
    """One wrong password, so that django-axes has an attempt and a failure to show in admin."""
    Client().post("/accounts/login/", {"username": "citizen-nobody", "password": "wrong"})


@dataclass
class Answer:
    status_code: int
    headers: dict
    text: str  # the body, plus its JSON re-encoded and its entities unescaped, to search
    raw: str  # the body as sent

    def __repr__(self) -> str:
        return f"<{self.status_code}>"


def body_text(response) -> tuple[str, str]:
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    text = body = raw.decode("utf-8", errors="replace")
    kind = response.headers.get("Content-Type", "")
    if "json" in kind:
        with contextlib.suppress(ValueError):
            text += json.dumps(json.loads(text), ensure_ascii=False)
    return text + html.unescape(text), body


_CLIENTS: dict[str, Client] = {}


def _client(world: World, role: str) -> Client:
    """The role's client (one per role: building a client's handler loads every middleware),
    holding only the role's session cookie."""
    client = _CLIENTS.get(role)
    if client is None:
        client = _CLIENTS[role] = Client(
            raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    client.cookies.clear()
    if role != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


@pytest.fixture
def call(world, db):
    """One request as a role inside a savepoint rolled back after it. With ``baseline`` (a
    ``fingerprint()``) it also answers whether the request left any row changed: the
    connection's change counter (``_change_counter``) tells when nothing was written, and the
    rows are hashed only when it moved (a session saved, say)."""

    def request(role: str, method: str, url: str, *, data=None, json_body=False, baseline=None):
        client = _client(world, role)
        sid = transaction.savepoint()
        counter = _change_counter()
        try:
            if json_body:
                response = getattr(client, method)(
                    url, data=json.dumps(data or {}), content_type="application/json"
                )
            elif method == "get":
                response = client.get(url)
            else:
                response = getattr(client, method)(url, data=data or {})
            answer = Answer(response.status_code, dict(response.headers), *body_text(response))
            dirty = None
            if baseline is not None:
                unchanged = counter is not None and _change_counter() == counter
                dirty = not unchanged and fingerprint() != baseline
        finally:
            transaction.savepoint_rollback(sid)
        SUMMARY.requests += 1
        return (answer, dirty) if baseline is not None else answer

    return request


def fingerprint() -> str:
    """A hash of every row of every table but the sessions."""
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in VOLATILE_TABLES:
                continue
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - introspected names
            rows = sorted(repr(row) for row in cursor.fetchall())
            digest.update(table.encode())
            digest.update("\n".join(rows).encode())
    return digest.hexdigest()


def _change_counter() -> int | None:
    """A number that moves whenever a row is written in this connection: SQLite's total changes,
    PostgreSQL's row counts of the current transaction (savepoints rolled back included)."""
    if connection.vendor == "sqlite":
        return getattr(connection.connection, "total_changes", None)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                "FROM pg_stat_xact_user_tables WHERE NOT (relname = ANY(%s))",
                [sorted(VOLATILE_TABLES)],
            )
            return int(cursor.fetchone()[0])
    return None


def pytest_terminal_summary(terminalreporter):
    s = SUMMARY
    if not s.requests and not s.public_requests:
        return
    write = terminalreporter.write_line
    terminalreporter.section("security matrix")
    write(
        f"matrix: {s.patterns} URL patterns filled with objects into {len(s.objects)} URLs, "
        f"× {s.roles} roles = {s.cells} cells; {s.requests} requests "
        f"({s.writes} refused writes tried)"
    )
    write(
        f"leaks found: {len(s.leaks)} new, {len(s.known_leaks)} known (KNOWN_LEAKS); "
        f"wrong answers: {len(s.wrong_answers)}; wrong writes: {len(s.wrong_writes)}"
    )
    if s.public_requests:
        write(
            f"public sweep: {s.public_urls} public URLs, {s.public_requests} requests, "
            f"{len(s.public_leaks)} leaks"
        )
