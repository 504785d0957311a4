from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.search, name="search"),
    path("items/<str:code>/", views.item, name="item"),
    path("items/<str:code>/versions/<int:number>/", views.item_version, name="item-version"),
    path("themes/", views.theme_index, name="themes"),
    path("themes/<slug:slug>/", views.theme, name="theme"),
    path("life-events/<slug:slug>/", views.life_event, name="life-event"),
    path("bundles/", views.bundle_index, name="bundles"),
    path("bundles/<slug:slug>/", views.bundle, name="bundle"),
]
