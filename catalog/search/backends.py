"""The two full-text engines behind one small interface.

Both answer one question, "which items hold these tokens (or token prefixes) in these places",
and nothing else: ranking, counting and faceting are plain SQL the two databases run alike.

PostgreSQL: three stored generated tsvector columns of the item table (migration 0003), stripped
of positions, each with a GIN index: ``search_name_vector`` (search_name and search_pinyin),
``search_words_vector`` (search_words) and ``search_typo_vector`` (search_grams). Generated, they
cannot fall out of date whichever way a row is written; in the item row itself, ranking and
faceting a candidate costs no join.

SQLite: the FTS5 table ``catalog_item_fts`` (rowid = item id) with the four search columns,
written here by ``index_item`` / ``reindex_items``, the only writers of those columns. Not by
triggers: Django rebuilds an SQLite table for most schema changes and drops its triggers with
it, which would leave the index silently stale after someone else's migration.
"""

# ruff: noqa: S608 - table names are constants; values are parameters.

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from .query import NAME, TYPO, WORDS, Node, by_place, to_fts5

FTS_TABLE = "catalog_item_fts"
SEARCH_FIELDS = ("search_name", "search_pinyin", "search_grams", "search_words")
VECTORS = {
    NAME: "search_name_vector",
    WORDS: "search_words_vector",
    TYPO: "search_typo_vector",
}


class Postgres:
    vendor = "postgresql"

    def match(self, node: Node) -> tuple[str, list]:
        """SQL true when item ``i`` holds the tree; the GIN indexes answer it."""
        params: list = []

        def render(check) -> str:
            kind, body = check
            if kind in ("and", "or"):
                return "(" + f" {kind.upper()} ".join(render(c) for c in body) + ")"
            params.append(body)
            return f"i.{VECTORS[kind]} @@ CAST(%s AS tsquery)"

        return render(by_place(node)), params

    def sync(self, rows: Sequence[tuple]) -> None:
        """Nothing to do: the generated columns follow the search columns."""

    def clear(self) -> None:
        """Nothing to do: there is no index row without its item."""


class Sqlite:
    vendor = "sqlite"

    def match(self, node: Node) -> tuple[str, list]:
        """SQL true when the item holds the tree. Each distinct MATCH subquery runs once per
        statement (SQLite keeps its rowids for the IN)."""
        return (
            f"i.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)",
            [to_fts5(node)],
        )

    def sync(self, rows: Sequence[tuple]) -> None:
        """Replace the FTS rows of these items: (id, name, pinyin, grams, words) tuples."""
        if not rows:
            return
        columns = ", ".join(SEARCH_FIELDS)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"DELETE FROM {FTS_TABLE} WHERE rowid = %s",
                [(row[0],) for row in rows],
            )
            cursor.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, {columns}) VALUES (%s, %s, %s, %s, %s)",
                list(rows),
            )

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")


def backend() -> Postgres | Sqlite:
    if connection.vendor == "postgresql":
        return Postgres()
    if connection.vendor == "sqlite":
        return Sqlite()
    raise ImproperlyConfigured(
        f"catalog search supports PostgreSQL and SQLite, not {connection.vendor}"
    )
