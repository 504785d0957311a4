from django.urls import path

from . import clock_urls, counter_urls, staff_urls, views

app_name = "workflows"

urlpatterns = [
    path("apply/bundle/<slug:key>/", views.apply, {"kind": "bundle"}, name="apply-bundle"),
    path("apply/item/<str:key>/", views.apply, {"kind": "item"}, name="apply-item"),
    path(
        "apply/bundle/<slug:key>/check/",
        views.apply_check,
        {"kind": "bundle"},
        name="apply-bundle-check",
    ),
    path(
        "apply/item/<str:key>/check/", views.apply_check, {"kind": "item"}, name="apply-item-check"
    ),
    path("my/applications/", views.my_applications, name="my-applications"),
    path("my/applications/<uuid:pk>/", views.application_detail, name="application"),
    path(
        "my/applications/<uuid:pk>/correct/<int:task_id>/",
        views.application_correct,
        name="correct",
    ),
    path("my/applications/<uuid:pk>/rate/", views.application_rate, name="rate"),
    path("my/notices/", views.notices, name="notices"),
    path("my/data-use/", views.data_uses, name="data-uses"),
    path("files/<int:pk>/", views.attachment, name="attachment"),
    path("staff/tasks/", views.worklist, name="worklist"),
    path("staff/tasks/<int:pk>/", views.task_detail, name="task"),
    path("staff/tasks/<int:pk>/act/", views.task_act, name="task-act"),
    path("staff/tasks/<int:pk>/verify/", views.task_verify, name="task-verify"),
    path("staff/tasks/<int:pk>/extension/", views.task_extension, name="task-extension"),
]

# The counter (一窗受理), the staff home and worklist, and the clock's pages (督办, procedures,
# hand-over) each keep their routes in their own module, in this namespace.
urlpatterns += counter_urls.urlpatterns + staff_urls.urlpatterns + clock_urls.urlpatterns
