"""Open311 GeoReport v2, mounted at ``/open311/v2/``; the format is the URL's extension."""

from django.urls import re_path

from . import views

app_name = "open311"

FORMAT = r"\.(?P<fmt>[A-Za-z0-9]+)"

urlpatterns = [
    re_path(rf"^discovery{FORMAT}$", views.discovery, name="discovery"),
    re_path(rf"^services{FORMAT}$", views.services, name="services"),
    re_path(rf"^services/(?P<code>[^/.]+){FORMAT}$", views.service_definition, name="service"),
    re_path(rf"^requests{FORMAT}$", views.requests, name="requests"),
    re_path(rf"^requests/(?P<request_id>[^/.]+){FORMAT}$", views.request_detail, name="request"),
    re_path(rf"^tokens/(?P<token>[^/.]+){FORMAT}$", views.token, name="token"),
    re_path(r"^$", views.not_found, name="root"),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]
