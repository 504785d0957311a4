from django.urls import path

from . import views

app_name = "citizen"

urlpatterns = [
    path("my/", views.overview, name="overview"),
]
