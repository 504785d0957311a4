"""Smoke test of the benchmark runner (tests/bench/run.py): it runs end to end and reports each
page next to the bare Django view.

A tiny run (2 users, 2 seconds per page, only ``/``) on a database of its own, created and dropped
by the runner. Figures are only checked for shape and for failures: nothing here is timed.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from tests.conftest import STRICT

ROOT = Path(__file__).resolve().parent.parent

NUMBER = r"\d+(?:\.\d+)?"
ROW = re.compile(
    rf"^(?P<page>/\S*|bare Django)\s+(?P<requests>\d+)\s+(?P<rps>{NUMBER})"
    rf"(?:\s+(?:{NUMBER}|n/a)){{3}}\s+(?P<failures>\d+)\s+(?P<ratio>{NUMBER}|n/a)\s*$",
    re.MULTILINE,
)


def bench_database_url(name: str) -> str:
    """The test database's server and credentials, with a database name of the bench's own."""
    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "postgres", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


def database_exists(name: str) -> bool:
    import psycopg2

    db = settings.DATABASES["default"]
    conn = psycopg2.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        connect_timeout=5,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cur.fetchone() is not None
    finally:
        conn.close()


def run_bench(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess:
    # The runner builds the app's environment itself (zheliban.settings, DEBUG off, ...): none
    # of pytest's (tests.settings) is passed on.
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the runner stops gunicorn and drops its database
        stdout, stderr = proc.communicate(timeout=60)
        pytest.fail(f"the bench runner hung\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def load_generator() -> str:
    """wrk, the runner's default, where it is installed (always in CI); locust otherwise."""
    if shutil.which("wrk"):
        return "wrk"
    if STRICT:
        pytest.fail("required in CI: wrk (apt-get install wrk)")
    return "locust"


@pytest.mark.usefixtures("postgres_required")
def test_runner_reports_each_page_next_to_a_bare_django_view(tmp_path):
    name = f"zheliban_bench_smoke_{uuid.uuid4().hex[:10]}"
    out = tmp_path / "bench.json"
    proc = run_bench(
        [
            "--load",
            load_generator(),
            "--duration",
            "1",
            "--users",
            "2",
            "--pages",
            "/",
            "--no-real-items",  # the import has tests of its own (tests/catalog/test_import.py)
            "--database-url",
            bench_database_url(name),
            "--json",
            str(out),
        ]
    )
    report = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, report

    rows = [match.groupdict() for match in ROW.finditer(proc.stdout)]
    order = ["bare Django", "/healthz", "/", "/healthz", "bare Django"]
    assert [row["page"] for row in rows] == order, report
    for row in rows:
        assert int(row["requests"]) > 0, report
        assert int(row["failures"]) == 0, report
        assert float(row["ratio"]) > 0, report  # a number, not n/a
    assert re.search(rf"bare baseline: {NUMBER} req/s", proc.stdout), report
    assert "PostgreSQL" in proc.stdout, report

    figures = json.loads(out.read_text())
    assert figures["bare_baseline_rps"] > 0
    assert [r["page"] for r in figures["results"]] == order
    assert all(r["failures"] == 0 and r["ratio"] > 0 for r in figures["results"])
    assert not database_exists(name), "the runner must drop its database"
