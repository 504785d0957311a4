"""Open311 GeoReport v2 endpoints: each reads its parameters, calls one selector or service and
writes the answer in the format named by the URL's extension (``.json`` or ``.xml``)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from . import selectors
from .catalog import CHANGESET, SERVICES, service_get
from .params import jurisdiction_check, requests_query_parse, unknown_service
from .render import FORMATS, Open311Error, respond, respond_error, w3c_datetime
from .services import open311_request_submit

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def endpoint(*methods: str) -> Callable:
    """Check the format and the method, check ``jurisdiction_id``, and turn ``Open311Error``
    into the spec's error array in the asked format."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, fmt: str = "", **kwargs) -> HttpResponse:
            try:
                if fmt not in FORMATS:
                    raise Open311Error(
                        404,
                        _("Unknown format “%(format)s”: end the address in .json or .xml.")
                        % {"format": fmt},
                    )
                if request.method not in methods:
                    raise Open311Error(
                        405,
                        _("Method %(method)s is not allowed here; use %(allowed)s.")
                        % {"method": request.method, "allowed": ", ".join(methods)},
                    )
                try:
                    params = request.POST if request.method == "POST" else request.GET
                except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent) as error:
                    raise Open311Error(
                        400, _("The request is too large: send a shorter form or a smaller file.")
                    ) from error
                except MultiPartParserError as error:
                    raise Open311Error(400, _("The multipart form cannot be read.")) from error
                jurisdiction_check(params)
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as error:
                response = respond_error(error, fmt=fmt)
                if error.status == 405:
                    response["Allow"] = ", ".join(methods)
                return response

        return wrapper

    return decorate


@endpoint("GET")
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    changeset = w3c_datetime(CHANGESET)
    data = {
        "changeset": changeset,
        "contact": _("Zheliban complaints desk: telephone 12345."),
        "key_service": _(
            "Integrators ask the complaints desk for an api_key; it is shown once when issued."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": request.build_absolute_uri(reverse("open311:root")).rstrip("/"),
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(data, fmt=fmt, root="discovery")


@endpoint("GET")
def services(request: HttpRequest, *, fmt: str) -> HttpResponse:
    data = [
        {
            "service_code": s.code,
            "service_name": s.name,
            "description": s.description,
            "metadata": s.metadata,
            "type": s.type,
            "keywords": s.keywords,
            "group": s.group,
        }
        for s in SERVICES
    ]
    return respond(data, fmt=fmt, root="services")


@endpoint("GET")
def service_definition(request: HttpRequest, code: str, *, fmt: str) -> HttpResponse:
    service = service_get(code)
    if service is None:
        raise Open311Error(404, unknown_service(code))
    data = {
        "service_code": service.code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": a.order,
                "description": a.description,
                "values": [{"key": key, "name": name} for key, name in a.values],
            }
            for a in service.attributes
        ],
    }
    return respond(data, fmt=fmt, root="service_definition")


@csrf_exempt  # an API call authenticated by its api_key, not by a browser session
@endpoint("GET", "POST")
def requests(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        submitted = open311_request_submit(data=request.POST, files=request.FILES)
        data = [
            {
                "service_request_id": str(submitted.ticket.pk),
                "token": str(submitted.ticket.token),
                "service_notice": submitted.service_notice,
                "account_id": None,
            }
        ]
        return respond(data, fmt=fmt, root="service_requests")
    query = requests_query_parse(request.GET, now=timezone.now())
    data = [selectors.request_row(t) for t in selectors.requests_search(query)]
    return respond(data, fmt=fmt, root="service_requests")


@endpoint("GET")
def request_detail(request: HttpRequest, request_id: str, *, fmt: str) -> HttpResponse:
    if not request_id.isascii() or not request_id.isdigit() or len(request_id) > 18:
        raise Open311Error(
            404, _("service_request_id: there is no request %(id)s.") % {"id": request_id}
        )
    ticket = selectors.request_get(int(request_id))
    return respond([selectors.request_row(ticket)], fmt=fmt, root="service_requests")


@endpoint("GET")
def token(request: HttpRequest, token: str, *, fmt: str) -> HttpResponse:
    ticket = selectors.token_get(token)
    data = [{"service_request_id": str(ticket.pk), "token": str(ticket.token)}]
    return respond(data, fmt=fmt, root="service_requests")


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    fmt = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else "json"
    error = Open311Error(
        404,
        _(
            "No such Open311 endpoint: use discovery, services, services/<code>, requests, "
            "requests/<id> or tokens/<token>, ending in .json or .xml."
        ),
    )
    return respond_error(error, fmt=fmt)
