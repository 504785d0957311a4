"""Search columns and the full-text indexes over them, one kind per database.

PostgreSQL: three stored generated tsvector columns of the item table, stripped of positions,
with a GIN index each: the name's tokens (search_name and search_pinyin), every other word
(search_words) and the pinyin trigrams for typo correction (search_grams). In the item row, a
candidate is ranked and counted without a join. The model does not declare them: Django would
try to write them, and SQLite has no such type.

``toast_tuple_target``: an item row with its vectors is a few kB; by default PostgreSQL would
compress (or move out of line) the largest values of any row over 2 kB, and every ``@@`` that
ranks a candidate would decompress its vector again. Rows up to a page now stay as they are.

SQLite: the FTS5 table ``catalog_item_fts`` holding the four search columns per item (rowid =
item id), written by catalog.search (not by triggers, which SQLite table rebuilds would drop).

Items that exist before this migration have empty search columns: run
``manage.py reindex_search`` once afterwards.
"""

from django.db import migrations, models

VECTORS = {
    "search_name_vector": "search_name || ' ' || search_pinyin",
    "search_words_vector": "search_words",
    "search_typo_vector": "search_grams",
}
POSTGRES_FORWARD = [
    "ALTER TABLE catalog_serviceitem SET (toast_tuple_target = 8160)",
    *(
        f"ALTER TABLE catalog_serviceitem ADD COLUMN {column} tsvector GENERATED ALWAYS AS "
        f"(strip(to_tsvector('simple'::regconfig, {source}))) STORED"
        for column, source in VECTORS.items()
    ),
    *(
        f"CREATE INDEX catalog_item_{column}_idx ON catalog_serviceitem USING gin ({column})"
        for column in VECTORS
    ),
]
POSTGRES_BACKWARD = [
    *(f"ALTER TABLE catalog_serviceitem DROP COLUMN IF EXISTS {column}" for column in VECTORS),
    "ALTER TABLE catalog_serviceitem RESET (toast_tuple_target)",
]
# detail=column: which column holds a token, no positions (every phrase we search is one token).
SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE catalog_item_fts USING fts5(
        search_name, search_pinyin, search_grams, search_words,
        tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3', detail = column
    )
    """,
]
SQLITE_BACKWARD = ["DROP TABLE IF EXISTS catalog_item_fts"]


def run(statements):
    def operation(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_life_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="serviceitem",
            name="search_grams",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="serviceitem",
            name="search_name",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(
            run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
            elidable=False,
        ),
    ]
