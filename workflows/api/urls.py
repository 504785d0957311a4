from django.urls import path
from rest_framework.routers import SimpleRouter

from . import clock, counter, views

router = SimpleRouter()
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("supervisions", clock.SupervisionViewSet, basename="supervision")
urlpatterns = [
    *router.urls,
    path(
        "applications/<uuid:pk>/documents/<slug:kind>/",
        counter.ApplicationDocumentView.as_view(),
        name="application-document",
    ),
    path("counter/citizens/find/", counter.CounterCitizenFindView.as_view(), name="counter-find"),
    path(
        "counter/citizens/",
        counter.CounterCitizenRegisterView.as_view(),
        name="counter-citizen-register",
    ),
    path("counter/applications/", counter.CounterFileView.as_view(), name="counter-file"),
]
