"""Django's PostgreSQL backend for the test suite, emptying tables with DELETE.

A transactional test (``transactional_db``, ``live_server``, ``django_db(transaction=True)``)
ends with Django's ``flush``, which PostgreSQL's backend runs as one ``TRUNCATE`` of every table.
TRUNCATE gives each of the 60-odd tables and their indexes new files: seconds per test, while
deleting the few rows a test leaves behind takes milliseconds. Django creates every foreign key
``DEFERRABLE INITIALLY DEFERRED``, so the tables are emptied in any order in the one transaction
``flush`` runs its statements in, with the constraints checked at its commit.
"""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences or allow_cascade:
            # Restarting identities and cascading to tables not listed stay TRUNCATE's.
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            f"{style.SQL_KEYWORD('SET CONSTRAINTS ALL DEFERRED')};",
            *(
                f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
                for table in tables
            ),
        ]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
