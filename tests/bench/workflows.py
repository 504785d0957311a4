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


APPLY = "/apply/bundle/newborn/"
CHECK = "/apply/bundle/newborn/check/"


def _submit_key(body: str) -> str:
    match = re.search(r'name="submit_key" value="([^"]+)"', body)
    if match is None:
        raise BenchError("the form page has no submit key")
    return match.group(1)


def _required_uploads(body: str) -> list[str]:
    """The names of the file inputs the form page marks required."""
    return [
        name
        for name, attrs in re.findall(r'<input type="file" name="([^"]+)"([^>]*)>', body)
        if " required" in attrs
    ]


def _refused(response) -> BenchError:
    errors = re.findall(r'class="error" role="alert">([^<]+)<', response.content.decode())
    return BenchError(f"{response.request['PATH_INFO']}: HTTP {response.status_code} {errors}")


def _records(citizens) -> int:
    """Each bench citizen in the registers as a local mother: a population record (hukou in the
    city) and a birth record three days old naming them as the mother (bulk, checked like any
    record)."""
    from django.utils import timezone

    from departments.models import Department
    from registers.models import Record
    from registers.schema import REGISTERS, validate
    from tests.factories import make_id_number

    gongan = Department.objects.get(code="330100-gongan")
    weijian = Department.objects.get(code="330100-weijian")
    born = timezone.localtime(timezone.now() - dt.timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    records = []
    for i, citizen in enumerate(citizens):
        address = f"杭州市西湖区文三路 {100 + i} 号"
        for register, owner, data in (
            (
                "population",
                gongan,
                {
                    "id_number": citizen.id_number,
                    "name": citizen.real_name,
                    "sex": "女",
                    "birth_date": "1990-01-01",
                    "hukou_region": "330106",
                    "hukou_address": address,
                    "household_no": f"HH-BENCH-{i}",
                    "household_role": "户主",
                },
            ),
            (
                "birth",
                weijian,
                {
                    "mother_id_number": citizen.id_number,
                    "mother_name": citizen.real_name,
                    "father_id_number": make_id_number(500 + i, "19870701"),
                    "father_name": "陈立新",
                    "born_at": born.isoformat(timespec="minutes"),
                    "sex": "女",
                    "weight_g": 3300,
                    "hospital": "浙江大学医学院附属妇产科医院",
                    "first_doses": "乙肝疫苗第1剂、卡介苗",
                },
            ),
        ):
            record = Record(
                register=register,
                owner=owner,
                source="bench",
                data=validate(REGISTERS[register], data),
            )
            record.fill_keys()
            records.append(record)
    return len(Record.objects.bulk_create(records, batch_size=1000))


def bench_submission(n: int) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db.models import Count
    from django.test import Client

    from workflows.models import Attachment, DataAccess

    client = Client()
    baseline = []
    for _ in range(20):
        baseline.append(_timed(client, "get", run.HEALTHZ)[1])
    citizens = _citizens(n)
    records = _records(citizens)
    timed: dict[str, list[float]] = {
        k: [] for k in ("form", "review", "check", "file", "form_again", "submit")
    }
    queries: dict[str, list[int]] = {k: [] for k in timed}
    for i, citizen in enumerate(citizens):
        client.force_login(citizen)
        answered = {}
        response, answered["form"], q_form = _timed(client, "get", APPLY)
        if response.status_code != 200:
            raise _refused(response)
        body = response.content.decode()
        if 'name="mother_name"' in body or 'class="confirm-list"' not in body:
            raise BenchError("the form did not read the registers: the mother's name is asked")
        data = {
            "baby_name": f"宝宝{i}",
            "contact_phone": citizen.phone,
            "same_mailing_address": "on",
            "same_residence_address": "on",
            "action": "review",
            "submit_key": _submit_key(body),
        }
        for name in _required_uploads(body):
            data[name] = SimpleUploadedFile("photo.png", PNG, "image/png")
        response, answered["review"], q_review = _timed(client, "post", APPLY, data)
        if response.status_code != 302 or response["Location"] != CHECK:
            raise _refused(response)
        response, answered["check"], q_check = _timed(client, "get", CHECK)
        if response.status_code != 200:
            raise _refused(response)
        response, answered["file"], q_file = _timed(
            client, "post", CHECK, {"submit_key": data["submit_key"]}
        )
        if response.status_code != 302 or not response["Location"].startswith("/my/"):
            raise _refused(response)
        # Once more through the form's own submit button, as older clients do.
        response, answered["form_again"], q_again = _timed(client, "get", APPLY)
        body = response.content.decode()
        data = {**data, "action": "submit", "submit_key": _submit_key(body)}
        for name in _required_uploads(body):
            data[name] = SimpleUploadedFile("photo.png", PNG, "image/png")
        response, answered["submit"], q_submit = _timed(client, "post", APPLY, data)
        if response.status_code != 302:
            raise _refused(response)
        if i >= min(5, n - 1):  # warm-up excluded (all but the last when n is small)
            for key, q in zip(
                timed, (q_form, q_review, q_check, q_file, q_again, q_submit), strict=True
            ):
                timed[key].append(answered[key])
                queries[key].append(q)
    for _ in range(20):
        baseline.append(_timed(client, "get", run.HEALTHZ)[1])
    cases = [c.pk for c in citizens]
    attached = dict(
        Attachment.objects.filter(application__applicant__in=cases)
        .exclude(application__status="draft")
        .values_list("source")
        .annotate(n=Count("id"))
        .values_list("source", "n")
    )
    filed = 2 * len(citizens)
    return {
        **{key: percentiles(times) for key, times in timed.items()},
        "queries": {key: (min(q), max(q)) for key, q in queries.items()},
        "healthz": percentiles(baseline),
        "records": records,
        "cases": filed,
        "attachments_per_case": {k: v / filed for k, v in sorted(attached.items())},
        "reads_per_case": DataAccess.objects.filter(citizen__in=cases).count() / filed,
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


def _sample(f, n: int) -> str:
    """A value a citizen would type into a field of this kind."""
    from django.utils import timezone

    from tests.factories import make_id_number

    if f.type == "id_number":
        return make_id_number(700 + n, "19920202")
    if f.type == "date":
        return (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    if f.type == "phone":
        return "13900000000"
    if f.type == "number":
        return "1"
    return f"示例{f.label}"[:40]


def _effort(prepared, user) -> dict:
    """What a citizen gives on the form ``prepared`` describes: values typed, options chosen,
    "same as" boxes ticked, files uploaded (optional uploads apart). Read from the generated
    form itself: confirmed fields are not in it, prefilled ones carry a value, a later address
    may copy the first, and saying which parent one is fills that parent from the account."""
    from workflows import selectors
    from workflows.forms import PARENT_FIELDS, ROLE_FIELD, ROLES, ApplicationForm, prefill

    spec = prepared.spec
    known = prefill(spec, user=user, licences=selectors.licences_for(user))
    form = ApplicationForm(
        spec=spec, initial_data=known, applicant=user, confirmed_values=prepared.answers()
    )
    parent = "father" if int(user.id_number[16]) % 2 else "mother"
    own = set(PARENT_FIELDS[parent]) if ROLE_FIELD in form.fields else set()
    typed: dict[str, str] = {}
    chosen: dict[str, str] = {}
    ticked: list[str] = []
    for n, f in enumerate(spec.fields):
        if f.name not in form.fields or f.name in known or f.name in own:
            continue
        if f.name in form.same_as:
            ticked.append(f"same_{f.name}")
        elif f.name == ROLE_FIELD:
            chosen[f.name] = ROLES[parent]
        elif f.type == "choice":
            chosen[f.name] = f.choices[0]
        else:
            typed[f.name] = _sample(f, n)
    return {
        "confirmed": [f.name for f in spec.fields if f.confirmed],
        "prefilled": {name: value for name, value in known.items() if name in form.fields},
        "typed": typed,
        "chosen": chosen,
        "ticked": ticked,
        "uploads": [m.key for m in spec.asked_materials if m.required],
        "upload_names": [m.name for m in spec.asked_materials if m.required],
        "optional_uploads": [m.name for m in spec.asked_materials if not m.required],
        "fetched": sum(1 for m in spec.materials if m.held),
    }


def _walk(user, effort: dict) -> list[str]:
    """The pages a parent goes through, giving only ``effort``: from the home page, by its
    links, to the confirmation. Returns their paths."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from catalog.models import Bundle

    client = Client()
    client.force_login(user)
    bundle_url = Bundle.objects.get(slug="newborn").get_absolute_url()
    pages = []

    def shown(path: str) -> str:
        response = client.get(path)
        if response.status_code != 200:
            raise _refused(response)
        pages.append(path)
        return response.content.decode()

    for path, link in (("/", bundle_url), (bundle_url, APPLY)):
        if f'href="{link}"' not in shown(path):
            raise BenchError(f"{path} has no link to {link}")
    body = shown(APPLY)
    data = {
        **effort["prefilled"],
        **effort["typed"],
        **effort["chosen"],
        **{name: "on" for name in effort["ticked"]},
        "action": "review",
        "submit_key": _submit_key(body),
    }
    for key in effort["uploads"]:
        data[key] = SimpleUploadedFile("photo.png", PNG, "image/png")
    response = client.post(APPLY, data)
    if response.status_code != 302:
        raise _refused(response)
    shown(response["Location"])
    response = client.post(CHECK, {"submit_key": data["submit_key"]})
    if response.status_code != 302:
        raise _refused(response)
    shown(response["Location"])
    return pages


def bench_effort() -> dict:
    from django.contrib.auth import get_user_model

    from catalog.models import Bundle
    from tests.factories import make_id_number
    from workflows import selectors, services
    from workflows.forms import prefill

    User = get_user_model()
    bundle = Bundle.objects.get(slug="newborn")
    wf = services.workflow_for(bundle=bundle)
    citizen = User.objects.get(username="citizen1")
    # Nobody the registers know: a real-name account, no record anywhere.
    stranger = User.objects.create(
        username="bench-unknown",
        real_name="赵新",
        id_number=make_id_number(999, "19880808"),
        phone="13799999999",
        kind="citizen",
    )
    out = {}
    for label, user in (("before", stranger), ("after", citizen)):
        prepared = selectors.application_prepare(user=user, workflow=wf, bundle=bundle)
        effort = _effort(prepared, user)
        effort["pages"] = _walk(user, effort)
        out[label] = effort

    licences = selectors.licences_for(stranger)
    separate = [0, 0]
    items = [part.item for part in bundle.parts.select_related("item").order_by("sort_order", "id")]
    for item in items:
        spec = selectors.form_spec_for(user=stranger, item=item)
        known = prefill(spec, user=stranger, licences=licences)
        separate[0] += sum(1 for f in spec.fields if f.name not in known)
        separate[1] += sum(1 for m in spec.asked_materials if m.required)
    out["separate"] = {
        "applications": len(items),
        "fields": separate[0],
        "uploads": separate[1],
        "trips": sum(item.trips for item in items),
    }
    out["trips_bundle"] = bundle.trips
    return out


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
        print(
            f"\nNewborn bundle submission (5 items, 4 departments), {args.submissions} citizens"
            f" each with {sub['records'] // max(args.submissions, 1)} register records"
            f" ({sub['records']} bulk inserted), {sub['cases']} cases filed"
        )
        per_case = ", ".join(f"{v:.1f} {k}" for k, v in sub["attachments_per_case"].items())
        print(f"  per case: attachments {per_case}; {sub['reads_per_case']:.1f} register reads")
        for key, label in (
            ("file", "file POST (check page)"),
            ("submit", "submit POST (action=submit)"),
            ("review", "review POST (draft)"),
            ("check", "check page GET"),
            ("form", "form page GET"),
            ("form_again", "form page GET, again"),
            ("healthz", "/healthz baseline"),
        ):
            row = sub[key]
            low, high = sub["queries"].get(key, ("", ""))
            queries = f"queries {low:>3}–{high:<3}" if key != "healthz" else " " * 15
            print(
                f"  {label:<28} n={row['n']:<4} {queries}  p50 {row['p50']:7.1f} ms"
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
        print("\nCitizen effort, newborn bundle: before (no register record) / after (citizen1)")
        before, after = eff["before"], eff["after"]
        for label, key in (
            ("confirmed from registers", "confirmed"),
            ("prefilled from account", "prefilled"),
            ("values typed", "typed"),
            ("options chosen", "chosen"),
            ("boxes ticked", "ticked"),
            ("uploads (required)", "upload_names"),
            ("uploads (optional)", "optional_uploads"),
        ):
            print(
                f"  {label:<25} {len(before[key]):>2} / {len(after[key]):<2}"
                f"  after: {', '.join(after[key]) or '—'}"
            )
        print(f"  {'documents not asked':<25} {before['fetched']:>2} / {after['fetched']:<2}")
        path = " → ".join(
            "/my/applications/…" if p.startswith("/my/") else p for p in after["pages"]
        )
        print(
            f"  {'pages, home → confirmed':<25} {len(before['pages']):>2} / "
            f"{len(after['pages']):<2}  ({path})"
        )
        sep = eff["separate"]
        print(
            f"  items one by one (no registers): {sep['applications']} applications,"
            f" {sep['fields']} fields, {sep['uploads']} uploads,"
            f" {sep['trips']} trips (bundle: {eff['trips_bundle']})"
        )
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
