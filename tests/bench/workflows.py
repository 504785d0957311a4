"""Joint handling at scale: submitting the newborn bundle, a 10,000-task worklist, citizen effort.

    python -m tests.bench.workflows [--database-url postgres://postgres@127.0.0.1:5432/zheliban_bench_workflows]
                                    [--submissions 60] [--tasks 10000] [--repeat 30]
                                    [--broker-url redis://127.0.0.1:6379/15] [--json out.json]

1. Builds a fresh PostgreSQL database: migrate and ``seed_demo`` (the demo province with its
   active newborn workflow, data-sharing grants and registers).
2. Submission: ``--submissions`` citizens, each with a population record (hukou in the city) and
   a birth record three days old naming them as the mother (bulk inserted), apply for the newborn
   bundle (5 items, 4 departments) through Django's test client, production settings
   (``DEBUG=0``), the outbox publishing to a real Redis broker on a queue nobody consumes. Each
   opens the form (the registers fill it), types the baby's name, ticks "same as the hukou
   address" twice, uploads the photo, reviews and files from the check page; then applies once
   more through the form's direct ``action=submit`` (older clients). Both filing POSTs read the
   registers, attach the fetched documents and log the reads. Printed: queries and server time
   (p50/p95) of each request, next to ``/healthz`` through the same client.
3. Worklist: the 卫健 clerk's ``/staff/tasks/`` with 100 open tasks, then with ``--tasks`` open
   tasks (bulk inserted): query counts at both sizes and p50/p95 page time, first page, a deep
   page and the overdue filter.
4. Citizen effort, from the form the apply page really prepares
   (``workflows.selectors.application_prepare``): *before*, a citizen the registers know nothing
   about; *after*, citizen1 (the demo father of a girl born six days ago). Values typed, options
   chosen, boxes ticked, files uploaded; then both walk the pages through the test client (home,
   the bundle, apply, check, confirmation), giving only that, and the pages are counted. Also the
   bundle's items applied for one by one (no registers), and trips.

Figures are printed, never asserted. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import run
from tests.bench.run import BenchError, Database
from tests.bench.search import configure_django, percentiles

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench_workflows"
QUEUE = "zheliban-bench-unconsumed"
# A 1×1 PNG: the photo the newborn's social security card needs.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _timed(client, method: str, path: str, data=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = (
            getattr(client, method)(path, data)
            if data is not None
            else getattr(client, method)(path)
        )
        elapsed = (time.perf_counter() - started) * 1000
    return response, elapsed, len(ctx.captured_queries)


def _citizens(n: int):
    from django.contrib.auth import get_user_model

    from tests.factories import make_id_number

    User = get_user_model()
    users = [
        User(
            username=f"bench-citizen-{i}",
            real_name=f"市民{i}",
            id_number=make_id_number(i, "19900101" if i < 1000 else "19910101"),
            phone=f"137{i:08d}",
            kind="citizen",
        )
        for i in range(n)
    ]
    for user in users:
        user.set_unusable_password()
    return User.objects.bulk_create(users)


def bench_submission(n: int) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from tests.factories import make_id_number

    client = Client()
    baseline = []
    for _ in range(20):
        baseline.append(_timed(client, "get", run.HEALTHZ)[1])
    times, queries, form_times = [], [], []
    for i, citizen in enumerate(_citizens(n)):
        client.force_login(citizen)
        response, form_ms, _q = _timed(client, "get", "/apply/bundle/newborn/")
        if response.status_code != 200:
            raise BenchError(f"form page: HTTP {response.status_code}")
        match = re.search(r'name="submit_key" value="([^"]+)"', response.content.decode())
        if match is None:
            raise BenchError("the form page has no submit key")
        draft_key = match.group(1)
        data = {
            "baby_name": f"宝宝{i}",
            "baby_gender": "女",
            "birth_date": "2026-11-20",
            "birth_hospital": "浙江大学医学院附属妇产科医院",
            "mother_name": citizen.real_name,
            "mother_id_number": citizen.id_number,
            "father_name": "陈立新",
            "father_id_number": make_id_number(500 + i, "19870701"),
            "hukou_address": "杭州市西湖区文三路 100 号",
            "mailing_address": "杭州市西湖区文三路 100 号",
            "residence_address": "杭州市西湖区文三路 100 号",
            "contact_phone": citizen.phone,
            "action": "submit",
            "submit_key": str(draft_key),
        }
        for name in re.findall(r'type="file" name="([^"]+)"', response.content.decode()):
            data[name] = SimpleUploadedFile("photo.png", PNG, "image/png")
        response, ms, q = _timed(client, "post", "/apply/bundle/newborn/", data)
        if response.status_code != 302:
            errors = re.findall(r'class="error" role="alert">([^<]+)<', response.content.decode())
            raise BenchError(f"submission refused: HTTP {response.status_code} {errors}")
        if i >= 5:  # warm-up excluded
            times.append(ms)
            queries.append(q)
            form_times.append(form_ms)
    for _ in range(20):
        baseline.append(_timed(client, "get", run.HEALTHZ)[1])
    return {
        "submit": percentiles(times),
        "form_page": percentiles(form_times),
        "queries_min": min(queries),
        "queries_max": max(queries),
        "healthz": percentiles(baseline),
    }


def _bulk_tasks(total: int) -> None:
    """Open tasks in 卫健's worklist, as submitted cases leave them (bulk, for speed)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from catalog.models import Bundle
    from workflows.models import Application, Task, WorkflowDefinition

    User = get_user_model()
    applicant = User.objects.get(username="citizen3")
    bundle = Bundle.objects.get(slug="newborn")
    wf = WorkflowDefinition.objects.get(bundle=bundle, status="active")
    step = wf.compiled["steps"][0]
    from catalog.models import ServiceItem
    from departments.models import Department

    item = ServiceItem.objects.get(code=step["item"])
    dept = Department.objects.get(code=step["department"])
    have = Task.objects.filter(department=dept).exclude(state="waiting").count()
    now = timezone.now()
    today = timezone.localdate()
    batch = 2000
    while have < total:
        n = min(batch, total - have)
        apps = Application.objects.bulk_create(
            [
                Application(
                    applicant=applicant,
                    bundle=bundle,
                    definition=wf,
                    status="in_progress",
                    idempotency_key=f"bench-{have + k}",
                    submitted_at=now,
                    reference=f"ZB{have + k:014d}",
                    data={"baby_name": f"宝宝{have + k}"},
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
                    due_date=today + dt.timedelta(days=(k % 9) - 3),
                    version=1,
                )
                for k, app in enumerate(apps)
            ]
        )
        have += n


def bench_worklist(total: int, repeat: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="330100-weijian-clerk"))
    paths = {
        "first page": "/staff/tasks/",
        "page 40": "/staff/tasks/?page=40",
        "overdue": "/staff/tasks/?overdue=1",
    }
    out: dict = {}
    for size in (100, total):
        _bulk_tasks(size)
        for label, path in paths.items():
            if size == 100 and label == "page 40":
                path = "/staff/tasks/?page=2"
            for _ in range(3):
                response, _ms, queries = _timed(client, "get", path)
            if response.status_code != 200:
                raise BenchError(f"{path}: HTTP {response.status_code}")
            times = [_timed(client, "get", path)[1] for _ in range(repeat)]
            out[(size, label)] = {"queries": queries, **percentiles(times)}
    return out


def bench_effort() -> dict:
    from django.contrib.auth import get_user_model

    from catalog.models import Bundle
    from workflows import selectors, services
    from workflows.forms import prefill

    citizen = get_user_model().objects.get(username="citizen1")
    bundle = Bundle.objects.get(slug="newborn")
    wf = services.workflow_for(bundle=bundle)
    licences = selectors.licences_for(citizen)

    def effort(spec) -> tuple[int, int]:
        known = prefill(spec, user=citizen, licences=licences)
        typed = sum(1 for f in spec.fields if f.name not in known)
        uploads = sum(1 for m in spec.asked_materials if m.required)
        return typed, uploads

    together = effort(
        selectors.form_spec_for(user=citizen, bundle=bundle, produced=selectors.produced_fields(wf))
    )
    separate = [0, 0]
    items = [part.item for part in bundle.parts.select_related("item").order_by("sort_order", "id")]
    for item in items:
        typed, uploads = effort(selectors.form_spec_for(user=citizen, item=item))
        separate[0] += typed
        separate[1] += uploads
    return {
        "bundle_fields": together[0],
        "bundle_uploads": together[1],
        "separate_fields": separate[0],
        "separate_uploads": separate[1],
        "applications": (1, len(items)),
        "trips_bundle": bundle.trips,
        "trips_separate": sum(item.trips for item in items),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.workflows")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--submissions", type=int, default=60)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    import os

    var_dir = Path(tempfile.mkdtemp(prefix="zheliban-workflows-bench-"))
    db.drop()
    db.create()
    try:
        configure_django(db, var_dir)
        os.environ["CELERY_BROKER_URL"] = args.broker_url
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
        os.environ["CELERY_TASK_DEFAULT_QUEUE"] = QUEUE
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from zheliban import celery_app

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        celery_app.conf.task_default_queue = QUEUE
        import io

        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        started = time.perf_counter()
        call_command("seed_demo", stdout=io.StringIO())
        print(f"seed_demo: {time.perf_counter() - started:.1f} s; load {run.loadavg()}")

        sub = bench_submission(args.submissions)
        print("\nNewborn bundle submission (POST /apply/bundle/newborn/, 5 items, 4 departments)")
        print(f"  queries per submission: {sub['queries_min']}–{sub['queries_max']}")
        for label, row in (
            ("submit POST", sub["submit"]),
            ("form page GET", sub["form_page"]),
            ("/healthz baseline", sub["healthz"]),
        ):
            print(
                f"  {label:<18} n={row['n']:<4} p50 {row['p50']:7.1f} ms"
                f"  p95 {row['p95']:7.1f} ms  max {row['max']:7.1f} ms"
            )

        wl = bench_worklist(args.tasks, args.repeat)
        print(f"\nWorklist of 330100-weijian (/staff/tasks/), 100 vs {args.tasks} open tasks")
        for (size, label), row in wl.items():
            print(
                f"  {size:>6} tasks  {label:<11} queries {row['queries']:>3}"
                f"  p50 {row['p50']:7.1f} ms  p95 {row['p95']:7.1f} ms"
            )

        eff = bench_effort()
        print("\nCitizen effort, newborn bundle vs its items one by one")
        print(f"  applications: {eff['applications'][0]} vs {eff['applications'][1]}")
        print(f"  fields typed: {eff['bundle_fields']} vs {eff['separate_fields']}")
        print(f"  uploads made: {eff['bundle_uploads']} vs {eff['separate_uploads']}")
        print(f"  trips: {eff['trips_bundle']} vs {eff['trips_separate']}")
        print(f"\nload average after: {run.loadavg()}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "submission": sub,
                        "worklist": {f"{s} {label}": r for (s, label), r in wl.items()},
                        "effort": eff,
                    },
                    ensure_ascii=False,
                    indent=2,
                    default=str,
                )
            )
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 1
    finally:
        from django.db import connections

        connections.close_all()
        db.drop()
        try:
            import redis

            client = redis.Redis.from_url(args.broker_url)
            client.delete(QUEUE)
        except Exception as exc:
            print(f"could not clear the bench queue: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
