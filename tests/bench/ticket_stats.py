"""Leaders' statistics of the complaints desk at scale: the page and the API over many tickets.

    python -m tests.bench.ticket_stats [--tickets 200000] [--repeat 20]
        [--database-url postgres://postgres@127.0.0.1:5432/zheliban_bench_ticket_stats]
        [--data-dir ../shared/data] [--keep-db] [--json out.json]

1. Builds a fresh PostgreSQL database (named ``zheliban_bench*``): ``migrate``, ``collectstatic``,
   ``seed_demo`` (the demo province: regions, departments, staff), plus a 12345 hotline desk
   department (kind ``rexian``) with one member.
2. Bulk-inserts ``--tickets`` tickets received over the last two years, from a fixed seed: title
   and text of the real messages in ``complaints/*.jsonl`` under the data folder (``--data-dir``,
   ``$ZHELIBAN_DATA_DIR`` or ``../shared/data``), their category when labelled, a region (mostly
   the districts of 杭州市, then the cities), the lead department of that category's kind in that
   region, a channel, a kind, and the state, deadlines, timeliness, satisfaction, returns and
   reopenings a ticket of that age would have. Then ``VACUUM ANALYZE``.
3. Server time, in process (Django's test ``Client``, ``zheliban.settings``, ``DEBUG=0``): each
   path is requested 3 times to warm up then ``--repeat`` times timed; printed are the queries per
   request, p50/p95/max wall time and the ratio of p50 to the ``/healthz`` p50 measured through
   the same client in the same run (before and after; both printed). The slowest SQL statements
   of the default desk page are printed too.

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
BATCH = 5000
DAYS = 730
DESK_CODE = "330000-rexian"
SCOPED_USER = "330100-zhujian-clerk"

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
        Ticket.objects.bulk_create(batch, batch_size=1000)
        made += len(batch)
        print(f"\r  tickets: {made:,}/{total:,}", end="", flush=True)
    print()


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

    def healthz() -> dict:
        client = Client()
        for _ in range(3):
            _timed(client, run.HEALTHZ)
        return percentiles([_timed(client, run.HEALTHZ)[1] for _ in range(repeat * 2)])

    before = healthz()
    rows, slowest = [], []
    for label, who, template in PATHS:
        path = template.format(**values)
        path = path.replace("城乡建设", quote("城乡建设"))
        client = clients[who]
        for _ in range(3):
            response, _ms, queries = _timed(client, path)
        if response.status_code != 200:
            raise BenchError(f"{path}: HTTP {response.status_code}")
        if label == PATHS[0][0]:
            slowest = sorted(((float(q["time"]) * 1000, q["sql"]) for q in queries), reverse=True)
        times = [_timed(client, path)[1] for _ in range(repeat)]
        rows.append({"label": label, "path": path, "queries": len(queries), **percentiles(times)})
    after = healthz()
    return rows, {"before": before, "after": after}, slowest[:4]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.ticket_stats")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--tickets", type=int, default=200_000)
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
            print(f"inserted {args.tickets - have:,} tickets in {elapsed:.1f} s")
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
        base = (baseline["before"]["p50"] + baseline["after"]["p50"]) / 2
        header = f"{'queries':>7} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'p50/healthz':>12}"
        print(f"\n  {'':<32} {header}")
        for name, row in (("/healthz (before)", baseline["before"]),):
            print(f"  {name:<32} {1:>7} {row['p50']:9.1f} {row['p95']:9.1f} {row['max']:9.1f}")
        for row in rows:
            print(
                f"  {row['label']:<32} {row['queries']:>7} {row['p50']:9.1f} {row['p95']:9.1f}"
                f" {row['max']:9.1f} {row['p50'] / base:11.0f}×"
            )
        row = baseline["after"]
        name = "/healthz (after)"
        print(f"  {name:<32} {1:>7} {row['p50']:9.1f} {row['p95']:9.1f} {row['max']:9.1f}")
        print("\n  slowest statements of the desk's default page (ms):")
        for ms, sql in slowest:
            print(f"    {ms:8.1f}  {sql[:150]}…")
        print(f"\nload average before: {load_before}; after: {run.loadavg()}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"tickets": total, "size": size, "paths": rows, "healthz": baseline},
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
