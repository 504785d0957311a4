"""A Redis cache that fails open: when its server is down, reads miss and writes are dropped.

Everything the project keeps in the cache (search answers, rendered pages, browsing counts, API
rate-limit histories, the catalog's and knowledge base's generations) can be computed again, so an
outage of the cache's server must cost speed, never a page. Each failure is logged and counted;
after one, the cache is skipped for ``CACHE_RETRY_SECONDS`` so that a server that stopped
answering does not make every request wait for its timeout.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

CACHE_RETRY_SECONDS = 1.0
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class _Outage:
    """Per process: failures so far and until when the server is not asked again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures = 0
        self.skip_until = 0.0

    def skipping(self) -> bool:
        return time.monotonic() < self.skip_until

    def failed(self, error: Exception, operation: str) -> None:
        with self.lock:
            self.failures += 1
            first = self.skip_until == 0.0 or time.monotonic() >= self.skip_until + 60
            self.skip_until = time.monotonic() + CACHE_RETRY_SECONDS
        log = logger.warning if first else logger.info
        log(
            "cache unavailable, %s skipped (%s failures so far): %s",
            operation,
            self.failures,
            error,
        )

    def recovered(self) -> None:
        if self.skip_until:
            with self.lock:
                self.skip_until = 0.0


OUTAGE = _Outage()


def _fail_open(fallback):
    """Run the cache operation; on an outage answer ``fallback(*args, **kwargs)`` instead."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if OUTAGE.skipping():
                return fallback(*args, **kwargs)
            try:
                result = method(self, *args, **kwargs)
            except OUTAGE_ERRORS as error:
                OUTAGE.failed(error, method.__name__)
                return fallback(*args, **kwargs)
            OUTAGE.recovered()
            return result

        return wrapper

    return decorate


def _none(*args, **kwargs):
    return None


def _false(*args, **kwargs):
    return False


def _default(key, default=None, *args, **kwargs):
    return default


def _nothing(*args, **kwargs):
    return {}


def _all_failed(data, *args, **kwargs):
    return list(data)


def _missing(key, delta=1, *args, **kwargs):
    # As for a key that is not there: callers that bump a counter start it again.
    raise ValueError(f"Key '{key}' not found (the cache is unavailable).")


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache, answering as an empty cache while its server is unreachable."""

    add = _fail_open(_false)(RedisCache.add)
    get = _fail_open(_default)(RedisCache.get)
    set = _fail_open(_none)(RedisCache.set)
    touch = _fail_open(_false)(RedisCache.touch)
    delete = _fail_open(_false)(RedisCache.delete)
    get_many = _fail_open(_nothing)(RedisCache.get_many)
    has_key = _fail_open(_false)(RedisCache.has_key)
    incr = _fail_open(_missing)(RedisCache.incr)
    set_many = _fail_open(_all_failed)(RedisCache.set_many)
    delete_many = _fail_open(_none)(RedisCache.delete_many)
    clear = _fail_open(_false)(RedisCache.clear)

    def ping(self) -> bool:
        """Whether the server answers now (for the health check; ignores the skip window)."""
        try:
            client = self._cache.get_client(write=True)  # type: ignore[attr-defined]
            return bool(client.ping())
        except OUTAGE_ERRORS:
            return False
