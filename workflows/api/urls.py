from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("tasks", views.TaskViewSet, basename="task")
urlpatterns = router.urls
