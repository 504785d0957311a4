from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("items", views.ItemViewSet, basename="item")
router.register("themes", views.ThemeViewSet, basename="theme")
router.register("life-events", views.LifeEventViewSet, basename="life-event")
router.register("bundles", views.BundleViewSet, basename="bundle")
urlpatterns = router.urls
