from django.urls import path

from . import views

app_name = "registers"

urlpatterns = [
    path("my/records/", views.my_records, name="mine"),
    path("my/records/<int:pk>/<slug:field>/wrong/", views.correct, name="correct"),
]
