"""Settings for the test suite: the project's own, with a few explicit overrides."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from zheliban.settings import *  # noqa: F403
from zheliban.settings import ALLOWED_HOSTS, STORAGES

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]

# Tests run over plain HTTP (test client, live server): cookies must travel without TLS.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tasks run in-process unless a test starts a real worker (tests/core/test_worker.py).
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"

# A worker test can route SMS notices to a file-writing backend (tests/core/worker_tasks.py).
if os.environ.get("ZHELIBAN_TEST_SMS_FILE"):
    NOTIFY_BACKENDS = {"sms": "tests.core.worker_tasks.FileSMSBackend"}

# Uploads made by tests go to a scratch folder, never into the checkout.
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

PRIVATE_MEDIA_ROOT = Path(tempfile.gettempdir()) / "zheliban-test-private"
