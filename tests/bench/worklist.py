"""The worklist's search at scale: 100,000 open tasks in one department, searched by ID number.

    python -m tests.bench.worklist [--database-url postgres://postgres@127.0.0.1:5432/zheliban_bench_b_worklist]
                                   [--tasks 100000] [--per-citizen 5] [--repeat 50] [--json out.json]

1. Builds a fresh PostgreSQL database (``zheliban_bench*`` only): migrate and ``seed_demo``.
2. Bulk inserts ``--tasks`` ready tasks of 卫健's first newborn step, ``--per-citizen`` cases per
   citizen (so ``tasks / per-citizen`` citizens, each with an ID number and a mobile), with due
   dates around today (some overdue, some due today), then ``ANALYZE``.
3. Through Django's test client (production settings, ``DEBUG=0``), as the 卫健 clerk: the
   worklist searched by ID number (each search a different citizen), by mobile, by name and by
   reference, the plain list, the overdue view; each next to ``/healthz`` through the same
   client in the same run. Printed: queries (the worklist's budget) and p50/p95 per request.

Figures are printed, never asserted. The database is dropped at the end.
"""  # noqa: E501

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import run
from tests.bench.run import BenchError, Database
from tests.bench.search import configure_django, percentiles
from tests.bench.workflows import _timed

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench_b_worklist"
BATCH = 5000


def seed(total: int, per_citizen: int) -> list:
    """``total`` ready 卫健 tasks of ``total / per_citizen`` citizens (bulk). Returns the
    citizens as (id number, phone, name, a reference of theirs)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Bundle, ServiceItem
    from departments.models import Department
    from tests.factories import make_id_number
    from workflows.models import Application, Task, WorkflowDefinition

    User = get_user_model()
    bundle = Bundle.objects.get(slug="newborn")
    wf = WorkflowDefinition.objects.get(bundle=bundle, status="active")
    step = wf.compiled["steps"][0]
    item = ServiceItem.objects.get(code=step["item"])
    dept = Department.objects.get(code=step["department"])
    now = timezone.now()
    today = timezone.localdate()
    citizens_n = max(1, total // per_citizen)
    start = dt.date(1960, 1, 1)
    citizens = []
    for first in range(0, citizens_n, BATCH):
        users = [
            User(
                username=f"bench-wl-{i}",
                real_name=f"市民{i}",
                id_number=make_id_number(
                    i % 1000, (start + dt.timedelta(days=i // 1000)).strftime("%Y%m%d")
                ),
                phone=f"136{i:08d}",
                kind="citizen",
                password="!",
            )
            for i in range(first, min(citizens_n, first + BATCH))
        ]
        citizens += User.objects.bulk_create(users)
    made = 0
    refs = {}
    while made < total:
        n = min(BATCH, total - made)
        apps = Application.objects.bulk_create(
            [
                Application(
                    applicant=citizens[(made + k) % citizens_n],
                    bundle=bundle,
                    definition=wf,
                    status="in_progress",
                    idempotency_key=f"bench-wl-{made + k}",
                    submitted_at=now,
                    reference=f"ZB{made + k:014d}",
                    data={"baby_name": f"宝宝{made + k}"},
                )
                for k in range(n)
            ]
        )
        Task.objects.bulk_create(
            [
                Task(
                    application=app,
                    step=step["name"],
                    label=step["label"] or step["name"],
                    item=item,
                    department=dept,
                    state="ready",
                    due_workdays=step["due_workdays"],
                    ready_at=now,
                    due_date=today + dt.timedelta(days=((made + k) % 9) - 3),
                    version=1,
                )
                for k, app in enumerate(apps)
            ]
        )
        for app in apps:
            refs.setdefault(app.applicant_id, app.reference)
        made += n
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return [(c.id_number, c.phone, c.real_name, refs.get(c.pk)) for c in citizens]


def measure(citizens: list, repeat: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="330100-weijian-clerk"))
    step = max(1, len(citizens) // (repeat + 5))
    sample = citizens[::step][: repeat + 5]
    paths = {
        "search by ID number": [f"/staff/tasks/?q={c[0]}" for c in sample],
        "search by mobile": [f"/staff/tasks/?q={c[1]}" for c in sample],
        "search by name": [f"/staff/tasks/?q={c[2]}" for c in sample],
        "search by reference": [f"/staff/tasks/?q={c[3]}" for c in sample],
        "plain list": ["/staff/tasks/"] * (repeat + 5),
        "overdue view": ["/staff/tasks/?overdue=1"] * (repeat + 5),
    }
    out: dict = {}
    baseline: list[float] = []
    for label, urls in paths.items():
        for _ in range(5):
            baseline.append(_timed(client, "get", run.HEALTHZ)[1])
        times, queries, rows = [], set(), 0
        for n, url in enumerate(urls):
            response, ms, q = _timed(client, "get", url)
            if response.status_code != 200:
                raise BenchError(f"{url}: HTTP {response.status_code}")
            if n >= 5:  # warm-up excluded
                times.append(ms)
                queries.add(q)
            rows = response.content.decode().count("<tr data-task=")
        out[label] = {"queries": sorted(queries), "rows": rows, **percentiles(times)}
    for _ in range(repeat):
        baseline.append(_timed(client, "get", run.HEALTHZ)[1])
    out["/healthz"] = {"queries": [], "rows": 0, **percentiles(baseline)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.worklist")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--per-citizen", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    var_dir = Path(tempfile.mkdtemp(prefix="zheliban-worklist-bench-"))
    db.drop()
    db.create()
    try:
        configure_django(db, var_dir)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        started = time.perf_counter()
        call_command("seed_demo", stdout=io.StringIO())
        print(f"seed_demo: {time.perf_counter() - started:.1f} s; load {run.loadavg()}")
        started = time.perf_counter()
        citizens = seed(args.tasks, args.per_citizen)
        print(
            f"seeded {args.tasks} ready tasks of {len(citizens)} citizens in 330100-weijian:"
            f" {time.perf_counter() - started:.1f} s"
        )
        figures = measure(citizens, args.repeat)
        print(f"\nWorklist of 330100-weijian (/staff/tasks/) at {args.tasks} open tasks")
        for label, row in figures.items():
            queries = "/".join(str(q) for q in row["queries"]) or "-"
            print(
                f"  {label:<22} n={row['n']:<4} queries {queries:>5}  rows {row['rows']:>3}"
                f"  p50 {row['p50']:7.1f} ms  p95 {row['p95']:7.1f} ms  max {row['max']:7.1f} ms"
            )
        ratio = figures["search by ID number"]["p95"] / max(figures["/healthz"]["p95"], 0.001)
        print(f"  ID-number search p95 / healthz p95: {ratio:.1f}x")
        print(f"\nload average after: {run.loadavg()}")
        if args.json:
            args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 1
    finally:
        from django.db import connections

        connections.close_all()
        db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
