"""Settings for the test suite: the project's own, with a few explicit overrides."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from zheliban.settings import *  # noqa: F403
from zheliban.settings import ALLOWED_HOSTS, CACHES, DATABASES, STORAGES

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

# Under pytest-xdist each worker process (gw0, gw1, ...) runs part of the suite on a test database
# of its own (test_<name>_gw0, ...); what else a test writes is kept apart per worker below. The
# processes a test starts (Celery workers, web servers) inherit PYTEST_XDIST_WORKER, so they
# share their worker's folders and cache.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

# After a transactional test PostgreSQL's tables are emptied with DELETE rather than TRUNCATE,
# seconds faster (tests/backends/postgresql/base.py).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "tests.backends.postgresql"

# cache.clear(), before every test, empties the whole Redis database of a Redis cache
# (CACHE_URL): each worker uses the database numbered after its own (gw1: one above CACHE_URL's,
# counted round Redis's 16 databases).
if XDIST_WORKER and CACHES["default"]["BACKEND"] == "zheliban.core.cache.FailOpenRedisCache":
    _location = urlsplit(CACHES["default"]["LOCATION"])
    _database = (int(_location.path.strip("/") or 0) + int(XDIST_WORKER.removeprefix("gw"))) % 16
    CACHES["default"]["LOCATION"] = _location._replace(path=f"/{_database}").geturl()

# Files tests write (uploads, media) go to a scratch folder of this run, one per worker, never
# into the checkout. The first process of a run (pytest itself, or xdist's controller) makes the
# folder and removes it at the end (tests/conftest.py).
if not os.environ.get("ZHELIBAN_TEST_SCRATCH"):
    os.environ["ZHELIBAN_TEST_SCRATCH"] = tempfile.mkdtemp(prefix="zheliban-test-")
    TEST_SCRATCH_OWNER_PID = os.getpid()
TEST_SCRATCH_DIR = Path(os.environ["ZHELIBAN_TEST_SCRATCH"]) / (XDIST_WORKER or "main")
MEDIA_ROOT = TEST_SCRATCH_DIR / "media"
PRIVATE_MEDIA_ROOT = TEST_SCRATCH_DIR / "private"
