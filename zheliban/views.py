import sys

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse

from zheliban.core.health import broker_status, cache_status, database_status
from zheliban.core.middleware import ELDER_COOKIE


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers and crawlers ask for /favicon.ico whatever a page links: the site's icon."""
    return redirect(static("img/favicon.svg"))


@require_POST
def elder_mode(request):
    """Turn elder mode on or off and go back where the visitor was."""
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    response = redirect(target)
    if request.POST.get("on") == "1":
        response.set_cookie(
            ELDER_COOKIE,
            "1",
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
    else:
        response.delete_cookie(ELDER_COOKIE, samesite="Lax")
    return response


@never_cache
@require_GET
def healthz(request):
    """200 while the database answers (``degraded`` if the broker or the cache is down), else
    503."""
    database = database_status()
    broker = broker_status()
    cache = cache_status()
    if database != "ok":
        status = "down"
    elif "unreachable" in (broker, cache):
        status = "degraded"
    else:
        status = "ok"
    return JsonResponse(
        {"status": status, "database": database, "broker": broker, "cache": cache},
        status=200 if database == "ok" else 503,
    )


@extend_schema(
    operation_id="api_root",
    tags=["meta"],
    responses={
        200: OpenApiResponse(
            inline_serializer(
                "ApiRoot",
                {
                    "name": serializers.CharField(),
                    "version": serializers.CharField(),
                    "endpoints": serializers.DictField(child=serializers.URLField()),
                },
            )
        )
    },
)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request, format=None):
    names = {
        "regions": "api:region-list",
        "departments": "api:department-list",
        "items": "api:item-list",
        "themes": "api:theme-list",
        "life_events": "api:life-event-list",
        "bundles": "api:bundle-list",
        "me": "api:me",
        "register": "api:accounts-register",
        "token": "api:auth-token",
        "tokens": "api:auth-tokens",
        "staff_memberships": "api:membership-list",
        "applications": "api:application-list",
        "tasks": "api:task-list",
        "supervisions": "api:supervision-list",
        "counter_citizen_find": "api:counter-find",
        "counter_citizens": "api:counter-citizen-register",
        "counter_applications": "api:counter-file",
        "tickets": "api:ticket-list",
        "ticket_duplicates": "api:ticket-duplicates",
        "ticket_stats": "api:ticket-stats",
        "assistant": "api:assistant",
        "scoreboard": "api:scoreboard",
        "schema": "schema",
        "docs": "swagger-ui",
    }
    return Response(
        {
            "name": "Zheliban",
            "version": "v1",
            "endpoints": {key: reverse(name, request=request) for key, name in names.items()},
        }
    )


def _wants_json(request) -> bool:
    return request.path.startswith(("/api/", "/open311/"))


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse(
            {"error": {"code": "not_found", "message": gettext("Not found.")}}, status=404
        )
    return render(request, "404.html", status=404)


DATABASE_RETRY_SECONDS = 30


def server_error(request):
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return _database_unavailable(request)
    if _wants_json(request):
        return JsonResponse(
            {
                "error": {
                    "code": "server_error",
                    "message": gettext("Something went wrong on our side."),
                }
            },
            status=500,
        )
    return render(request, "500.html", status=500)


def _database_unavailable(request):
    """A database outage is said as such (503, to retry), never taken for a logged-out visitor
    or a fault of the page."""
    message = gettext(
        "The service is briefly unavailable while we restore a connection. Please try again in a "
        "minute; you are still logged in."
    )
    if _wants_json(request):
        response = JsonResponse({"error": {"code": "unavailable", "message": message}}, status=503)
    else:
        response = render(request, "503.html", {"message": message}, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    return response
