from django.urls import path

from . import views

app_name = "scoreboard"
urlpatterns = [
    path("board/", views.board, name="board"),
    path("board/department/<slug:code>/", views.department, name="department"),
    path("board/department/<slug:code>/<slug:metric>/", views.drilldown, name="drilldown"),
    path("staff/board/", views.staff, name="staff"),
    path(
        "staff/board/department/<slug:code>/<slug:metric>/",
        views.staff_drilldown,
        name="staff-drilldown",
    ),
]
