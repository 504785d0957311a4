"""The API's query parameters are its schema's: a parameter no operation documents is refused.

A client that misspells a filter (``updated_sinse``) or sends one an endpoint does not have must
learn it, not get an unfiltered answer. The schema the API publishes (drf-spectacular, generated
once per process, on the first API request) names each operation's query parameters; this
middleware answers 400 naming the others, before the view runs, and changes nothing.
"""

from __future__ import annotations

import threading

from django.http import JsonResponse
from django.utils.translation import gettext as _

from .api import error_payload
from .errors import CoreErrorCode

_lock = threading.Lock()
_allowed: dict | None = None


def _build() -> dict:
    """For every view function the schema covers, the query parameters of each method."""
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    allowed: dict = {}
    endpoints: list = list(generator.endpoints or [])
    for path, _regex, method, callback in endpoints:
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        allowed.setdefault(callback, {})[method.upper()] = frozenset(names)
    return allowed


def allowed_query_parameters(view_func, method: str) -> frozenset[str] | None:
    """The query parameters the schema documents for this view and method; None for a view the
    schema does not describe (the pages, Open311, the schema itself)."""
    global _allowed
    if _allowed is None:
        with _lock:
            if _allowed is None:
                _allowed = _build()
    by_method = _allowed.get(view_func)
    if by_method is None:
        return None
    return by_method.get(method.upper())


class StrictQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.path.startswith("/api/v1/") or not request.GET:
            return None
        allowed = allowed_query_parameters(view_func, request.method)
        if allowed is None:
            return None
        unknown = sorted(set(request.GET.keys()) - allowed)
        if not unknown:
            return None
        message = _("Unknown query parameters: %(names)s. This operation takes: %(allowed)s.") % {
            "names": ", ".join(unknown),
            "allowed": ", ".join(sorted(allowed)) or "—",
        }
        return JsonResponse(
            error_payload(
                code=CoreErrorCode.UNKNOWN_PARAMETER,
                message=message,
                fields={name: [_("Not a parameter of this operation.")] for name in unknown},
            ),
            status=400,
        )
