"""The suite's own isolation: a transactional test leaves the database as migrating left it.

pytest-xdist hands each worker any mix of tests, on a test database of its own; a transactional
test's flush must not take the migrated rows (life events, synonyms, content types, permissions)
away from the tests the worker runs after it (tests/conftest.py).
"""

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection

from catalog.models import LifeEvent, Synonym
from departments.models import Department, Membership
from tests.conftest import MIGRATED_ROWS, migrated_rows_restore
from tests.factories import MembershipFactory


def database_rows() -> str:
    return connection.creation.serialize_db_to_string()


def test_a_transactional_test_starts_from_the_migrated_rows(transactional_db):
    assert LifeEvent.objects.count() == 10
    assert Synonym.objects.exists()
    assert database_rows() == MIGRATED_ROWS[connection.alias]


def test_the_flush_empties_every_table_and_the_restore_brings_back_the_migrated_rows(
    transactional_db,
):
    migrated = ContentType.objects.get_for_model(LifeEvent)
    MembershipFactory()  # a user, a department, a region, linked by foreign keys
    LifeEvent.objects.filter(slug="birth").delete()
    Synonym.objects.create(phrase="测试词", expansion="测试")

    # As pytest-django's TransactionTestCase does after the test, post_migrate handlers included.
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    assert not Membership.objects.exists()
    assert not Department.objects.exists()
    assert not LifeEvent.objects.exists()
    assert not Synonym.objects.exists()
    ContentType.objects.clear_cache()
    assert ContentType.objects.get_for_model(LifeEvent).pk != migrated.pk  # made again

    migrated_rows_restore()
    assert database_rows() == MIGRATED_ROWS[connection.alias]
    assert ContentType.objects.get_for_model(LifeEvent).pk == migrated.pk
    assert Permission.objects.filter(content_type=migrated).count() == 4


def test_a_plain_test_after_them_sees_the_migrated_rows(db):
    assert database_rows() == MIGRATED_ROWS[connection.alias]
