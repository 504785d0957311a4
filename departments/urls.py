from django.urls import path

from . import views

app_name = "departments"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("<slug:code>/", views.shop, name="shop"),
]
