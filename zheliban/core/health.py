"""Liveness of the pieces a web node depends on."""

from __future__ import annotations

import time

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection

_BROKER_MEMO: dict[str, tuple[float, str]] = {}
# Short enough that /healthz reports a broker outage within a second of it.
BROKER_MEMO_SECONDS = 1.0


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return "unreachable"
    return "ok"


def broker_status(*, use_memo: bool = True) -> str:
    """``ok``, ``unreachable``, or ``eager`` when tasks run in-process without a broker.

    The answer is kept for a few seconds per process, so a load balancer polling every node
    does not open a broker connection per poll.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    url = current_app.conf.broker_url
    now = time.monotonic()
    if use_memo and url in _BROKER_MEMO and now - _BROKER_MEMO[url][0] < BROKER_MEMO_SECONDS:
        return _BROKER_MEMO[url][1]
    try:
        with current_app.connection_for_write(
            connect_timeout=settings.HEALTHZ_BROKER_TIMEOUT
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=settings.HEALTHZ_BROKER_TIMEOUT)
        status = "ok"
    except Exception:
        status = "unreachable"
    _BROKER_MEMO[url] = (now, status)
    return status


def cache_status() -> str:
    """``ok`` or ``unreachable`` for a cache server; ``local`` for a per-process memory cache."""
    ping = getattr(cache, "ping", None)
    if ping is None:
        return "local"
    return "ok" if ping() else "unreachable"
