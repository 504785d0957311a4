import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zheliban.settings")

app = Celery("zheliban")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
