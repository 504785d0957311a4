from django.urls import path

from . import staff_views

urlpatterns: list = [
    path("staff/", staff_views.staff_home, name="staff-home"),
    path("staff/tasks/batch/", staff_views.worklist_batch, name="worklist-batch"),
]
