"""Public pages kept whole for visitors without a session, valid for the versions they show.

A visitor who is not logged in sees the same page as any other such visitor, but for the form
token (CSRF) in its forms, their language, elder mode and the address asked. So the first one's
page is kept (``PublicPageCacheMiddleware``) and given to the next ones with their own token put
in: no view, no query, no template runs for them, and the address is not even resolved again
(``_resolve`` remembers what each address resolves to, per process).

Which pages, and what each depends on, is the setting ``PUBLIC_PAGES``: a URL name (as
``resolver_match.view_name``) and the dotted paths of its *version* functions, imported when the
middleware starts (a misspelt path fails at once, and a module that connects what bumps its
versions does so before any request). A version function takes the request and the view's
arguments and answers:

- ``None``: do not use the cache for this request (e.g. inside a transaction that changed what
  the page shows);
- or a list of JSON-able values that change whenever what the page shows changes (a generation
  bumped by every write, the id of the snapshot shown...): part of the key, so an entry of an
  older version is never read again and expires on its own (``PAGE_SECONDS``).

A version function may raise ``Http404``: the request then goes on as if the page were not
cached, to the view's own answer. Each costs a request to the cache, or one cheap query: what
checking a page's freshness costs.

Only what is the same for every visitor is kept: answers to ``GET``/``HEAD`` without a session
cookie, a messages cookie or an ``Authorization`` header; with status 200, no cookie set by the
view, no session written, no ``Cache-Control: private/no-store``, and no form token taken for
this visitor by anything but the templates' ``{% csrf_token %}`` (which renders a marker while
a kept page is made, replaced by each visitor's token). The key holds the URL name, scheme,
host, path and query string, language, elder mode, the ``Accept`` header (the API's format) and
the versions.

With the default local-memory cache each process keeps its own pages; with several processes
``CACHE_URL`` names a shared cache (as for the catalog's search answers, whose generation most
pages follow).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from functools import cache as memoize
from functools import lru_cache

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.signals import setting_changed
from django.http import Http404, HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.urls import Resolver404, ResolverMatch, get_resolver, get_urlconf
from django.utils import translation
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

PAGE_SECONDS = 600
# Raised whenever what an entry holds changes shape, so that no process reads another's.
SCHEMA = 2
METHODS = ("GET", "HEAD")
PRIVATE = ("private", "no-store", "no-cache")
# Addresses whose resolution each process remembers (``_resolve``).
RESOLVED = 4096


@memoize
def csrf_marker() -> str:
    """What ``{% csrf_token %}`` renders while a page to keep is made: a marker no visitor can
    type or guess, derived from the secret key."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"csrf", hashlib.sha256)
    return "zhbslot" + digest.hexdigest()[:40]


def making_page(request) -> bool:
    """Whether the page answering ``request`` is being made to be kept (markers rendered)."""
    return getattr(request, "_page_cache_making", False)


def template_context(request) -> dict:
    """For the site's context processor: the form token's marker, while a page to keep is
    made."""
    if not making_page(request):
        return {}
    return {"csrf_token": csrf_marker()}


@memoize
def _sources() -> dict[str, tuple]:
    pages = getattr(settings, "PUBLIC_PAGES", {}) or {}
    return {name: tuple(import_string(path) for path in paths) for name, paths in pages.items()}


@lru_cache(maxsize=RESOLVED)
def _resolve(urlconf: str | None, language: str, path: str) -> ResolverMatch | None:
    """What ``path`` resolves to (None: nothing), as the request handler resolves it. Django's
    resolver tries the patterns one by one, and includes in turn: for an API address, a good
    part of a kept page's time."""
    try:
        return get_resolver(urlconf).resolve(path)
    except Resolver404:
        return None


def _settings_changed(setting, **kwargs) -> None:
    if setting in ("PUBLIC_PAGES", "SECRET_KEY", "ROOT_URLCONF"):
        _sources.cache_clear()
        csrf_marker.cache_clear()
        _resolve.cache_clear()


setting_changed.connect(_settings_changed, dispatch_uid="page-cache-settings")


def anonymous(request) -> bool:
    """A request any visitor without an account could have sent, answered the same to all."""
    if request.method not in METHODS:
        return False
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies:
        return False
    return "HTTP_AUTHORIZATION" not in request.META


def _key(request, view_name: str, parts: list) -> str:
    text = json.dumps(
        [
            view_name,
            request.scheme,
            request.get_host(),
            request.get_full_path(),
            translation.get_language(),
            bool(getattr(request, "elder_mode", False)),
            request.META.get("HTTP_ACCEPT", ""),
            parts,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return f"page:{SCHEMA}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


_CHAR_INDEX = {char: i for i, char in enumerate(CSRF_ALLOWED_CHARS)}


def _random_string(length: int) -> str:
    """``length`` characters drawn uniformly from ``CSRF_ALLOWED_CHARS`` with the system's
    cryptographic source, in one draw (Django's ``get_random_string`` makes a system call for
    each character: for a visitor's first page, 64 of them)."""
    size = len(CSRF_ALLOWED_CHARS)
    below = 256 - 256 % size  # bytes at or above this would favour the first characters
    found: list[str] = []
    while len(found) < length:
        found += [CSRF_ALLOWED_CHARS[b % size] for b in secrets.token_bytes(length) if b < below]
    return "".join(found[:length])


def csrf_token(request) -> str:
    """What ``django.middleware.csrf.get_token`` answers, the same way (the visitor's secret,
    made and flagged for the cookie when they have none, masked anew) with the randomness drawn
    at once."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = _random_string(CSRF_SECRET_LENGTH)
        request.META["CSRF_COOKIE"] = secret
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = _random_string(CSRF_SECRET_LENGTH)
    chars, index = CSRF_ALLOWED_CHARS, _CHAR_INDEX
    size = len(chars)
    cipher = [chars[(index[x] + index[y]) % size] for x, y in zip(secret, mask, strict=True)]
    return mask + "".join(cipher)


def _fill(request, content: bytes) -> bytes:
    """The visitor's own form token put in."""
    marker = csrf_marker().encode()
    if marker in content:
        content = content.replace(marker, csrf_token(request).encode())
    return content


def _storable(request, response) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if any(word in response.get("Cache-Control", "") for word in PRIVATE):
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return False  # a token for this visitor was taken other than through the marker
    session = getattr(request, "session", None)
    return not (session is not None and session.modified)


class PublicPageCacheMiddleware:
    """Answer the pages of ``PUBLIC_PAGES`` from the cache for visitors without a session (see
    the module's documentation). Last of the middleware: the others run as for any page, and
    a kept page is answered before the request handler resolves the address."""

    def __init__(self, get_response):
        self.get_response = get_response
        _sources()

    def __call__(self, request):
        key = self._lookup(request)
        if isinstance(key, HttpResponse):
            return key  # the kept answer
        if key is not None:
            request._page_cache_making = True
        response = self.get_response(request)
        if key is None or not making_page(request):
            return response
        request._page_cache_making = False
        if response.streaming:
            return response
        if _storable(request, response):
            entry = {
                "content": response.content,
                "headers": [(k, v) for k, v in response.headers.items() if k != "Set-Cookie"],
            }
            try:
                cache.set(key, entry, PAGE_SECONDS)
            except Exception:
                logger.warning("page cache unavailable; page not kept", exc_info=True)
        response.content = _fill(request, response.content)
        return response

    def _lookup(self, request) -> HttpResponse | str | None:
        """The kept answer; else the key under which to keep the one about to be made; else
        None (not a page to keep, or not for this request)."""
        if not anonymous(request):
            return None
        urlconf = getattr(request, "urlconf", None) or get_urlconf()
        match = _resolve(urlconf, translation.get_language(), request.path_info)
        if match is None:
            return None
        sources = _sources().get(match.view_name)
        if not sources:
            return None
        parts: list = []
        for source in sources:
            try:
                found = source(request, *match.args, **match.kwargs)
            except Http404:
                return None  # the view gives its own answer
            if found is None:
                return None
            parts.append(found)
        key = _key(request, match.view_name, parts)
        try:
            entry = cache.get(key)
        except Exception:
            logger.warning("page cache unavailable; page made", exc_info=True)
            entry = None
        if entry is None:
            return key
        request.resolver_match = match
        response = HttpResponse(_fill(request, entry["content"]))
        for name, value in entry["headers"]:
            response.headers[name] = value
        return response
