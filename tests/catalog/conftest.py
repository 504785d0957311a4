"""Catalog test fixtures, among them the real Guangdong catalog.

``gd_catalog`` (package scope) imports ``../shared/data/catalog/gdzwfw_items.jsonl`` (or
``$ZHELIBAN_DATA_DIR/catalog/gdzwfw_items.jsonl``) once for the whole ``tests/catalog`` package,
committed outside any test's transaction, and returns the ``ImportReport``. Use it for tests "on
the real data"::

    def test_search_finds_real_items(gd_catalog, db): ...

- A test that uses it also needs ``db`` to query; what the test writes is rolled back as usual,
  the imported catalog stays for the next test.
- Do not combine it with ``transactional_db`` or ``live_server``: they empty every table after the
  test, the imported catalog with it.
- This package's other database tests run first (``pytest_collection_modifyitems`` below), so
  they see an empty catalog whatever their file's name; the ``gd_catalog`` tests follow them,
  together (one import), before pytest-django's transactional tests.
- At the end of the package it deletes exactly what the import created: every item of source
  ``gdzwfw`` (versions, materials, joint stages and theme links cascade), the themes and
  departments it created, the regions 440000 / 440100 if it created them, and the SQLite full-text
  rows of the deleted items. Other packages see an empty catalog.
- Without the feed it skips (fails in CI, see ``tests.conftest.require``).
"""

import os
from pathlib import Path

import pytest

from tests.conftest import require

REPO_ROOT = Path(__file__).resolve().parents[2]
FEED = Path("catalog") / "gdzwfw_items.jsonl"


def gd_feed_path() -> Path:
    data_dir = os.environ.get("ZHELIBAN_DATA_DIR")
    return (Path(data_dir) if data_dir else REPO_ROOT.parent / "shared" / "data") / FEED


def _uses_plain_db(item) -> bool:
    """A test pytest-django runs inside a transaction (its first group), as gd_catalog's are."""
    fixtures = getattr(item, "fixturenames", ())
    if "transactional_db" in fixtures or "live_server" in fixtures:
        return False
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        return not (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
    return "db" in fixtures


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run this package's ``gd_catalog`` tests together, right after its other database tests
    (before any transactional test empties the tables), leaving everything else in the order
    pytest-django gave it."""
    here = Path(__file__).parent
    ours = [item for item in items if here in Path(item.path).parents]
    users = [item for item in ours if "gd_catalog" in getattr(item, "fixturenames", ())]
    anchors = [item for item in ours if item not in users and _uses_plain_db(item)]
    if not users or not anchors:
        return
    user_ids = {id(item) for item in users}
    rest = [item for item in items if id(item) not in user_ids]
    insert_at = rest.index(anchors[-1]) + 1
    items[:] = [*rest[:insert_at], *users, *rest[insert_at:]]


@pytest.fixture(scope="package")
def gd_feed() -> Path:
    path = gd_feed_path()
    require(path.is_file(), f"needs the Guangdong feed at {path} (or set ZHELIBAN_DATA_DIR)")
    return path


@pytest.fixture(scope="package")
def gd_catalog(gd_feed, django_db_setup, django_db_blocker):
    from catalog.importers.gdzwfw import gdzwfw_import

    with django_db_blocker.unblock():
        report = gdzwfw_import(path=gd_feed)
    yield report
    with django_db_blocker.unblock():
        gd_catalog_remove(report)


def gd_catalog_remove(report) -> None:
    """Delete what ``report``'s import created (see the module docstring)."""
    from django.db import transaction

    from catalog.importers.gdzwfw import SOURCE
    from catalog.models import ServiceItem, Theme
    from catalog.search import reindex_items
    from departments.models import Department, Region

    with transaction.atomic():
        ServiceItem.objects.filter(source=SOURCE).delete()
        Department.objects.filter(pk__in=report.created_department_ids).delete()
        Theme.objects.filter(pk__in=report.created_theme_ids).delete()
        for region_id in reversed(report.created_region_ids):  # cities before their province
            Region.objects.filter(pk=region_id).delete()
        # Re-indexing all that is left also drops the full-text rows of deleted items (SQLite).
        reindex_items()
