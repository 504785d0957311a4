from django.urls import path

from . import views

urlpatterns = [
    path("scoreboard/", views.BoardView.as_view(), name="scoreboard"),
    path(
        "scoreboard/departments/<slug:code>/",
        views.DepartmentHistoryView.as_view(),
        name="scoreboard-department",
    ),
    path(
        "scoreboard/departments/<slug:code>/<slug:metric>/",
        views.BreakdownView.as_view(),
        name="scoreboard-breakdown",
    ),
]
