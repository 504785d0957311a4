"""A large catalog for search benchmarks, made from the real feed: ``build_catalog(items=200_000)``.

    python -m tests.bench.catalog_data [--items 200000] [--database-url .../zheliban_bench_catalog]
                                       [--keep-db] [--procs 2]

Steps (each timed, see ``CatalogInfo.steps``):

1. ``migrate`` and ``seed_demo`` (the demo province: its regions, departments, themes, items);
2. ``import_items ../shared/data/catalog/gdzwfw_items.jsonl --format gdzwfw`` (the 2,262 real
   items, through the importer, published and indexed as in production);
3. copies of the real items until the catalog holds ``items`` items, written with
   ``bulk_create`` in batches, one variation per copy: the copy's region is one of the demo
   province's regions (round robin), its department that region's namesake of the original one
   (``广东省公安厅`` → ``西湖区公安局``, created once per region), its name sometimes prefixed with
   the region (``西湖区…``) or suffixed (``（分局）``, ``（变更）``, ``（注销）``…), its
   materials shuffled (an optional one dropped sometimes), its online/mobile/trip flags and
   popularity drawn from a fixed seed (popularity: Pareto, a few items very popular), its themes
   those of the original. Copies get no version snapshots nor joint stages (search never reads
   them; the item page shows an empty history);
4. the engine's bulk re-index, ``catalog.search.reindex_items(queryset)``, over the copies in
   slices of ids, ``--procs`` processes at once (one per core);
5. ``VACUUM ANALYZE`` of the catalog tables, so the planner knows the new sizes.

The database is PostgreSQL, named ``zheliban_bench*`` (``tests.bench.run.Database`` refuses any
other name). With ``--keep-db`` an existing database holding at least ``items`` items is reused
as it is; otherwise it is dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench.run import ROOT, BenchError, Database

FEED = (ROOT / ".." / "shared" / "data" / "catalog" / "gdzwfw_items.jsonl").resolve()
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench_catalog"
SEED = 20260101
BATCH = 2_000  # items per bulk_create
COPY_CODE = r"-[0-9]+$"  # a copy's code: the original's, "-", the copy number
REINDEX_SLICE = 2_000  # items per reindex_items call in a worker

NAME_PREFIX_EVERY = 5  # one copy in five: 西湖区 + name
SUFFIXES = [
    "（分局）",
    "（变更）",
    "（延续）",
    "（注销）",
    "（补证）",
    "（新办）",
    "（首次申请）",
    "（窗口办理）",
]
# Leading region names of the feed's department names, replaced by the copy's region.
DEPT_REGION = re.compile(r"^(广东省|广州市|[\u4e00-\u9fff]{2,3}(?:市|区|县))")
DEPT_SUFFIX = [("厅", "局"), ("委员会", "委员会")]


@dataclass
class CatalogInfo:
    database: str
    items: int
    real_items: int = 0
    copies: int = 0
    reused: bool = False
    steps: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"catalog:  {self.items} items in {self.database} "
            f"({'reused' if self.reused else 'generated'}; {self.real_items} real, "
            f"{self.copies} copies)"
        ]
        if self.steps:
            total = sum(self.steps.values())
            out.append(
                "generation: "
                + ", ".join(f"{k} {v:.1f}s" for k, v in self.steps.items())
                + f"; total {total:.1f}s ({total / 60:.1f} min)"
            )
        return out


def _progress(message: str) -> None:
    print(f"[catalog] {message}", file=sys.stderr, flush=True)


def fingerprint() -> str:
    """What the generated index depends on: the catalog's migrations and the search code that
    writes the index. A kept database made by other versions of them is rebuilt."""
    digest = hashlib.sha256()
    files = sorted((ROOT / "catalog" / "migrations").glob("0*.py"))
    files += [ROOT / "catalog" / "search" / n for n in ("indexing.py", "backends.py", "text.py")]
    for path in files:
        with contextlib.suppress(OSError):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _stored_fingerprint() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('zheliban_bench_meta')")
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute("SELECT value FROM zheliban_bench_meta WHERE key = 'fingerprint'")
        row = cursor.fetchone()
        return row[0] if row else None


def _store_fingerprint() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS zheliban_bench_meta (key text PRIMARY KEY, value text)"
        )
        cursor.execute(
            "INSERT INTO zheliban_bench_meta VALUES ('fingerprint', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [fingerprint()],
        )


def analyze(*, vacuum: bool) -> None:
    """(VACUUM) ANALYZE the catalog's tables that exist, so the planner knows their sizes."""
    from django.db import connection

    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in (
            "catalog_serviceitem",
            "catalog_item_search",
            "catalog_material",
            "catalog_serviceitem_themes",
            "departments_department",
        ):
            if table in tables:
                cursor.execute(f"{'VACUUM ' if vacuum else ''}ANALYZE {table}")


def item_count() -> int:
    from catalog.models import ServiceItem

    return ServiceItem.objects.count()


# --- the copies -------------------------------------------------------------------------------


def _local_department_name(original: str, region_name: str) -> str:
    rest = DEPT_REGION.sub("", original, count=1) or original
    for old, new in DEPT_SUFFIX:
        if rest.endswith(old):
            rest = rest[: -len(old)] + new
            break
    return f"{region_name}{rest}"


def _departments_for(regions, originals) -> dict[tuple[int, int], int]:
    """(region id, original department id) -> id of the region's namesake, created in bulk."""
    from departments.models import Department

    wanted: dict[tuple[int, str], tuple] = {}
    for region in regions:
        for dept in originals:
            name = _local_department_name(dept.name, region.name)[:100]
            wanted[(region.pk, name)] = (region, dept)
    existing = {
        (d.region_id, d.name): d.pk
        for d in Department.objects.filter(region__in=regions).only("id", "region_id", "name")
    }
    codes = set(Department.objects.values_list("code", flat=True))
    new = []
    for (region_id, name), (region, dept) in wanted.items():
        if (region_id, name) in existing:
            continue
        base = f"{region.code}-b{dept.pk}"[:40]
        code, n = base, 1
        while code in codes:
            n += 1
            code = f"{base}-{n}"[:40]
        codes.add(code)
        new.append(Department(code=code, name=name, kind=dept.kind, region=region))
    Department.objects.bulk_create(new, batch_size=BATCH)
    ids = {
        (d.region_id, d.name): d.pk
        for d in Department.objects.filter(region__in=regions).only("id", "region_id", "name")
    }
    return {
        (region.pk, dept.pk): ids[(region.pk, _local_department_name(dept.name, region.name)[:100])]
        for region in regions
        for dept in originals
    }


def _copy_fields() -> list[str]:
    from catalog.models import ServiceItem

    skip = {"id", "created_at", "updated_at", "code", "name", "department", "region"}
    skip |= {"search_name", "search_pinyin", "search_grams", "search_words"}
    return [f.attname for f in ServiceItem._meta.concrete_fields if f.name not in skip]


def make_copies(target: int) -> tuple[int, int, list[int]]:
    """Copies of the imported items until ``target`` items exist; (real, copies, copy id range)."""
    from django.db import transaction

    from catalog.importers.gdzwfw import SOURCE
    from catalog.models import Material, ServiceItem
    from departments.models import Department, Region

    rng = random.Random(SEED)
    originals = list(
        ServiceItem.objects.filter(source=SOURCE)
        .prefetch_related("materials", "themes")
        .order_by("code")
    )
    if not originals:
        raise BenchError("the import created no items to copy")
    missing = target - item_count()
    if missing <= 0:
        return len(originals), 0, [0, 0]
    # The demo province's cities and districts (not the feed's Guangdong regions).
    regions = list(
        Region.objects.exclude(code__startswith="44").exclude(level="province").order_by("code")
    ) or list(Region.objects.order_by("code"))
    dept_ids = {o.department_id for o in originals}
    departments = _departments_for(regions, list(Department.objects.filter(pk__in=dept_ids)))
    fields = _copy_fields()
    ItemTheme = ServiceItem.themes.through
    first_id = last_id = None
    made = 0
    copy_no = 0
    while made < missing:
        copy_no += 1
        region = regions[(copy_no - 1) % len(regions)]
        round_no = (copy_no - 1) // len(regions)
        with transaction.atomic():
            for start in range(0, len(originals), BATCH):
                chunk = originals[start : start + BATCH][: missing - made]
                if not chunk:
                    break
                items = []
                for o in chunk:
                    values = {f: getattr(o, f) for f in fields}
                    name = o.name
                    pick = rng.random()
                    if round_no % NAME_PREFIX_EVERY == 1 or pick < 0.1:
                        name = f"{region.name}{name}"
                    if round_no > 0 and pick > 0.5:
                        name = f"{name}{SUFFIXES[(round_no + copy_no) % len(SUFFIXES)]}"
                    values.update(
                        online=o.online if rng.random() < 0.8 else not o.online,
                        mobile=o.mobile if rng.random() < 0.8 else not o.mobile,
                        trips=o.trips if rng.random() < 0.8 else rng.choice([0, 1, 2]),
                        popularity=min(int(rng.paretovariate(1.3) * 10) - 10, 10**7),
                        sub_name=o.sub_name or (name if name != o.name else ""),
                    )
                    items.append(
                        ServiceItem(
                            **values,
                            code=f"{o.code}-{copy_no}",
                            name=name[:200],
                            department_id=departments[(region.pk, o.department_id)],
                            region_id=region.pk,
                        )
                    )
                ServiceItem.objects.bulk_create(items, batch_size=BATCH)
                materials, links = [], []
                for o, item in zip(chunk, items, strict=True):
                    mats = list(o.materials.all())
                    rng.shuffle(mats)
                    if len(mats) > 2 and rng.random() < 0.3:
                        mats.pop()
                    for n, m in enumerate(mats):
                        materials.append(
                            Material(
                                item_id=item.pk,
                                name=m.name,
                                source=m.source,
                                form=m.form,
                                required=m.required,
                                copies=m.copies,
                                note=m.note,
                                sort_order=n,
                            )
                        )
                    links += [
                        ItemTheme(serviceitem_id=item.pk, theme_id=t.pk) for t in o.themes.all()
                    ]
                Material.objects.bulk_create(materials, batch_size=BATCH * 2)
                ItemTheme.objects.bulk_create(links, batch_size=BATCH * 2)
                made += len(items)
                first_id = items[0].pk if first_id is None else first_id
                last_id = items[-1].pk
        if copy_no % 10 == 0:
            _progress(f"{made}/{missing} copies")
    return len(originals), made, [first_id, last_id]


# --- the index ---------------------------------------------------------------------------------


def _reindex_slice(bounds: tuple[int, int]) -> int:
    from catalog.models import ServiceItem
    from catalog.search import reindex_items

    low, high = bounds
    return reindex_items(ServiceItem.objects.filter(pk__gte=low, pk__lte=high))


def reindex_range(first_id: int, last_id: int, procs: int) -> int:
    """``reindex_items`` over ids first..last, in slices, ``procs`` forked workers at once."""
    from django import db

    slices = [
        (low, min(low + REINDEX_SLICE - 1, last_id))
        for low in range(first_id, last_id + 1, REINDEX_SLICE)
    ]
    if procs <= 1:
        return sum(_reindex_slice(s) for s in slices)
    db.connections.close_all()  # each forked worker opens its own connection
    done = 0
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        for n, count in enumerate(pool.imap_unordered(_reindex_slice, slices), 1):
            done += count
            if n % 10 == 0:
                _progress(f"indexed {done} copies")
    return done


# --- the whole -----------------------------------------------------------------------------------


def build_catalog(db: Database, *, items: int, keep_db: bool, procs: int = 2) -> CatalogInfo:
    """Make (or, with ``keep_db``, reuse) a catalog of ``items`` items in ``db``.

    Runs in a process whose Django settings point at ``db`` (``DATABASE_URL``), before or after
    ``django.setup()``: the database must exist before the first query.
    """
    info = CatalogInfo(database=db.masked_url, items=0)
    if keep_db and db.exists():
        import django

        django.setup()
        count, stored = 0, None
        with contextlib.suppress(Exception):
            count, stored = item_count(), _stored_fingerprint()
        if count >= items and stored != fingerprint():
            _progress(
                f"{db.name} was made by other (or unknown) catalog migrations or search code "
                f"({stored} != {fingerprint()}): rebuilding it"
            )
        elif count >= items:
            with contextlib.suppress(Exception):
                from catalog.importers.gdzwfw import SOURCE
                from catalog.models import ServiceItem

                info.items, info.reused = count, True
                copies = ServiceItem.objects.filter(code__regex=COPY_CODE)
                info.copies = copies.count()
                info.real_items = (
                    ServiceItem.objects.filter(source=SOURCE).exclude(code__regex=COPY_CODE).count()
                )
                analyze(vacuum=True)
                _store_fingerprint()
                return info
    import django

    _progress(f"creating database {db.name}")
    if db.exists():
        from django import db as django_db

        with contextlib.suppress(Exception):
            django_db.connections.close_all()
        db.drop()
    db.create()
    django.setup()
    from django.core.management import call_command

    def step(name: str, started: float) -> None:
        info.steps[name] = time.monotonic() - started
        _progress(f"{name}: {info.steps[name]:.1f}s")

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", stdout=devnull)
    step("migrate+seed_demo", started)

    started = time.monotonic()
    with open(os.devnull, "w") as devnull:
        call_command("import_items", str(FEED), format="gdzwfw", no_progress=True, stdout=devnull)
    step("import", started)

    started = time.monotonic()
    info.real_items, info.copies, (first_id, last_id) = make_copies(items)
    step("copies", started)

    started = time.monotonic()
    if info.copies:
        reindex_range(first_id, last_id, procs)
    step("reindex", started)

    started = time.monotonic()
    analyze(vacuum=True)
    step("vacuum analyze", started)
    _store_fingerprint()
    info.items = item_count()
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.catalog_data")
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep-db", action="store_true", help="reuse when it has enough items")
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    from tests.bench.search import configure_django

    configure_django(db, Path(tempfile.gettempdir()) / "zheliban-catalog-var")
    info = build_catalog(db, items=args.items, keep_db=args.keep_db, procs=args.procs)
    print("\n".join(info.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
