"""Leaders' statistics of the complaints desk at scale: the page and the API over many tickets.

    python -m tests.bench.ticket_stats [--tickets 1000000] [--repeat 20]
        [--database-url postgres://postgres@127.0.0.1:5432/zheliban_bench_ticket_stats]
        [--data-dir ../shared/data] [--keep-db] [--json out.json]

1. Builds a fresh PostgreSQL database (named ``zheliban_bench*``): ``migrate``, ``collectstatic``,
   ``seed_demo`` (the demo province: regions, departments, staff), plus a 12345 hotline desk
   department (kind ``rexian``) with one member.
2. Loads ``--tickets`` tickets received over the last two years with ``COPY`` (every column of
   the model, its defaults filled in), from a fixed seed: title and text of the real messages in
   ``complaints/*.jsonl`` under the data folder (``--data-dir``, ``$ZHELIBAN_DATA_DIR`` or
   ``../shared/data``), their category when labelled, a region (mostly the districts of 杭州市,
   then the cities), the lead department of that category's kind in that region, a channel, a
   kind, and the state, deadlines, timeliness, satisfaction, returns and reopenings a ticket of
   that age would have. Then ``VACUUM ANALYZE`` and, as after any bulk load,
   ``rebuild_ticket_stats`` (timed and printed, with the number of cells it wrote).
3. Server time, in process (Django's test ``Client``, ``zheliban.settings``, ``DEBUG=0``): each
   path is requested 3 times to warm up then ``--repeat`` times timed; printed are the queries per
   request, p50/p95/max wall time and the ratio of p50 to the p50 of the desk's plain staff list
   page (``/staff/tickets/?view=all``: the open tickets, 25 a page) and of ``/healthz``, both
   measured through the same client in the same run (before and after the statistics; both
   printed, with the desk's default list, the dispatch queue, which runs the dispatch model on
   every row). The slowest SQL statements of the default desk page are printed too.

Figures are printed, never asserted. The database is dropped at the end unless ``--keep-db``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import run
from tests.bench.run import BenchError, Database
from tests.bench.search import configure_django, percentiles

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench_ticket_stats"
BATCH = 50_000  # tickets per COPY
DAYS = 730
DESK_CODE = "330000-rexian"
SCOPED_USER = "330100-zhujian-clerk"

# The plain staff list the statistics are compared with: the desk's open tickets, 25 a page
# (its default view, the dispatch queue, also runs the dispatch model on every row; printed too).
LIST_PAGE = "/staff/tickets/?view=all"
QUEUE_PAGE = "/staff/tickets/"
# (label, user, path)
PATHS = [
    ("page, desk, last 30 days", "desk", "/staff/tickets/stats/"),
    ("page, desk, 1 year by month", "desk", "/staff/tickets/stats/?{year}&period=month"),
    (
        "page, desk, 杭州市 + 城乡建设",
        "desk",
        "/staff/tickets/stats/?region=330100&category=城乡建设",
    ),
    ("page, desk, 2 years by week", "desk", "/staff/tickets/stats/?{two_years}&period=week"),
    ("page, 杭州住建 clerk, 30 days", "scoped", "/staff/tickets/stats/"),
    ("page CSV, desk, 30 days", "desk", "/staff/tickets/stats/?format=csv"),
    ("API, desk, last 30 days", "desk", "/api/v1/tickets/stats/"),
    ("API, desk, 1 year by month", "desk", "/api/v1/tickets/stats/?{year}&period=month"),
    ("API, 杭州住建 clerk, 1 year", "scoped", "/api/v1/tickets/stats/?{year}&period=month"),
]


def load_messages(data_dir: Path) -> list[tuple[str, str, str]]:
    """(title, text, category) of the real messages; category empty when unlabelled."""
    messages = []
    for name in ("labelled_messages.jsonl", "unlabelled_messages.jsonl"):
        path = data_dir / "complaints" / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                messages.append(
                    (
                        (record.get("topic") or "诉求")[:100],
                        record.get("detail") or record.get("topic") or "",
                        record.get("category") or "",
                    )
                )
    if not messages:
        raise BenchError(f"no messages under {data_dir / 'complaints'} (set --data-dir)")
    return messages


def prepare_desk():
    """The province's 12345 hotline desk and one member of it (``seed_demo`` has none)."""
    from django.contrib.auth import get_user_model

    from departments.models import Department, Membership, Region

    desk, _ = Department.objects.update_or_create(
        code=DESK_CODE,
        defaults={
            "name": "浙江省12345政务服务便民热线",
            "kind": Department.Kind.HOTLINE,
            "region": Region.objects.get(code="330000"),
        },
    )
    user, _ = get_user_model().objects.get_or_create(
        username="bench-desk-supervisor",
        defaults={"kind": "staff", "is_staff": True, "real_name": "热线科长"},
    )
    Membership.objects.get_or_create(user=user, department=desk, role="supervisor")
    return user


def insert_tickets(total: int, messages: list[tuple[str, str, str]], seed: int = 12345) -> None:
    from django.utils import timezone

    from complaints.dispatch.categories import CATEGORIES
    from complaints.models import Ticket
    from departments.models import Department, Region

    rng = random.Random(seed)
    regions = list(Region.objects.exclude(level="province"))
    counties = [r for r in regions if r.level == "county"]
    cities = [r for r in regions if r.level == "city"]
    departments = {(d.region_id, d.kind): d for d in Department.objects.all()}
    parents = {r.pk: r.parent_id for r in regions}
    categories = list(CATEGORIES.values())
    now = timezone.now()
    today = timezone.localdate()
    kinds = Ticket.Kind.values
    kind_weights = [30, 40, 5, 15, 8, 2]
    channels = Ticket.Channel.values
    channel_weights = [30, 25, 35, 5, 5]
    open_states = [s for s in Ticket.OPEN_STATES]
    made = 0
    while made < total:
        batch = []
        for _ in range(min(BATCH, total - made)):
            title, text, category = messages[rng.randrange(len(messages))]
            if not category or rng.random() < 0.1:
                category = rng.choice(categories).name if rng.random() < 0.95 else ""
            region = rng.choice(counties) if rng.random() < 0.6 else rng.choice(cities)
            age = dt.timedelta(seconds=rng.randrange(DAYS * 86400))
            created = now - age
            days_old = age.days
            kind = CATEGORIES[category].department_kind if category else None
            department = None
            if kind:
                department = departments.get((region.pk, kind)) or departments.get(
                    (parents.get(region.pk), kind)
                )
            fields = {
                "kind": rng.choices(kinds, kind_weights)[0],
                "channel": rng.choices(channels, channel_weights)[0],
                "title": title,
                "content": text,
                "region_id": region.pk,
                "category": category,
                "created_at": created,
                "updated_at": created,
            }
            roll = rng.random()
            if rng.random() < 0.04:
                fields["state"] = Ticket.State.LINKED
            elif department is None:
                fields["state"] = Ticket.State.QUEUED
                fields["node_due_date"] = created.date() + dt.timedelta(days=1)
            elif (days_old > 20 and roll < 0.93) or (days_old > 5 and roll < 0.5):
                closed = created + dt.timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 9))
                fields.update(
                    state=Ticket.State.CLOSED,
                    closed_at=min(closed, now),
                    signed_on_time=rng.random() < 0.93,
                    answered_on_time=rng.random() < 0.86,
                    satisfaction=rng.choices([1, 2, 3, 4, 5], [4, 5, 9, 27, 55])[0]
                    if rng.random() < 0.8
                    else None,
                    reopen_count=1 if rng.random() < 0.03 else 0,
                )
            else:
                state = rng.choice(open_states[2:])
                fields.update(
                    state=state,
                    node_due_date=today + dt.timedelta(days=rng.randint(-6, 10)),
                    signed_on_time=None if state == "dispatched" else rng.random() < 0.9,
                    answered_on_time=rng.random() < 0.85
                    if state in ("answered", "called_back")
                    else None,
                )
            if department is not None and fields["state"] != Ticket.State.LINKED:
                fields.update(
                    department_id=department.pk,
                    dispatched_automatically=rng.random() < 0.7,
                    return_count=1 if rng.random() < 0.06 else 0,
                )
            batch.append(Ticket(**fields))
        copy_tickets(batch)
        made += len(batch)
        print(f"\r  tickets: {made:,}/{total:,}", end="", flush=True)
    print()


def _copy_text(value) -> str:
    """A model attribute as ``COPY … FROM STDIN`` (text format) reads it."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_tickets(tickets: list) -> None:
    """Write the tickets with one ``COPY``: every concrete column but the id, defaults included
    (the model filled them in), far faster than ``bulk_create``."""
    from django.db import connection

    from complaints.models import Ticket

    fields = [f for f in Ticket._meta.concrete_fields if not f.primary_key]
    buffer = io.StringIO()
    for ticket in tickets:
        buffer.write("\t".join(_copy_text(getattr(ticket, field.attname)) for field in fields))
        buffer.write("\n")
    buffer.seek(0)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Ticket._meta.db_table)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def _timed(client, path: str):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
    return response, elapsed, ctx.captured_queries


def server_time(users: dict, repeat: int) -> tuple[list[dict], dict, list[tuple[float, str]]]:
    from urllib.parse import quote

    from django.test import Client
    from django.utils import timezone

    today = timezone.localdate()
    values = {
        "year": f"date_from={today - dt.timedelta(days=364)}&date_to={today}",
        "two_years": f"date_from={today - dt.timedelta(days=DAYS - 1)}&date_to={today}",
    }
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)

    def measure(client, path: str) -> tuple[dict, int]:
        for _ in range(3):
            response, _ms, queries = _timed(client, path)
        if response.status_code != 200:
            raise BenchError(f"{path}: HTTP {response.status_code}")
        return percentiles([_timed(client, path)[1] for _ in range(repeat)]), len(queries)

    def baselines() -> dict:
        healthz, _queries = measure(Client(), run.HEALTHZ)
        listed, queries = measure(clients["desk"], LIST_PAGE)
        queue, queue_queries = measure(clients["desk"], QUEUE_PAGE)
        return {
            "healthz": healthz,
            "list": {**listed, "queries": queries},
            "queue": {**queue, "queries": queue_queries},
        }

    before = baselines()
    rows, slowest = [], []
    for label, who, template in PATHS:
        path = template.format(**values)
        path = path.replace("城乡建设", quote("城乡建设"))
        client = clients[who]
        if label == PATHS[0][0]:
            queries = _timed(client, path)[2]
            slowest = sorted(((float(q["time"]) * 1000, q["sql"]) for q in queries), reverse=True)
        figures, queries_count = measure(client, path)
        rows.append({"label": label, "path": path, "queries": queries_count, **figures})
    after = baselines()
    return rows, {"before": before, "after": after}, slowest[:4]


def rebuild_rollups() -> dict:
    """``rebuild_ticket_stats`` as after any bulk load, timed; then the cells analysed."""
    from django.core.management import call_command
    from django.db import connection

    from complaints.models import TicketClosedCell, TicketStatsCell

    out = io.StringIO()
    started = time.perf_counter()
    call_command("rebuild_ticket_stats", stdout=out)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        for model in (TicketStatsCell, TicketClosedCell):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('complaints_ticketstatscell')"
            " + pg_total_relation_size('complaints_ticketclosedcell'))"
        )
        size = cursor.fetchone()[0]
    return {
        "seconds": elapsed,
        "output": out.getvalue().strip(),
        "cells": TicketStatsCell.objects.count(),
        "closed_cells": TicketClosedCell.objects.count(),
        "size": size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.ticket_stats")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("ZHELIBAN_DATA_DIR") or REPO_ROOT.parent / "shared" / "data"),
    )
    parser.add_argument("--keep-db", action="store_true", help="Reuse and keep the database.")
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        db = Database.from_url(args.database_url)
        messages = load_messages(args.data_dir)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    load_before = run.loadavg()
    var_dir = Path(tempfile.mkdtemp(prefix="zheliban-ticket-stats-bench-"))
    reuse = args.keep_db and db.exists()
    if not reuse:
        db.drop()
        db.create()
    status = 0
    try:
        configure_django(db, var_dir)
        import django

        django.setup()
        import logging

        logging.getLogger("axes").setLevel(logging.WARNING)  # a line per login otherwise
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection

        from complaints.models import Ticket

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not reuse:
            call_command("seed_demo", stdout=io.StringIO())
        desk_user = prepare_desk()
        print(f"setup (migrate, static, seed_demo): {time.perf_counter() - started:.1f} s")
        have = Ticket.objects.count()
        if have < args.tickets:
            started = time.perf_counter()
            insert_tickets(args.tickets - have, messages, seed=12345 + have)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE complaints_ticket")
            elapsed = time.perf_counter() - started
            print(f"inserted {args.tickets - have:,} tickets in {elapsed:.1f} s (COPY)")
        rebuilt = rebuild_rollups()
        print(
            f"rebuild_ticket_stats: {rebuilt['seconds']:.1f} s, {rebuilt['cells']:,} cells and "
            f"{rebuilt['closed_cells']:,} closing cells ({rebuilt['size']})\n  {rebuilt['output']}"
        )
        total = Ticket.objects.count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('complaints_ticket'))")
            size = cursor.fetchone()[0]
        users = {
            "desk": desk_user,
            "scoped": get_user_model().objects.get(username=SCOPED_USER),
        }
        print(
            f"\n{total:,} tickets over {DAYS} days ({size}); server time in process "
            f"(django.test.Client, DEBUG=0, PostgreSQL), {args.repeat} timed requests each"
        )
        rows, baseline, slowest = server_time(users, args.repeat)
        listed = (baseline["before"]["list"]["p50"] + baseline["after"]["list"]["p50"]) / 2
        base = (baseline["before"]["healthz"]["p50"] + baseline["after"]["healthz"]["p50"]) / 2
        header = (
            f"{'queries':>7} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'p50/list':>9} "
            f"{'p50/healthz':>12}"
        )

        def line(name: str, queries: int, row: dict) -> str:
            return (
                f"  {name:<32} {queries:>7} {row['p50']:9.1f} {row['p95']:9.1f} {row['max']:9.1f}"
                f" {row['p50'] / listed:8.2f}× {row['p50'] / base:11.0f}×"
            )

        print(f"\n  {'':<32} {header}")
        for when in ("before", "after"):
            print(line(f"/healthz ({when})", 1, baseline[when]["healthz"]))
            for key, label in (("list", "list, desk, open"), ("queue", "list, desk, queue")):
                row = baseline[when][key]
                print(line(f"{label} ({when})", row["queries"], row))
            if when == "before":
                for row in rows:
                    print(line(row["label"], row["queries"], row))
        worst = max(row["p50"] / listed for row in rows)
        print(f"\n  slowest statistics view: {worst:.2f}× the list page's p50 ({listed:.1f} ms)")
        print("\n  slowest statements of the desk's default page (ms):")
        for ms, sql in slowest:
            print(f"    {ms:8.1f}  {sql[:150]}…")
        print(f"\nload average before: {load_before}; after: {run.loadavg()}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "tickets": total,
                        "size": size,
                        "rebuild": rebuilt,
                        "paths": rows,
                        "baselines": baseline,
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        status = 1
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            db.drop()
    return status


if __name__ == "__main__":
    sys.exit(main())
