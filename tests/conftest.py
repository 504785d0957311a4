import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

# In CI every service and the browser must be present: a missing one fails instead of skipping.
STRICT = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip (on a newcomer's machine) or fail (in CI) when a needed service is absent."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def tcp_open(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_required():
    require(
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "needs PostgreSQL: set DATABASE_URL",
    )


@pytest.fixture
def broker_url():
    url = os.environ.get("CELERY_BROKER_URL", "")
    require(bool(url), "needs a broker: set CELERY_BROKER_URL (Redis)")
    require(url.startswith("redis://") and tcp_open(url, 6379), f"broker {url} is not reachable")
    return url


@pytest.fixture
def chromium_path():
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    require(
        os.path.exists(path) or shutil.which("chromium") is not None,
        "needs Debian's chromium at /usr/bin/chromium",
    )
    return path if os.path.exists(path) else shutil.which("chromium")


@pytest.fixture(autouse=True)
def _fresh_caches():
    from django.core.cache import cache

    from zheliban.core import health

    cache.clear()
    health._BROKER_MEMO.clear()
    yield
