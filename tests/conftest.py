import itertools
import os
import shutil
import socket
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from pytest_django.fixtures import validate_django_db

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


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: a request the test client sent in another
    language leaves that one active in the thread, and the next test would inherit it."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield


# pytest-xdist (``-n``) hands out work in units (``--dist loadgroup``, pyproject.toml): the units
# are made here, as xdist_group marks. A package with a package-scoped fixture (the Guangdong
# catalog, the security matrix's world, the trained dispatch model) is one unit, as it runs
# serially: its fixture is built once and holds until the package is done, and its other tests
# see what they would see serially. Every other test module is a unit of its own, so its
# module-scoped fixtures are built once. Units are handed out in collection order, reordered on
# the workers so that the longest start first: the fault test (minutes on its own), then the
# browser and service tests, then the rest, larger units first (``unit_rank``).
def uses_package_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope == "package" for defs in info.name2fixturedefs.values())


def work_unit(item: pytest.Item, packages: set[Path]) -> str:
    path = Path(item.path)
    for package in path.parents:
        if package in packages:
            return package.relative_to(item.config.rootpath).as_posix()
    return path.relative_to(item.config.rootpath).as_posix()


def unit_rank(unit_items: list[pytest.Item]) -> tuple[int, int]:
    """Where a unit starts: the fault test, then browser and service tests, then the rest; the
    units with more tests first in each, so that no long one is left for the end of the run."""
    marks = {mark.name for item in unit_items for mark in item.iter_markers()}
    if "faults" in marks:
        return 0, -len(unit_items)
    return 1 if marks & {"e2e", "services"} else 2, -len(unit_items)


def set_node_id(item: pytest.Item, node_id: str) -> None:
    """Rename a collected test: pytest 9 keeps a node's id as a parsed ``NodeId`` (``_id``),
    earlier versions as a string (``_nodeid``)."""
    if hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(node_id)
    else:
        item._nodeid = node_id


def unique_node_ids(items: list[pytest.Item]) -> None:
    """Give each test a node id of its own. Schemathesis names each API operation's test in
    ``name`` (``test_api_as_clerk[GET /api/v1/items/]``) but gives them all the function's node
    id, and xdist hands tests out by node id: it would run one operation and drop the others."""
    counts = Counter(item.nodeid for item in items)
    for item in items:
        if counts[item.nodeid] > 1 and not item.nodeid.endswith(f"::{item.name}"):
            set_node_id(item, f"{item.nodeid.rsplit('::', 1)[0]}::{item.name}")
    repeated = [node_id for node_id, n in Counter(i.nodeid for i in items).items() if n > 1]
    if repeated:
        raise pytest.UsageError(f"Tests share a node id, which xdist cannot hand out: {repeated}")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    unique_node_ids(items)
    packages = {Path(item.path).parent for item in items if uses_package_fixture(item)}
    units = {id(item): work_unit(item, packages) for item in items}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(units[id(item)]))
    yield  # xdist names each test after its group; pytest-django and tests/catalog reorder
    if hasattr(config, "workerinput") and config.getoption("loadgroup", False):
        # xdist groups tests by the "@group" ending of their node ids, which its own renaming
        # (of ``_nodeid``) no longer gives them under pytest 9: give it here. On a worker xdist
        # has set ``dist`` to "no" and keeps the choice in ``loadgroup``.
        for item in items:
            if not item.nodeid.endswith(f"@{units[id(item)]}"):
                set_node_id(item, f"{item.nodeid}@{units[id(item)]}")
    if hasattr(config, "workerinput"):
        members: dict[str, list[pytest.Item]] = {}
        for item in items:
            members.setdefault(units[id(item)], []).append(item)
        ranks = {unit: unit_rank(unit_items) for unit, unit_items in members.items()}
        items.sort(key=lambda item: ranks[units[id(item)]])


# What migrating wrote into each test database (life events, synonyms, content types,
# permissions, ...), serialized once per session and worker by ``django_db_setup`` below.
MIGRATED_ROWS: dict[str, str] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, plus a copy of the rows their migrations wrote."""
    from django.db import connections

    with django_db_blocker.unblock():
        for alias in connections:
            MIGRATED_ROWS[alias] = connections[alias].creation.serialize_db_to_string()
    yield
    MIGRATED_ROWS.clear()


def flushes_database(item: pytest.Item) -> bool:
    """Whether pytest-django runs ``item`` as a ``TransactionTestCase``, which empties every
    table afterwards (the same rule as pytest-django's own)."""
    fixtures = getattr(item, "fixturenames", ())
    if {"transactional_db", "live_server", "django_db_reset_sequences"} & set(fixtures):
        return True
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return False
    transaction, reset_sequences, *_ = validate_django_db(marker)
    return bool(transaction or reset_sequences)


def migrated_rows_restore() -> None:
    """Put every test database back as migrating left it.

    The flush after a transactional test ran the post_migrate handlers, which made content types
    and permissions again under new ids; a second flush, without them, empties the tables again,
    then the rows serialized after migrating are inserted with their own ids, one INSERT per
    model (Django's ``deserialize_db_from_string`` saves them one by one: ~700 queries).
    """
    from django.contrib.contenttypes.models import ContentType
    from django.core import serializers
    from django.core.management import call_command
    from django.db import connections, transaction

    for alias, rows in MIGRATED_ROWS.items():
        call_command(
            "flush",
            verbosity=0,
            interactive=False,
            database=alias,
            reset_sequences=False,
            inhibit_post_migrate=True,
        )
        connection = connections[alias]
        tables = set()
        with transaction.atomic(using=alias), connection.constraint_checks_disabled():
            objects = serializers.deserialize("json", rows, using=alias)
            for model, group in itertools.groupby(objects, key=lambda row: type(row.object)):
                group = list(group)
                if model._meta.parents or any(row.m2m_data for row in group):
                    for row in group:  # what bulk_create cannot write
                        row.save(using=alias)
                else:
                    model._base_manager.using(alias).bulk_create([row.object for row in group])
                tables.add(model._meta.db_table)
            connection.check_constraints(table_names=sorted(tables))
    ContentType.objects.clear_cache()


@pytest.fixture
def _migrated_rows_kept(request, django_db_blocker):
    """Set up before pytest-django's database fixture, so torn down after it: once a
    transactional test's flush has emptied the tables, the migrated rows come back. Every test
    starts from the migrated database whatever ran before it in the same process, which is what
    lets the suite run in parallel (each worker runs any mix of tests on its own database)."""
    yield
    if MIGRATED_ROWS and flushes_database(request.node):
        with django_db_blocker.unblock():
            migrated_rows_restore()


@pytest.fixture
def _django_db_helper(_migrated_rows_kept, _django_db_helper):
    """pytest-django's fixture behind ``db``, ``transactional_db``, ``live_server`` and the
    ``django_db`` mark, wrapped by ``_migrated_rows_kept``."""
    yield


def pytest_unconfigure(config):
    """Remove the run's scratch folder (tests/settings.py) in the process that made it."""
    if settings.configured and getattr(settings, "TEST_SCRATCH_OWNER_PID", None) == os.getpid():
        shutil.rmtree(Path(settings.TEST_SCRATCH_DIR).parent, ignore_errors=True)
