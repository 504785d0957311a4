from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from catalog import views as catalog_views

from . import views

api_v1 = [
    path("", views.api_root, name="root"),
    path("", include("zheliban.accounts.api.urls")),
    path("", include("departments.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("workflows.api.urls")),
    path("", include("complaints.api.urls")),
    path("", include("scoreboard.api.urls")),
]

urlpatterns = [
    path("", catalog_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("elder-mode/", views.elder_mode, name="elder-mode"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("zheliban.accounts.urls")),
    path("departments/", include("departments.urls")),
    path("services/", include("catalog.urls")),
    path("", include("registers.urls")),
    path("", include("workflows.urls")),
    path("", include("complaints.urls")),
    path("", include("scoreboard.urls")),
    path("", include("citizen.urls")),
    path("open311/v2/", include("complaints.open311.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]


handler404 = "zheliban.views.page_not_found"
handler500 = "zheliban.views.server_error"
