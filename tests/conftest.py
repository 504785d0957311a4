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


BROKER_PORTS = {"amqp": 5672, "redis": 6379}


def service_url(kind: str) -> str:
    """The URL of the shared RabbitMQ (``amqp``) or Redis (``redis``) the suite may use:
    ``CELERY_BROKER_URL`` when it names that kind, else ``RABBITMQ_URL`` / ``REDIS_URL``."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if broker.startswith(f"{kind}://"):
        return broker
    return os.environ.get({"amqp": "RABBITMQ_URL", "redis": "REDIS_URL"}[kind], "")


def require_service(kind: str) -> str:
    name = {"amqp": "RabbitMQ", "redis": "Redis"}[kind]
    url = service_url(kind)
    variable = {"amqp": "RABBITMQ_URL", "redis": "REDIS_URL"}[kind]
    require(bool(url), f"needs {name}: set CELERY_BROKER_URL or {variable}")
    require(tcp_open(url, BROKER_PORTS[kind]), f"{name} at {url} is not reachable")
    return url


@pytest.fixture(params=["amqp", "redis"], ids=["rabbitmq", "redis"])
def broker_url(request):
    """Each shared broker in turn: RabbitMQ, the production broker, and Redis."""
    return require_service(request.param)


@pytest.fixture
def rabbitmq_url():
    return require_service("amqp")


@pytest.fixture
def redis_url():
    return require_service("redis")


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
