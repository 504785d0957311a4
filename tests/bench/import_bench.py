"""Import of the real feed: wall time and peak memory, on PostgreSQL and on SQLite.

    python -m tests.bench.import_bench [--database-url .../zheliban_bench_import]
                                       [--no-sqlite] [--no-postgres] [--tracemalloc]
                                       [--json out.json]

For each database: a fresh scratch database (PostgreSQL ``zheliban_bench*``, created and dropped
here; SQLite in a temporary ``ZHELIBAN_VAR_DIR``), ``migrate`` in a child process, then each
measured step in a child process of its own:

- ``baseline``: ``django.setup()`` and one query, nothing imported (the memory every child
  starts with);
- ``first import``: ``import_items ../shared/data/catalog/gdzwfw_items.jsonl --format gdzwfw``
  into the empty catalog (every item created, published, indexed);
- ``second import``: the same file again (idempotent: nothing changes).

Wall time is measured around ``call_command`` in the child; peak memory is the child's
``ru_maxrss`` (resident set, whole process, Django included: compare with ``baseline``). With
``--tracemalloc`` a further first import into another fresh database runs under ``tracemalloc``
and reports the peak of Python allocations (its wall time is not comparable: tracing slows it).

The app's environment is ``tests.bench.run.app_settings`` (DEBUG off, production settings).
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench import run
from tests.bench.catalog_data import FEED
from tests.bench.run import ROOT, BenchError, Database

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench_import"
CHILD_TIMEOUT = 1800


def child(step: str, trace: bool) -> None:
    """Runs in the child: one step, then its figures as one JSON line on stdout."""
    import resource
    import time

    if trace:
        import tracemalloc

        tracemalloc.start()
    import django

    django.setup()
    from django.core.management import call_command

    from catalog.models import ServiceItem

    out = open(os.devnull, "w")  # noqa: SIM115
    figures: dict[str, object] = {}
    started = time.perf_counter()
    if step == "migrate":
        call_command("migrate", interactive=False, verbosity=0)
    elif step == "import":
        call_command("import_items", str(FEED), format="gdzwfw", no_progress=True, stdout=out)
    figures["seconds"] = time.perf_counter() - started
    figures["items"] = ServiceItem.objects.count()
    if trace:
        figures["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    # Linux: kilobytes.
    figures["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("FIGURES " + json.dumps(figures), flush=True)


def run_child(env: dict[str, str], step: str, *, trace: bool = False) -> dict:
    code = f"from tests.bench.import_bench import child; child({step!r}, {trace!r})"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{step} took over {CHILD_TIMEOUT}s") from exc
    lines = [line for line in proc.stdout.splitlines() if line.startswith("FIGURES ")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"{step} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("FIGURES "))


def measure(label: str, env: dict[str, str], reset, *, trace: bool) -> list[dict]:
    """migrate, baseline, first import, second import (and a traced first import)."""
    rows = []
    reset()
    run_child(env, "migrate")
    for name, step in (
        ("baseline (setup only)", "baseline"),
        ("first import", "import"),
        ("second import (no-op)", "import"),
    ):
        print(f"[import] {label}: {name}", file=sys.stderr, flush=True)
        rows.append({"database": label, "step": name, **run_child(env, step)})
    if trace:
        reset()
        run_child(env, "migrate")
        print(f"[import] {label}: first import under tracemalloc", file=sys.stderr, flush=True)
        rows.append(
            {
                "database": label,
                "step": "first import, tracemalloc",
                **run_child(env, "import", trace=True),
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    header = ("database", "step", "items after", "wall s", "peak RSS MB", "tracemalloc MB")
    body = [
        (
            r["database"],
            r["step"],
            str(r["items"]),
            f"{r['seconds']:.2f}" if r["step"] != "baseline (setup only)" else "-",
            f"{r['maxrss_mb']:.0f}",
            f"{r['tracemalloc_peak_mb']:.1f}" if "tracemalloc_peak_mb" in r else "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, body)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.import_bench")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--tracemalloc", action="store_true", help="add a traced first import")
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="zheliban-import-bench-"))
    settings_args = argparse.Namespace(static="manifest", env=[])
    rows: list[dict] = []
    load_before = run.loadavg()
    try:
        if not args.no_postgres:
            env = {**run.base_environment(), **run.app_settings(settings_args, db, workdir / "pg")}

            def reset_pg():
                db.drop()
                db.create()

            rows += measure("PostgreSQL", env, reset_pg, trace=args.tracemalloc)
        if not args.no_sqlite:
            var = workdir / "sqlite"
            env = {**run.base_environment(), **run.app_settings(settings_args, db, var)}
            del env["DATABASE_URL"]  # zheliban.settings: SQLite in ZHELIBAN_VAR_DIR

            def reset_sqlite():
                shutil.rmtree(var, ignore_errors=True)
                var.mkdir(parents=True)

            rows += measure("SQLite", env, reset_sqlite, trace=args.tracemalloc)
        print(f"\nfeed: {FEED} ({sum(1 for _ in FEED.open('rb'))} lines)")
        print(f"load: before {load_before}, after {run.loadavg()}")
        print(format_table(rows))
        print(
            "wall s: call_command('import_items') in a child process; peak RSS: the child's "
            "ru_maxrss (Django included, see baseline)"
        )
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    finally:
        with contextlib.suppress(BenchError):
            db.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
