"""Catalog search at scale: server time of the search API, then throughput under gunicorn.

    python -m tests.bench.search [--items 200000] [--database-url .../zheliban_bench_catalog]
                                 [--keep-db] [--repeat 20] [--duration 20] [--users 20]
                                 [--cache-url redis://127.0.0.1:6379/3]
                                 [--json out.json] [--skip-throughput]

1. Builds (or with ``--keep-db`` reuses) a catalog of ``--items`` items made from the real feed
   (``tests/bench/catalog_data.py``).
2. Server time: in this process, with Django's test ``Client`` (settings ``zheliban.settings``,
   ``DEBUG=0``, the same PostgreSQL database), the wall time of each request to each query of
   ``QUERIES``, in two passes, each printed per query and overall (p50/p95/p99/max) next to
   ``/healthz`` through the same client (the baseline: one ``SELECT 1`` plus the middleware):

   - *cold*: the search cache is emptied before every request (every catalog entry and the
     generation; ``clear_search_cache``), so each answer, and each set of browsing counts, is
     computed from the database. What stays warm is what a running server keeps anyway: the
     process (jieba's dictionary, memoised word segmentation) and PostgreSQL's buffers. Each
     query is requested once before the pass, so that no figure includes a first import;
   - *warm*: a few requests to fill the cache, then ``--repeat`` timed: what a repeated search
     costs while the catalog does not change.
3. Throughput: ``tests.bench.run.main`` against the same database (``--keep-db``): gunicorn,
   locust per path, ``/healthz`` first and last, req/s and the ratio to ``/healthz``. The API
   search is measured for each of ``THROUGHPUT_QUERIES`` (one fixed path per locust run), then
   the search page ``/services/?q=户口`` and the page of the most popular generated item. One
   fixed path per run: after its first request every search there is answered from the cache,
   so these are warm figures (the cold cost is step 2's).

Caches: without ``--cache-url`` the app keeps its default, a local-memory cache per process (per
gunicorn worker). ``--cache-url`` (Redis, as in production) is given to this process and to
gunicorn; emptying it deletes the catalog's keys only (``CATALOG_KEYS``), never the whole Redis
database.

Figures are printed (and written with ``--json``), never asserted. The database is dropped at
the end unless ``--keep-db``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from tests.bench import run
from tests.bench.catalog_data import COPY_CODE
from tests.bench.run import BenchError, Database

API = "/api/v1/items/"
# (label, query string) for the server-time mix: what citizens type, and filters.
QUERIES: list[tuple[str, str]] = [
    ("colloquial 生孩子", "search=生孩子"),
    ("colloquial 办身份证", "search=办身份证"),
    ("word 户口", "search=户口"),
    ("pinyin hukou", "search=hukou"),
    ("initials hkdj", "search=hkdj"),
    ("pinyin jiehun", "search=jiehun"),
    ("typo 结昏登记", "search=结昏登记"),
    ("typo 营业执找", "search=营业执找"),
    ("word 护照", "search=护照"),
    ("word 营业执照", "search=营业执照"),
    ("word 社保", "search=社保"),
    ("word 公积金", "search=公积金"),
    ("word 驾驶证", "search=驾驶证"),
    ("name 律师执业许可", "search=律师执业许可"),
    ("long 中小学地方课程教材初审", "search=中小学地方课程教材初审"),
    ("rare 导游证", "search=导游证"),
    ("two words 退休 养老金", "search=退休 养老金"),
    ("online+type 许可 online xzxk", "search=许可&online=1&type=xzxk"),
    ("type xzqr 登记", "search=登记&type=xzqr"),
    ("audience enterprise 企业", "search=企业&audience=enterprise"),
    ("department filter 登记", "search=登记&department={department}"),
    ("region filter 证", "search=证&region={region}"),
    ("page 3 of 证明", "search=证明&page=3"),
    ("no match xyzzy", "search=xyzzyqq"),
    ("empty + theme facet", "theme={theme}"),
    ("empty + online facet", "online=1"),
]
# API searches measured for throughput, one locust run each: colloquial, pinyin, typo.
THROUGHPUT_QUERIES = ["生孩子", "hukou", "结昏登记"]
PAGE_QUERY = "户口"
WARMUP = 3


def configure_django(db: Database, var_dir: Path) -> dict[str, str]:
    """This process's Django settings: the gunicorn ones (``run.app_settings``) plus the test
    client's host. Call before ``django.setup()``."""
    args = argparse.Namespace(static="manifest", env=[])
    settings = run.app_settings(args, db, var_dir)
    settings["ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    os.environ.update(settings)
    (var_dir / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise warns without it
    return settings


def percentiles(samples: list[float]) -> dict[str, float]:
    """Nearest-rank p50/p95/p99 and max, milliseconds."""
    ordered = sorted(samples)

    def rank(p: float) -> float:
        index = max(0, min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1))
        return ordered[index]

    return {
        "n": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def fill(query: str, values: dict[str, str]) -> str:
    query = query.format(**values)
    return "&".join(
        f"{key}={quote(value)}"
        for key, _, value in (part.partition("=") for part in query.split("&"))
    )


def placeholders() -> dict[str, str]:
    """A department holding many items, a region with items, a theme: picked from the data."""
    from django.db.models import Count

    from catalog.models import ServiceItem, Theme

    department = (
        ServiceItem.objects.values("department__code")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    region = (
        ServiceItem.objects.exclude(region__code__startswith="44")
        .values("region__code")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    theme = Theme.objects.annotate(n=Count("items")).order_by("-n").first()
    return {
        "department": department["department__code"] if department else "",
        "region": region["region__code"] if region else "",
        "theme": theme.slug if theme else "",
    }


# The catalog's entries and generation, and the pages' fragments ({% cache %} "catalog-...").
CATALOG_KEYS = ("catalog:*", 'template.cache."catalog-*')


def clear_search_cache() -> None:
    """Delete every catalog search entry, page fragment and the generation: the next search is
    computed."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        for pattern in CATALOG_KEYS:
            keys = list(client.scan_iter(backend.make_key(pattern)))
            if keys:
                client.delete(*keys)
    else:
        backend.clear()


def server_time(repeat: int) -> tuple[dict[str, list[dict]], dict, list[str]]:
    """({"cold": rows, "warm": rows}, filters, problems), each row with its percentiles in ms."""
    from django.test import Client

    client = Client()
    values = placeholders()
    problems: list[str] = []

    def timed(path: str) -> float:
        started = time.perf_counter()
        client.get(path)
        return (time.perf_counter() - started) * 1000

    def measure(path: str, *, cold: bool) -> tuple[list[float], int | None]:
        for _ in range(1 if cold else WARMUP):
            response = client.get(path)
        if response.status_code != 200:
            problems.append(f"{path}: HTTP {response.status_code} {response.content[:160]!r}")
        count = None
        with contextlib.suppress(Exception):
            count = response.json().get("count")
        times = []
        for _ in range(repeat):
            if cold:
                clear_search_cache()
            times.append(timed(path))
        return times, count

    tables: dict[str, list[dict]] = {}
    searches = sum("search=" in query for _, query in QUERIES)
    for mode in ("cold", "warm"):
        rows = []
        baseline_before, _ = measure(run.HEALTHZ, cold=False)
        all_times: list[float] = []
        text_times: list[float] = []  # the queries with search words (not the empty searches)
        for label, query in QUERIES:
            path = f"{API}?{fill(query, values)}"
            times, count = measure(path, cold=mode == "cold")
            all_times += times
            if "search=" in query:
                text_times += times
            rows.append({"label": label, "path": path, "count": count, **percentiles(times)})
        baseline_after, _ = measure(run.HEALTHZ, cold=False)
        rows += [
            {
                "label": f"{searches} with words",
                "path": "",
                "count": None,
                **percentiles(text_times),
            },
            {
                "label": f"all {len(QUERIES)} queries",
                "path": "",
                "count": None,
                **percentiles(all_times),
            },
            {
                "label": "/healthz (baseline)",
                "path": run.HEALTHZ,
                "count": None,
                **percentiles(baseline_before + baseline_after),
            },
        ]
        tables[mode] = rows
    return tables, values, problems


def format_server_table(rows: list[dict]) -> str:
    header = ("query", "hits", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms")
    body = [
        (
            r["label"],
            "" if r["count"] is None else str(r["count"]),
            *(f"{r[k]:.1f}" for k in ("p50", "p95", "p99", "max", "mean")),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells):
        # Chinese characters take two columns in a terminal.
        first = cells[0] + " " * (widths[0] - _width(cells[0]))
        return (
            first + "  " + "  ".join(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        )

    widths[0] = max(_width(row[0]) for row in [header, *body])
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, body)])


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def throughput(args: argparse.Namespace, item_code: str, workdir: Path) -> int:
    """``tests.bench.run.main`` on the same database: one fixed path per locust run."""
    pages = [
        *(f"{API}?search={quote(q)}" for q in THROUGHPUT_QUERIES),
        f"/services/?q={quote(PAGE_QUERY)}",
        f"/services/items/{item_code}/",
    ]
    argv = [
        "--pages",
        *pages,
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
        str(workdir / "throughput.json"),
    ]
    if args.cache_url:
        argv += ["--env", f"CACHE_URL={args.cache_url}"]
    return run.main(argv)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.search")
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/zheliban_bench_catalog"
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per query")
    parser.add_argument("--duration", type=int, default=20, help="locust seconds per path")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="reindex workers")
    parser.add_argument(
        "--cache-url", default="", help="CACHE_URL for this process and gunicorn (e.g. Redis)"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--json", type=Path, metavar="FILE")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="zheliban-search-bench-"))
    status = 0
    try:
        configure_django(db, workdir / "var")
        if args.cache_url:
            os.environ["CACHE_URL"] = args.cache_url
        from tests.bench.catalog_data import build_catalog

        info = build_catalog(db, items=args.items, keep_db=args.keep_db, procs=args.procs)
        print("\n".join(info.lines()), flush=True)

        from django.db import connections

        from catalog.models import ServiceItem

        print(
            f"\nserver time: {API} in process (django.test.Client, DEBUG=0, PostgreSQL, "
            f"cache {args.cache_url or 'local memory'}), {args.repeat} timed requests per query",
            flush=True,
        )
        tables, values, problems = server_time(args.repeat)
        print(f"filters: {values}")
        print("\ncold: the search cache emptied before every request")
        print(format_server_table(tables["cold"]))
        print(f"\nwarm: {WARMUP} requests to fill the cache, then the timed ones")
        print(format_server_table(tables["warm"]))
        if problems:
            status = 1
            print("\nnot 200:\n" + "\n".join(f"  {p}" for p in problems))
        item_code = (
            ServiceItem.objects.filter(is_active=True, code__regex=COPY_CODE)
            .order_by("-popularity", "code")
            .values_list("code", flat=True)
            .first()
            or ServiceItem.objects.filter(is_active=True).values_list("code", flat=True).first()
        )
        connections.close_all()

        result = {"catalog": info.__dict__, "server_time": tables, "filters": values}
        if not args.skip_throughput:
            print("\nthroughput: gunicorn + locust (tests.bench.run)", flush=True)
            code = throughput(args, item_code, workdir)
            status = max(status, code)
            with contextlib.suppress(OSError, ValueError):
                result["throughput"] = json.loads((workdir / "throughput.json").read_text())
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        return status
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep_db:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            with contextlib.suppress(BenchError):
                db.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
