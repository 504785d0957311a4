from django.urls import path

from . import clock_views

urlpatterns = [
    path("staff/tasks/<int:pk>/procedure/", clock_views.task_procedure, name="task-procedure"),
    path("staff/tasks/<int:pk>/hand-over/", clock_views.task_hand_over, name="task-hand-over"),
    path("staff/tasks/<int:pk>/supervise/", clock_views.task_supervise, name="task-supervise"),
    path("staff/supervisions/<int:pk>/", clock_views.supervision, name="supervision"),
]
