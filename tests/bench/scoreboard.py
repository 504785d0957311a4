"""The sunning board (晾晒台) at scale: computing a snapshot over many cases, and its public page.

    python -m tests.bench.scoreboard [--cases 1000000] [--tickets 300000] [--items 200000]
        [--steps 100000,300000,1000000] [--repeat 2] [--page-repeat 20]
        [--duration 20] [--users 20] [--workers 2] [--skip-throughput] [--no-proposed]
        [--database-url postgres://postgres@127.0.0.1:5432/zheliban_bench_scoreboard]
        [--keep-db] [--json out.json]

1. Builds a fresh PostgreSQL database (named ``zheliban_bench*``): ``migrate``, ``collectstatic``,
   ``seed_demo`` (the demo province: regions, departments, staff, citizens). The board of the demo
   data alone is computed first: the same-run baseline of every figure below.
2. Bulk-inserts, in SQL (``INSERT … SELECT … FROM generate_series`` with ``random()`` after a
   fixed ``setseed``), everything attached to the demo province's active departments except the
   12345 desk: ``--items`` published-or-not catalog items with realistic shares of online,
   mobile, zero-trip, ID-only items and statutory/promised limits, then ``--tickets`` tickets
   received over the last 365 days (timeliness, satisfaction, reopenings, state by age) with
   their lead ``TicketDepartment`` part (6 % returned once, the returning department's part kept).
   Items and tickets are at full size from the first step on; only the cases grow.
3. For each of ``--steps`` (cumulative case counts, the last one ``--cases``): adds cases up to
   that count — an ``Application`` with 1–3 ``Task`` rows (70/20/10 %) on items drawn with a
   popularity skew, each task's ``accept`` history row, a ``complete`` or ``reject`` row at its
   ``finished_at`` for finished ones, a ``correction`` row for 8 % of them, a ``Rating`` for 35 %
   of finished cases and a ``Rectification`` for each bad one —, submissions spread uniformly
   over the last 365 days; ``VACUUM ANALYZE``; then, in a fresh child process (so that its memory
   is the computation's), ``snapshot_compute`` of the year containing today and of the rolling
   30 days, ``--repeat`` times each: wall time, SQL queries and the time spent in them, the
   child's peak RSS (``ru_maxrss``) before and after, and the Python allocation peak of one more
   computation under ``tracemalloc``.
4. At the largest size: each metric's aggregation timed alone (``services.metric_totals``), the
   slowest ones ``EXPLAIN (ANALYZE, BUFFERS)``'d, then the indexes proposed in ``PROPOSED`` are
   created by hand in the bench database (raw SQL; the app's code is unchanged), the computation
   is measured again and printed as "with proposed index", and the indexes are dropped.
   ``--no-proposed`` skips this.
5. The public board ``/board/`` (URL ``scoreboard:board``), if the app has it: server time in
   process (Django's test ``Client``, ``zheliban.settings``, ``DEBUG=0``: 3 warm-up requests then
   ``--page-repeat`` timed, p50/p95/max and queries per request) next to ``/healthz``; then
   throughput with ``tests.bench.run`` (gunicorn + locust, ``--keep-db``) as a ratio to
   ``/healthz``. If it is missing, the published JSON API is measured instead if there is one,
   otherwise this part is skipped with a message.

Figures are printed (and written with ``--json``), never asserted. The database is dropped at the
end unless ``--keep-db`` (which also reuses a database that has the data, adding only what is
missing; steps below the cases already present are skipped).
"""

# ruff: noqa: S608 - the SQL built here interpolates only table and column names, integers and
# choice codes checked by _literal_array; values from outside are parameters.
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import run
from tests.bench.run import BenchError, Database
from tests.bench.search import configure_django, percentiles

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench_scoreboard"
DAYS = 365
ITEM_PREFIX = "BSB"  # codes of generated items: BSB000000001…
CASE_PREFIX = "BS"  # references of generated cases: BS000000000001…
PERIODS = ("year", "rolling30")
CHILD_FLAG = "--child"
BOARD_URL_NAME = "scoreboard:board"
API_URL_NAME = "api:scoreboard"
BOARD_QUERY = "?period=year&level=county"

# Indexes proposed for the slowest aggregations (see the EXPLAIN output), as they would be declared
# in workflows.models.TaskEvent.Meta.indexes:
#   models.Index(fields=["task"], condition=Q(action="correction"), name="event_correction_idx")
#   models.Index(fields=["at", "task"], condition=Q(action__in=["complete", "reject"]),
#                name="event_finished_idx")
# The first turns the correction rate's per-task EXISTS probe (one per finished task) into an
# index-only probe of a small index instead of the task_id index of every event plus a heap
# visit; the second lets "finished in the period" read only the finishing events of the period.
# Measured at 1M cases (2026-11-28, 2 cores, loaded): the first takes the correction rate from
# 8.9 s to 2.5 s (year) and the year's board from 12–17 s to 7–9 s; the second showed no gain
# beyond noise for the year (the planner still hashes all the year's tasks) and little for 30 days.
# Created by hand in the bench database for one more measurement, then dropped. (name, SQL)
PROPOSED: list[tuple[str, str]] = [
    (
        "event_correction_idx",
        "CREATE INDEX event_correction_idx ON workflows_taskevent (task_id) "
        "WHERE action = 'correction'",
    ),
    (
        "event_finished_idx",
        "CREATE INDEX event_finished_idx ON workflows_taskevent (at, task_id) "
        "WHERE action IN ('complete', 'reject')",
    ),
]


# ---------------------------------------------------------------- SQL generation


def _literal_array(values) -> str:
    """A SQL text array of known-safe codes (choices), inlined."""
    for value in values:
        if not re.fullmatch(r"[a-z0-9_]+", str(value)):
            raise BenchError(f"unexpected choice value {value!r}")
    return "ARRAY[" + ",".join(f"'{value}'" for value in values) + "]"


def insert_select(cursor, model, exprs: dict[str, str], source: str) -> int:
    """``INSERT INTO <model> (…) SELECT … FROM <source>``: ``exprs`` maps columns to SQL
    expressions; every other column gets its field's default (as a parameter) or NULL. The
    expressions must not contain ``%`` (use ``mod()``)."""
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.column in exprs:
            columns.append(field.column)
            values.append(exprs[field.column])
        elif field.primary_key:
            continue  # serial
        elif field.has_default() or (not field.null and field.empty_strings_allowed):
            columns.append(field.column)
            values.append(f"CAST(%s AS {field.db_type(cursor.db)})")
            params.append(field.get_db_prep_save(field.get_default(), cursor.db))
        elif not field.null:
            raise BenchError(f"no value for {model.__name__}.{field.name}")
    unknown = set(exprs) - {f.column for f in model._meta.concrete_fields}
    if unknown:
        raise BenchError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {source}"
    )
    cursor.execute(sql, params or None)
    return cursor.rowcount


def prepare_departments(cursor) -> int:
    """``bench_dept(idx, id, region_id)``: the departments data is attached to, in a fixed
    random order (so that a power of ``random()`` gives some of them more volume)."""
    from departments.models import Department

    cursor.execute("DROP TABLE IF EXISTS bench_dept")
    cursor.execute("SELECT setseed(0.11)")
    cursor.execute(
        "CREATE TEMP TABLE bench_dept AS SELECT row_number() OVER (ORDER BY md5(code)) AS idx, "
        "id, region_id FROM departments_department WHERE is_active AND kind <> %s",
        [Department.Kind.HOTLINE],
    )
    cursor.execute("SELECT count(*) FROM bench_dept")
    count = cursor.fetchone()[0]
    if not count:
        raise BenchError("seed_demo left no active department")
    return count


def insert_items(cursor, lo: int, hi: int, departments: int) -> int:
    """Items ``lo..hi`` (codes BSB…), spread over the departments with a skew."""
    from catalog.models import ServiceItem

    cursor.execute("SELECT setseed(%s)", [0.2 + lo / 1e9])
    types_values = ServiceItem.ItemType.values
    types = _literal_array(types_values)
    source = (
        "(SELECT g, d.id AS dept, d.region_id AS region, s.r1, s.r2, s.r3, s.r4, "
        "  CASE WHEN s.r1 < 0.2 THEN NULL WHEN s.r1 < 0.32 THEN 0 "
        "       ELSE (ARRAY[5,10,15,20,30,60])[1 + floor(s.r2 * 6)::int] END AS statutory "
        f" FROM (SELECT g, 1 + floor(power(random(), 1.6) * {departments})::int AS di, "
        "        random() AS r1, random() AS r2, random() AS r3, random() AS r4 "
        f"       FROM generate_series({lo}, {hi}) AS g) AS s "
        " JOIN bench_dept AS d ON d.idx = s.di) AS x"
    )
    return insert_select(
        cursor,
        ServiceItem,
        {
            "code": f"'{ITEM_PREFIX}' || lpad(g::text, 9, '0')",
            "name": "'生成事项' || g",
            "item_type": f"({types})[1 + floor(random() * {len(types_values)})::int]",
            "for_citizens": "r3 < 0.8",
            "for_enterprises": "r3 >= 0.65",
            "department_id": "dept",
            "region_id": "region",
            "statutory_days": "statutory",
            # promised: none when the law sets none (mostly), on the spot when statutory is 0,
            # else 15–65 % of the statutory limit, at least a day
            "promised_days": "CASE WHEN statutory IS NULL THEN "
            "  (CASE WHEN r2 < 0.3 THEN 0 ELSE NULL END) WHEN statutory = 0 THEN 0 "
            "  ELSE greatest(1, round(statutory * (0.15 + 0.5 * r2)))::int END",
            "trips": "CASE WHEN r4 < 0.82 THEN 0 WHEN r4 < 0.97 THEN 1 ELSE 2 END",
            "online": "r4 < 0.9",
            "mobile": "random() < 0.72",
            "counter": "random() < 0.85",
            "courier": "random() < 0.4",
            "id_only": "random() < 0.55",
            "popularity": "floor(5000 * power(random(), 6))::int",
            "is_active": "random() < 0.96",
            "created_at": f"now() - interval '{DAYS} days' * random()",
            "updated_at": "now()",
        },
        source,
    )


def insert_tickets(cursor, lo: int, hi: int, departments: int) -> tuple[int, int]:
    """Tickets ``lo..hi`` over the last ``DAYS`` days and their lead parts: (tickets, parts)."""
    from complaints.models import Ticket, TicketDepartment

    cursor.execute("SELECT max(id) FROM complaints_ticket")
    before = cursor.fetchone()[0] or 0
    cursor.execute("SELECT setseed(%s)", [0.3 + lo / 1e9])
    kinds = _literal_array(Ticket.Kind.values)
    channels = _literal_array(Ticket.Channel.values)
    open_states = _literal_array(["dispatched", "handling", "answered", "called_back"])
    # age in days drives the state, as in tests/bench/ticket_stats.py
    source = (
        "(SELECT s.*, d.id AS dept, d.region_id AS region, "
        "  (s.age > 20 AND s.r1 < 0.93) OR (s.age > 5 AND s.r1 < 0.5) AS closed, "
        f"  ({open_states})[1 + floor(s.r2 * 4)::int] AS open_state "
        f" FROM (SELECT g, 1 + floor(power(random(), 1.4) * {departments})::int AS di, "
        f"        now() - interval '1 second' * floor(random() * {DAYS} * 86400) AS created, "
        "        random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5 "
        f"       FROM generate_series({lo}, {hi}) AS g) AS s0 "
        " CROSS JOIN LATERAL (SELECT s0.*, extract(epoch FROM now() - s0.created) / 86400 "
        "   AS age) AS s "
        " JOIN bench_dept AS d ON d.idx = s.di) AS x"
    )
    tickets = insert_select(
        cursor,
        Ticket,
        {
            "token": "gen_random_uuid()",
            "kind": f"({kinds})[1 + floor(r3 * {len(Ticket.Kind.values)})::int]",
            "channel": f"({channels})[1 + floor(r4 * {len(Ticket.Channel.values)})::int]",
            "title": "'生成诉求' || g",
            "content": "'生成的诉求内容 ' || g",
            "region_id": "region",
            "department_id": "dept",
            "state": "CASE WHEN closed THEN 'closed' ELSE open_state END",
            "dispatched_automatically": "r5 < 0.7",
            "node_started_at": "created",
            "node_due_date": "CASE WHEN closed THEN NULL "
            "  ELSE current_date + (floor(r5 * 17)::int - 6) END",
            "signed_on_time": "CASE WHEN closed THEN r2 < 0.93 "
            "  WHEN open_state = 'dispatched' THEN NULL ELSE r2 < 0.9 END",
            "answered_on_time": "CASE WHEN closed THEN r3 < 0.86 "
            "  WHEN open_state IN ('answered', 'called_back') THEN r3 < 0.85 END",
            "satisfaction": "CASE WHEN NOT closed OR r4 >= 0.8 THEN NULL "
            "  WHEN r5 < 0.04 THEN 1 WHEN r5 < 0.09 THEN 2 WHEN r5 < 0.18 THEN 3 "
            "  WHEN r5 < 0.45 THEN 4 ELSE 5 END",
            "reopen_count": "CASE WHEN closed AND random() < 0.03 THEN 1 ELSE 0 END",
            "return_count": "CASE WHEN random() < 0.06 THEN 1 ELSE 0 END",
            "replied_at": "CASE WHEN closed OR open_state IN ('answered', 'called_back') "
            "  THEN least(now(), created + interval '1 day' * (1 + 8 * r1)) END",
            "closed_at": "CASE WHEN closed THEN "
            "  least(now(), created + interval '1 hour' * floor(48 + r1 * 430)) END",
            "created_at": "created",
            "updated_at": "created",
        },
        source,
    )
    # the returning department's part (another department, returned a day later), then the lead
    # part of the department holding the ticket
    cursor.execute("SELECT setseed(%s)", [0.4 + lo / 1e9])
    parts = insert_select(
        cursor,
        TicketDepartment,
        {
            "ticket_id": "t.id",
            "department_id": "d.id",
            "is_lead": "true",
            "state": "'returned'",
            "return_reason": "'不属于本单位职责'",
            "returned_at": "t.created_at + interval '20 hours'",
            "created_at": "t.created_at + interval '10 minutes'",
            "updated_at": "t.created_at + interval '20 hours'",
        },
        f"(SELECT t0.*, 1 + floor(random() * {departments})::int AS di FROM complaints_ticket t0 "
        f" WHERE t0.id > {before} AND t0.return_count > 0) AS t "
        "JOIN bench_dept AS d ON d.idx = t.di AND d.id <> t.department_id",
    )
    parts += insert_select(
        cursor,
        TicketDepartment,
        {
            "ticket_id": "id",
            "department_id": "department_id",
            "is_lead": "true",
            "state": "CASE state WHEN 'dispatched' THEN 'dispatched' WHEN 'handling' "
            "  THEN 'signed' ELSE 'replied' END",
            "signed_at": "CASE WHEN state <> 'dispatched' "
            "  THEN created_at + interval '1 day' * (return_count + 0.2) END",
            "replied_at": "replied_at",
            "opinion": "CASE WHEN replied_at IS NOT NULL THEN '已办理' ELSE '' END",
            "created_at": "created_at + interval '1 day' * return_count + interval '10 minutes'",
            "updated_at": "coalesce(replied_at, created_at)",
        },
        f"complaints_ticket WHERE id > {before} AND department_id IS NOT NULL",
    )
    return tickets, parts


def insert_cases(cursor, lo: int, hi: int) -> dict[str, int]:
    """Cases ``lo..hi`` (references BS…) with their tasks, history, ratings, rectifications."""
    from django.contrib.auth import get_user_model

    from workflows.models import Application, Rating, Rectification, Task, TaskEvent

    counts: dict[str, int] = {}
    citizens = list(
        get_user_model()
        .objects.filter(kind="citizen")
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    ) or list(get_user_model().objects.order_by("pk").values_list("pk", flat=True)[:1])
    citizen_array = "ARRAY[" + ",".join(str(int(pk)) for pk in citizens) + "]"
    cursor.execute("SELECT setseed(%s)", [0.5 + lo / 1e9])
    cursor.execute("DROP TABLE IF EXISTS bench_item")
    cursor.execute(
        "CREATE TEMP TABLE bench_item AS SELECT row_number() OVER (ORDER BY popularity DESC, id) "
        "AS idx, id, department_id FROM catalog_serviceitem WHERE is_active "
        "AND department_id IN (SELECT id FROM bench_dept)"
    )
    cursor.execute("CREATE INDEX ON bench_item (idx)")
    cursor.execute("SELECT count(*) FROM bench_item")
    n_items = cursor.fetchone()[0]
    if not n_items:
        raise BenchError("no active item to attach cases to")
    cursor.execute("DROP TABLE IF EXISTS bench_case")
    cursor.execute(
        "CREATE TEMP TABLE bench_case AS SELECT g, gen_random_uuid() AS id, "
        f"now() - interval '1 second' * floor(random() * {DAYS} * 86400) AS submitted, "
        "CASE WHEN mod(g, 10) < 7 THEN 1 WHEN mod(g, 10) < 9 THEN 2 ELSE 3 END AS ntasks "
        f"FROM generate_series({lo}, {hi}) AS g"
    )
    # a step is ready 0–3 days after the previous one; it is handled in 5–115 % of its limit
    # (working days ≈ 1.4 calendar days), so about one in ten is late; 6 % are rejected.
    cursor.execute("DROP TABLE IF EXISTS bench_task")
    cursor.execute(
        "CREATE TEMP TABLE bench_task AS "
        "SELECT x.*, i.id AS item_id, i.department_id, "
        "  (x.ready + interval '1 day' * x.due_workdays * 1.4)::date AS due_date, "
        "  CASE WHEN finishing > now() THEN NULL ELSE finishing END AS finished_at, "
        "  CASE WHEN finishing > now() THEN 'accepted' "
        "       WHEN x.r_state < 0.06 THEN 'rejected' ELSE 'completed' END AS state "
        "FROM (SELECT y.*, y.ready + interval '1 day' * y.due_workdays * 1.4 "
        "         * (0.05 + 1.1 * power(y.r_dur, 1.3)) AS finishing "
        "      FROM (SELECT c.id AS app, c.g, k, "
        "              c.submitted + interval '1 day' * (k - 1) * 3 * random() AS ready, "
        f"             1 + floor(power(random(), 2.5) * {n_items})::int AS ii, "
        "              (ARRAY[1, 3, 5, 10, 15, 20])[1 + floor(random() * 6)::int] AS due_workdays,"
        "              random() AS r_dur, random() AS r_state "
        "            FROM bench_case AS c CROSS JOIN LATERAL generate_series(1, c.ntasks) AS k"
        "           ) AS y) AS x "
        "JOIN bench_item AS i ON i.idx = x.ii"
    )
    cursor.execute(
        "CREATE TEMP TABLE bench_case_end AS SELECT app, max(finished_at) AS finished_at, "
        "bool_and(finished_at IS NOT NULL) AS finished, count(*) FILTER "
        "(WHERE state = 'rejected') AS rejected, count(*) AS tasks, "
        "min(item_id) FILTER (WHERE k = 1) AS item_id FROM bench_task GROUP BY app"
    )
    counts["applications"] = insert_select(
        cursor,
        Application,
        {
            "id": "c.id",
            "reference": f"'{CASE_PREFIX}' || lpad(c.g::text, 12, '0')",
            "applicant_id": f"({citizen_array})[1 + mod(c.g, {len(citizens)})]",
            "item_id": "e.item_id",
            "status": "CASE WHEN NOT e.finished THEN 'in_progress' WHEN e.rejected = 0 "
            "  THEN 'completed' WHEN e.rejected = e.tasks THEN 'rejected' ELSE 'partial' END",
            "idempotency_key": "'bench-' || c.g",
            "submitted_at": "c.submitted",
            "finished_at": "CASE WHEN e.finished THEN e.finished_at END",
            "created_at": "c.submitted",
            "updated_at": "coalesce(e.finished_at, c.submitted)",
        },
        "bench_case AS c JOIN bench_case_end AS e ON e.app = c.id",
    )
    cursor.execute("SELECT coalesce(max(id), 0) FROM workflows_task")
    before = cursor.fetchone()[0]
    counts["tasks"] = insert_select(
        cursor,
        Task,
        {
            "application_id": "app",
            "step": "'step' || k",
            "label": "'第' || k || '步'",
            "item_id": "item_id",
            "department_id": "department_id",
            "state": "state",
            "due_workdays": "due_workdays",
            "due_date": "due_date",
            "claimed_at": "ready + interval '30 minutes'",
            "ready_at": "ready",
            "delivered_at": "ready",
            "finished_at": "finished_at",
            "version": "CASE WHEN finished_at IS NULL THEN 2 ELSE 3 END",
            "created_at": "ready",
            "updated_at": "coalesce(finished_at, ready)",
        },
        "bench_task ORDER BY app, k",
    )
    new_tasks = f"workflows_task WHERE id > {before}"
    counts["events"] = insert_select(
        cursor,
        TaskEvent,
        {
            "application_id": "application_id",
            "task_id": "id",
            "action": "'accept'",
            "from_state": "'ready'",
            "to_state": "'accepted'",
            "at": "ready_at + interval '30 minutes'",
        },
        new_tasks,
    )
    counts["events"] += insert_select(
        cursor,
        TaskEvent,
        {
            "application_id": "application_id",
            "task_id": "id",
            "action": "'correction'",
            "from_state": "'accepted'",
            "to_state": "'correction'",
            "note": "'请补正材料'",
            "at": "ready_at + (finished_at - ready_at) * 0.4",
        },
        f"{new_tasks} AND finished_at IS NOT NULL AND random() < 0.08",
    )
    counts["events"] += insert_select(
        cursor,
        TaskEvent,
        {
            "application_id": "application_id",
            "task_id": "id",
            "action": "CASE state WHEN 'completed' THEN 'complete' ELSE 'reject' END",
            "from_state": "'accepted'",
            "to_state": "state",
            "at": "finished_at",
        },
        f"{new_tasks} AND state IN ('completed', 'rejected')",
    )
    counts["ratings"] = insert_select(
        cursor,
        Rating,
        {
            "application_id": "a.id",
            "score": "CASE WHEN r < 0.03 THEN 1 WHEN r < 0.07 THEN 2 WHEN r < 0.15 THEN 3 "
            "  WHEN r < 0.4 THEN 4 ELSE 5 END",
            "created_at": "least(now(), a.finished_at + interval '1 hour' * floor(1 + 70 * r2))",
            "updated_at": "least(now(), a.finished_at + interval '1 hour' * floor(1 + 70 * r2))",
        },
        "(SELECT a0.*, random() AS r, random() AS r2, random() AS keep FROM workflows_application "
        "a0 JOIN bench_case AS c ON c.id = a0.id WHERE a0.finished_at IS NOT NULL) AS a "
        "WHERE keep < 0.35",
    )
    # a bad rating's rectification goes to the department of the case's first step: called
    # back in 2 days, fixed within 15 (85 % of those due, most of them in time)
    counts["rectifications"] = insert_select(
        cursor,
        Rectification,
        {
            "rating_id": "id",
            "department_id": "department_id",
            "state": "CASE WHEN r < 0.8 AND fixing <= now() THEN 'fixed' "
            "  WHEN r < 0.95 THEN 'called_back' ELSE 'open' END",
            "callback_due": "(created_at + interval '2 days')::date",
            "fix_due": "(created_at + interval '15 days')::date",
            "callback_note": "'已回访'",
            "called_back_at": "CASE WHEN r < 0.95 THEN least(now(), created_at + interval "
            "  '1 day') END",
            "fixed_at": "CASE WHEN r < 0.8 AND fixing <= now() THEN fixing END",
            "outcome": "CASE WHEN r < 0.8 AND fixing <= now() THEN '已整改' ELSE '' END",
            "created_at": "created_at",
            "updated_at": "created_at",
        },
        "(SELECT rt.id, rt.created_at, t.department_id, random() AS r, "
        "  rt.created_at + interval '1 day' * (2 + 16 * power(random(), 1.5)) AS fixing "
        " FROM workflows_rating AS rt JOIN bench_case AS c ON c.id = rt.application_id "
        " JOIN workflows_task AS t ON t.application_id = rt.application_id AND t.step = 'step1' "
        " WHERE rt.score <= 2) AS x",
    )
    for table in ("bench_case", "bench_task", "bench_case_end"):
        cursor.execute(f"DROP TABLE {table}")
    return counts


def vacuum(cursor, tables: list[str]) -> None:
    for table in tables:
        cursor.execute(f"VACUUM ANALYZE {table}")


def counted(cursor, sql: str) -> int:
    cursor.execute(sql)
    return cursor.fetchone()[0]


# ---------------------------------------------------------------- the computation (child process)


def child_main(spec: dict) -> int:
    """Runs in a fresh process: the computation's figures as one JSON line on stdout."""
    import tracemalloc

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scoreboard import services
    from scoreboard.metrics import METRICS

    day = dt.date.fromisoformat(spec["day"])
    connection.ensure_connection()
    out: dict = {"rss_setup_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    for period in PERIODS:
        runs = []
        for _ in range(spec["repeat"]):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                services.snapshot_compute(period=period, day=day)
                elapsed = time.perf_counter() - started
            sql = sum(float(q["time"]) for q in ctx.captured_queries)
            runs.append({"seconds": elapsed, "queries": len(ctx.captured_queries), "sql": sql})
        out[period] = runs
    out["rss_peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    services.snapshot_compute(period=PERIODS[0], day=day)
    out["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if spec.get("breakdown"):
        metrics = []
        for period in PERIODS:
            bounds = services.period_bounds(period, day)
            for metric in METRICS:
                with CaptureQueriesContext(connection) as ctx:
                    started = time.perf_counter()
                    totals = services.metric_totals(metric, bounds)
                    elapsed = time.perf_counter() - started
                metrics.append(
                    {
                        "period": period,
                        "metric": metric.key,
                        "seconds": elapsed,
                        "rows": sum(den for _num, den in totals.values()),
                        "sql": ctx.captured_queries[-1]["sql"] if ctx.captured_queries else "",
                    }
                )
        out["metrics"] = metrics
    print("BENCH-RESULT " + json.dumps(out), flush=True)
    return 0


def measure(day: dt.date, repeat: int, *, breakdown: bool = False) -> dict:
    spec = json.dumps({"day": day.isoformat(), "repeat": repeat, "breakdown": breakdown})
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.scoreboard", CHILD_FLAG, spec],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line.removeprefix("BENCH-RESULT "))
    raise BenchError(f"the computation failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def _row(label: str, counts: dict, result: dict) -> dict:
    return {"label": label, **counts, **result}


def print_table(rows: list[dict]) -> None:
    head = (
        f"  {'':<22} {'cases':>9} {'tasks':>9} {'period':>9} {'1st s':>7} {'2nd s':>7}"
        f" {'in SQL s':>8} {'queries':>7} {'RSS setup':>9} {'RSS peak':>9} {'py peak':>8}"
    )
    print(head)
    for row in rows:
        for period in PERIODS:
            runs = row[period]
            second = f"{runs[1]['seconds']:7.2f}" if len(runs) > 1 else f"{'':>7}"
            best_sql = min(r["sql"] for r in runs)
            print(
                f"  {row['label'] if period == PERIODS[0] else '':<22}"
                f" {row['cases']:>9,} {row['tasks']:>9,} {period:>9}"
                f" {runs[0]['seconds']:7.2f} {second} {best_sql:8.2f} {runs[0]['queries']:>7}"
                f" {row['rss_setup_kb'] / 1024:7.0f}MB {row['rss_peak_kb'] / 1024:7.0f}MB"
                f" {row['tracemalloc_peak'] / 2**20:6.1f}MB"
            )


# ---------------------------------------------------------------- EXPLAIN and proposed indexes


def explain(cursor, sql: str) -> list[str]:
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
    return [line for (line,) in cursor.fetchall()]


# ---------------------------------------------------------------- the page


def board_paths() -> list[tuple[str, str]]:
    """(label, path) of the public board (default view, then the year's county level, the
    largest table) and of its API when present; [] when the app has no board yet."""
    from django.urls import NoReverseMatch, reverse

    paths = []
    try:
        board = reverse(BOARD_URL_NAME)
        paths += [("page, default", board), ("page, year, counties", f"{board}{BOARD_QUERY}")]
    except NoReverseMatch:
        pass
    except Exception as exc:  # the page is being written while this runs
        print(f"  the board's URLconf does not load: {exc!r}")
        return []
    with contextlib.suppress(NoReverseMatch):
        paths.append(("API, year, counties", f"{reverse(API_URL_NAME)}{BOARD_QUERY}"))
    return paths


def page_server_time(paths: list[tuple[str, str]], repeat: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()

    def timed(path: str) -> tuple[int, float, int]:
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
        return response.status_code, elapsed, len(ctx.captured_queries)

    def series(path: str) -> dict:
        for _ in range(3):
            status, _ms, queries = timed(path)
        if status != 200:
            raise BenchError(f"{path}: HTTP {status}")
        return {
            "path": path,
            "queries": queries,
            **percentiles([timed(path)[1] for _ in range(repeat)]),
        }

    out = {"healthz_before": series(run.HEALTHZ)}
    out["pages"] = [{"label": label, **series(path)} for label, path in paths]
    out["healthz_after"] = series(run.HEALTHZ)
    return out


def print_page(result: dict) -> None:
    base = (result["healthz_before"]["p50"] + result["healthz_after"]["p50"]) / 2
    print(
        f"\n  {'':<58} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p50/healthz':>12}"
    )
    rows = [("/healthz (before)", result["healthz_before"])]
    rows += [(f"{r['label']} {r['path']}", r) for r in result["pages"]]
    rows += [("/healthz (after)", result["healthz_after"])]
    for label, row in rows:
        print(
            f"  {label:<58} {row['queries']:>7} {row['p50']:8.1f} {row['p95']:8.1f}"
            f" {row['max']:8.1f} {row['p50'] / base:11.1f}×"
        )


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.scoreboard")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=300_000)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument(
        "--steps",
        default="100000,300000,1000000",
        help="cumulative case counts measured, comma-separated (--cases is always the last)",
    )
    parser.add_argument("--repeat", type=int, default=2, help="computations per period and step")
    parser.add_argument("--page-repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--duration", type=int, default=20, help="locust seconds per path")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--no-proposed", action="store_true", help="skip the proposed indexes")
    parser.add_argument("--keep-db", action="store_true", help="Reuse and keep the database.")
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        steps = sorted({int(s) for s in args.steps.split(",") if s.strip()} | {args.cases})
    except ValueError:
        parser.error("--steps: comma-separated integers")
    args.steps = [s for s in steps if 0 < s <= args.cases]
    if args.repeat < 1 or args.page_repeat < 1:
        parser.error("--repeat and --page-repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [CHILD_FLAG]:
        return child_main(json.loads(argv[1]))
    args = parse_args(argv)
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    load_before = run.loadavg()
    var_dir = Path(tempfile.mkdtemp(prefix="zheliban-scoreboard-bench-"))
    reuse = args.keep_db and db.exists()
    if not reuse:
        db.drop()
        db.create()
    status = 0
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "steps": []}
    try:
        configure_django(db, var_dir)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not reuse:
            logging.disable(logging.INFO)  # the demo's notices, a log line each
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # and the SMS it prints
                    call_command("seed_demo", stdout=io.StringIO())
            finally:
                logging.disable(logging.NOTSET)
        print(f"setup (migrate, static, seed_demo): {time.perf_counter() - started:.1f} s")
        day = timezone.localdate()
        year = (dt.date(day.year, 1, 1), dt.date(day.year + 1, 1, 1))
        print(
            f"periods measured: year {year[0]}–{year[1]} (exclusive; today {day}), rolling 30 days;"
            f" data spread over the {DAYS} days up to today"
        )
        cursor = connection.cursor()
        departments = prepare_departments(cursor)

        def sizes() -> dict:
            return {
                "cases": counted(
                    cursor,
                    "SELECT count(*) FROM workflows_application WHERE reference >= "
                    f"'{CASE_PREFIX}' AND reference < '{CASE_PREFIX}~'",
                ),
                "tasks": counted(cursor, "SELECT count(*) FROM workflows_task"),
                "events": counted(cursor, "SELECT count(*) FROM workflows_taskevent"),
                "ratings": counted(cursor, "SELECT count(*) FROM workflows_rating"),
                "rectifications": counted(cursor, "SELECT count(*) FROM workflows_rectification"),
                "tickets": counted(cursor, "SELECT count(*) FROM complaints_ticket"),
                "parts": counted(cursor, "SELECT count(*) FROM complaints_ticketdepartment"),
                "items": counted(cursor, "SELECT count(*) FROM catalog_serviceitem"),
            }

        rows: list[dict] = []
        have = sizes()
        if not reuse:
            print(f"\nbaseline: the demo province alone ({departments} departments measured)")
            result = measure(day, args.repeat)
            rows.append(_row("demo data only", have, result))
            print_table(rows[-1:])

        items_have = counted(
            cursor,
            f"SELECT count(*) FROM catalog_serviceitem WHERE code >= '{ITEM_PREFIX}' "
            f"AND code < '{ITEM_PREFIX}~'",
        )
        if items_have < args.items:
            started = time.perf_counter()
            n = insert_items(cursor, items_have + 1, args.items, departments)
            vacuum(cursor, ["catalog_serviceitem"])
            print(f"\ninserted {n:,} items in {time.perf_counter() - started:.1f} s")
        tickets_have = counted(
            cursor, "SELECT count(*) FROM complaints_ticket WHERE title LIKE '生成诉求%'"
        )
        if tickets_have < args.tickets:
            started = time.perf_counter()
            n, parts = insert_tickets(cursor, tickets_have + 1, args.tickets, departments)
            vacuum(cursor, ["complaints_ticket", "complaints_ticketdepartment"])
            print(
                f"inserted {n:,} tickets and {parts:,} departments' parts in "
                f"{time.perf_counter() - started:.1f} s"
            )

        for step in args.steps:
            cases_have = sizes()["cases"]
            if step < cases_have:
                print(f"\nstep {step:,}: skipped, {cases_have:,} cases already in the database")
                continue
            if step > cases_have:
                started = time.perf_counter()
                counts = insert_cases(cursor, cases_have + 1, step)
                insert_s = time.perf_counter() - started
                started = time.perf_counter()
                vacuum(
                    cursor,
                    [
                        "workflows_application",
                        "workflows_task",
                        "workflows_taskevent",
                        "workflows_rating",
                        "workflows_rectification",
                    ],
                )
                print(
                    f"\nstep {step:,}: inserted "
                    + ", ".join(f"{v:,} {k}" for k, v in counts.items())
                    + f" in {insert_s:.1f} s; VACUUM ANALYZE {time.perf_counter() - started:.1f} s"
                )
            have = sizes()
            print(
                "  database: "
                + ", ".join(f"{v:,} {k}" for k, v in have.items())
                + f"; load {run.loadavg()}"
            )
            last = step == args.steps[-1]
            result = measure(day, args.repeat, breakdown=last)
            rows.append(_row(f"{step:,} cases", have, result))
            print_table(rows[-1:])

        print(
            f"\nsnapshot_compute, child process per step; tickets ({have['tickets']:,}) and items "
            f"({have['items']:,}) at full size throughout, cases growing; 1st and 2nd run of "
            "each period, SQL time of the faster run, RSS peak of the child (Django included: "
            "compare with 'RSS setup', taken before computing), Python allocation peak of one "
            "more year computation under tracemalloc"
        )
        print_table(rows)
        report["steps"] = [{k: v for k, v in r.items() if k != "metrics"} for r in rows]

        if rows and "metrics" in rows[-1]:
            metrics = rows[-1]["metrics"]
            report["metrics"] = [{k: v for k, v in m.items() if k != "sql"} for m in metrics]
            print(f"\neach metric's aggregation alone at {rows[-1]['cases']:,} cases (s):")
            print(f"  {'metric':<20} {'year':>8} {'rolling30':>10} {'rows (year)':>12}")
            by_key: dict = {}
            for m in metrics:
                by_key.setdefault(m["metric"], {})[m["period"]] = m
            for key, periods in by_key.items():
                print(
                    f"  {key:<20} {periods['year']['seconds']:8.2f}"
                    f" {periods['rolling30']['seconds']:10.2f} {periods['year']['rows']:12,.0f}"
                )
            slowest = sorted(
                (m for m in metrics if m["period"] == "year"), key=lambda m: -m["seconds"]
            )[:3]
            report["explain"] = {}
            for m in slowest:
                plan = explain(cursor, m["sql"])
                report["explain"][m["metric"]] = {"sql": m["sql"], "plan": plan}
                print(f"\nEXPLAIN (ANALYZE, BUFFERS) of '{m['metric']}', year:\n  {m['sql']}")
                for line in plan:
                    print(f"    {line}")

            if PROPOSED and not args.no_proposed:
                started = time.perf_counter()
                for name, sql in PROPOSED:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")
                    cursor.execute(sql)
                vacuum(cursor, ["workflows_taskevent", "workflows_task"])
                print(
                    f"\nwith proposed index ({', '.join(n for n, _ in PROPOSED)}; created by hand "
                    f"in the bench database in {time.perf_counter() - started:.1f} s):"
                )
                for _name, sql in PROPOSED:
                    print(f"  {sql}")
                result = measure(day, args.repeat, breakdown=True)
                proposed_row = _row("with proposed index", have, result)
                print_table([rows[-1], proposed_row])
                print(f"  {'metric':<20} {'year before':>12} {'year with':>10}")
                after = {m["metric"]: m for m in result["metrics"] if m["period"] == "year"}
                for key, periods in by_key.items():
                    print(
                        f"  {key:<20} {periods['year']['seconds']:12.2f}"
                        f" {after[key]['seconds']:10.2f}"
                    )
                report["proposed"] = {
                    "indexes": PROPOSED,
                    "step": {k: v for k, v in proposed_row.items() if k != "metrics"},
                    "metrics": [
                        {k: v for k, v in m.items() if k != "sql"} for m in result["metrics"]
                    ],
                }
                for name, _sql in PROPOSED:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")

        # ---- the page
        from scoreboard import services

        started = time.perf_counter()
        services.scoreboard_compute_all(day=day)
        print(
            f"\nscoreboard_compute_all (every period, for the page): "
            f"{time.perf_counter() - started:.1f} s"
        )
        paths = board_paths()
        if not paths:
            print(
                f"\nthe public board ({BOARD_URL_NAME}) is not in the app yet, nor an API for it:"
                " page figures skipped"
            )
            report["page"] = None
        else:
            print(
                f"\nserver time in process (django.test.Client, DEBUG=0, PostgreSQL), "
                f"{args.page_repeat} timed requests each after 3 warm-up"
            )
            page = page_server_time(paths, args.page_repeat)
            print_page(page)
            report["page"] = page
            if not args.skip_throughput:
                connection.close()
                code = run.main(
                    [
                        "--pages",
                        *(path for _label, path in paths),
                        "--duration",
                        str(args.duration),
                        "--users",
                        str(args.users),
                        "--workers",
                        str(args.workers),
                        "--database-url",
                        args.database_url,
                        "--keep-db",
                        "--json",
                        str(var_dir / "throughput.json"),
                    ]
                )
                if (var_dir / "throughput.json").is_file():
                    report["throughput"] = json.loads((var_dir / "throughput.json").read_text())
                if code:
                    status = code
        print(f"\nload average before: {load_before}; after: {run.loadavg()}")
        if args.json:
            args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        status = 1
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            db.drop()
        shutil.rmtree(var_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
