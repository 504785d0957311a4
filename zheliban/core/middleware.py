import functools
import json
import xml.etree.ElementTree as ET

from csp import constants as csp_constants
from csp import middleware as csp_middleware
from csp.utils import build_policy as csp_build_policy
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.signals import setting_changed
from django.http import HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.template import engines
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from zheliban.core.errors import CoreErrorCode

from .api import error_payload
from .text import (
    CONTROL_CHARACTER_CODE,
    CONTROL_CHARACTER_MESSAGE,
    fields_with_control_characters,
    has_control_character,
    json_fields_with_control_characters,
)

ELDER_COOKIE = "zhb_elder"


class LanguageMiddleware:
    """Chinese unless the visitor chose otherwise.

    Pages follow the language cookie set by the switcher and fall back to Chinese, whatever the
    browser asks for; API and Open311 clients may also ask with ``Accept-Language``.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
            if request.path.startswith(("/api/", "/open311/")):
                language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        if not request.path.startswith(("/api/", "/open311/", "/static/")):
            response.headers["Vary"] = ", ".join(
                filter(None, [response.headers.get("Vary"), "Cookie"])
            )
        return response


class ElderModeMiddleware:
    """Elder mode (长辈版): larger text and controls, remembered in a cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.elder_mode = request.COOKIES.get(ELDER_COOKIE) == "1"
        return self.get_response(request)


_TOO_LARGE = _("The request is too large: send a shorter form or a smaller file.")
_INCOMPLETE = _("The request stopped arriving before it was complete: please send it again.")
_BODY_TOO_LARGE = _("The request is larger than %(size)s: send smaller or fewer files.")
_UNREADABLE_FORM = _("The multipart form cannot be read.")
_TOO_DEEP = _("The JSON body is nested too deeply.")
_REFUSED_TITLE = _("The request cannot be accepted")

# The page for a refused request: the site's layout around the message.
_REFUSED_PAGE = """{% extends "base.html" %}
{% block title %}{{ title }} · {{ SITE_NAME }}{% endblock %}
{% block content %}
<h1>{{ title }}</h1>
<p role="alert">{{ message }}</p>
<p><a href="{% url 'home' %}">{{ home }}</a></p>
{% endblock %}"""


class RequestSizeMiddleware:
    """Refuse with 413, without reading a byte of it, a request whose ``Content-Length`` is
    above ``REQUEST_BODY_MAX_BYTES``, in the shape of the surface asked (see ``_refusal``). A
    body sent without a length (chunked) is never read by Django at all."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.REQUEST_BODY_MAX_BYTES
        if length <= limit:
            return self.get_response(request)
        message = _BODY_TOO_LARGE % {"size": filesizeformat(limit)}
        return _refusal(request, code=CoreErrorCode.REQUEST_TOO_LARGE, message=message, status=413)


class ControlCharacterMiddleware:
    """Refuse with 400, before any view runs, a request whose text carries a control character
    (``zheliban.core.text.CONTROL_CHARACTER``): in its path, its query string, a form or
    multipart body (field names and values; file contents are the uploads' checks' business) or
    a JSON body (keys and strings at any depth, ``\\u0000`` escapes included). Nothing is
    written. The answer takes the shape of the surface asked: the API's error object under
    ``/api/``, Open311's error array under ``/open311/`` (``.xml`` or ``.json`` by the address),
    a page elsewhere.

    Reading the body here means a body that cannot be read (too large: 413; too many fields, a
    broken multipart form, JSON nested too deeply: 400; stopped arriving: 408) is refused here
    too, in the same shapes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            fields = self._fields_with_control_characters(request)
        except RequestDataTooBig:
            return _refusal(
                request, code=CoreErrorCode.REQUEST_TOO_LARGE, message=_TOO_LARGE, status=413
            )
        except (TooManyFieldsSent, TooManyFilesSent):
            return _refusal(request, code=CoreErrorCode.REQUEST_TOO_LARGE, message=_TOO_LARGE)
        except UnreadablePostError:
            # The client stopped sending mid-body (the web server's client timeout) or left.
            return _refusal(
                request, code=CoreErrorCode.REQUEST_INCOMPLETE, message=_INCOMPLETE, status=408
            )
        except MultiPartParserError:
            return _refusal(request, code=CoreErrorCode.FORM_UNREADABLE, message=_UNREADABLE_FORM)
        except RecursionError:
            return _refusal(request, code=CoreErrorCode.JSON_TOO_DEEP, message=_TOO_DEEP)
        if fields is None:
            return self.get_response(request)
        message = str(CONTROL_CHARACTER_MESSAGE)
        return _refusal(
            request,
            code=CONTROL_CHARACTER_CODE,
            message=message,
            fields={name: [message] for name in fields if name} or None,
        )

    @staticmethod
    def _fields_with_control_characters(request) -> list[str] | None:
        """The offending field names (possibly none nameable), or None when all is clean."""
        if has_control_character(request.path_info):
            return []
        found = fields_with_control_characters(request.GET.lists())
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            found += fields_with_control_characters(request.POST.lists())
        elif request.content_type == "application/json" or request.content_type.endswith("+json"):
            try:
                data = json.loads(request.body)
            except ValueError:
                data = None  # not JSON: the parser answers that
            found += json_fields_with_control_characters(data)
        return found if found else None


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refusal(request, *, code: str, message, fields=None, status: int = 400) -> HttpResponse:
    """A refusal before any view ran, in the shape of the surface asked: the API's error object
    under ``/api/``, Open311's error array under ``/open311/``, a page elsewhere."""
    message = str(message)
    path = request.path_info
    if path.startswith("/api/"):
        payload = error_payload(code=code, message=message, fields=fields)
        return JsonResponse(payload, status=status)
    if path.startswith("/open311/"):
        return _open311_error(path, message, status=status)
    page = engines["django"].from_string(_REFUSED_PAGE)
    context = {"title": _REFUSED_TITLE, "message": message, "home": _("Back to the home page")}
    return HttpResponse(page.render(context, request), status=status)


def _open311_error(path: str, message: str, *, status: int = 400) -> HttpResponse:
    """GeoReport v2's error array, in the format the address's extension names (JSON unless
    it names XML)."""
    last = path.rsplit("/", 1)[-1]
    if last.rsplit(".", 1)[-1] == "xml" and "." in last:
        root = ET.Element("errors")
        error = ET.SubElement(root, "error")
        ET.SubElement(error, "code").text = str(status)
        ET.SubElement(error, "description").text = message
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
        return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    body = json.dumps([{"code": status, "description": message}], ensure_ascii=False)
    return HttpResponse(
        body.encode("utf-8"), status=status, content_type="application/json; charset=utf-8"
    )


_CSP_RESPONSE_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


@functools.cache
def _csp_policies() -> tuple[tuple[str, str, tuple], ...]:
    """The headers the settings' policies make, with the path prefixes each excludes."""
    found = []
    for header, setting, report_only in (
        (csp_constants.HEADER, "CONTENT_SECURITY_POLICY", False),
        (csp_constants.HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
    ):
        policy = csp_build_policy(report_only=report_only)
        if policy:
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            found.append((header, policy, tuple(prefixes)))
    return tuple(found)


def _csp_settings_changed(setting, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _csp_policies.cache_clear()


setting_changed.connect(_csp_settings_changed, dispatch_uid="csp-policies")


class CSPMiddleware(csp_middleware.CSPMiddleware):
    """django-csp's middleware, with the policy built once per process: a response that neither
    a view (``csp_update``, ``csp_exempt``...) nor a nonce changed gets the settings' headers as
    they are, instead of having them built again for every request."""

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _CSP_RESPONSE_ATTRIBUTES
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (500, 404):
            return response
        for header, policy, prefixes in _csp_policies():
            if header not in response and not request.path_info.startswith(prefixes):
                response[header] = policy
        request.csp_nonce = csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response
