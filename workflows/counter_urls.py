"""The counter of a service centre (一窗受理) and the case notices' PDFs."""

from django.urls import path

from . import counter_views

urlpatterns = [
    path("counter/", counter_views.counter_home, name="counter"),
    path("counter/citizens/<int:pk>/", counter_views.counter_citizen, name="counter-citizen"),
    path(
        "counter/citizens/<int:pk>/apply/bundle/<slug:key>/",
        counter_views.counter_apply,
        {"kind": "bundle"},
        name="counter-apply-bundle",
    ),
    path(
        "counter/citizens/<int:pk>/apply/item/<str:key>/",
        counter_views.counter_apply,
        {"kind": "item"},
        name="counter-apply-item",
    ),
    path("counter/cases/<uuid:pk>/", counter_views.counter_case, name="counter-case"),
    path(
        "cases/<uuid:pk>/documents/<slug:kind>.pdf",
        counter_views.document,
        name="document",
    ),
]
