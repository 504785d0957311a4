from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.search, name="search"),
    path("items/<str:code>/", views.item, name="item"),
    path("themes/<slug:slug>/", views.theme, name="theme"),
    path("life-events/<slug:slug>/", views.life_event, name="life-event"),
    path("bundles/<slug:slug>/", views.bundle, name="bundle"),
]
