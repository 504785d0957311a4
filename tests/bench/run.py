"""Benchmark runner: pages under gunicorn on PostgreSQL, each next to a bare Django view.

    python -m tests.bench.run [--pages / /departments/ ...] [--duration 20] [--users 16]
                              [--bare-duration 10] [--workers 2]
                              [--database-url postgres://.../zheliban_bench]
                              [--keep-db] [--json out.json] [--static manifest|compressed]
                              [--no-real-items] [--env KEY=VALUE ...]

Steps: create the bench database (``zheliban_bench*`` only), migrate, seed the demo province,
import the 2,262 real Guangdong items (unless ``--no-real-items``) and collect static files into
a temporary var folder; fill the pages' placeholders (``{item}``: the most used published item,
...) from the data; start gunicorn on a free loopback port with
production-like settings (DEBUG off, random SECRET_KEY, manifest static storage), and beside it
``tests.bench.bare`` (a bare Django view returning JSON) under the same gunicorn settings; load
(wrk, or locust) ``/healthz``, each page and ``/healthz`` again, one after the other, with a run
of the bare view before the first and after each; print requests per second and latency
percentiles per page with its ratio to the bare view measured just before and just after it (on a
shared machine the load of other processes changes within minutes: a baseline taken next to each
page follows it). Both servers are always stopped and the database dropped (unless
``--keep-db``).

Figures are printed (and written with ``--json``), never asserted. The exit status is 0 when
every warm-up request answered 200 and none failed under load (wrk: an answer outside 2xx/3xx or
a socket error; locust: anything but 200), 1 otherwise, 2 when the bench itself could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
HEALTHZ = "/healthz"
BARE_APP = "tests.bench.bare:application"
BARE_PATH = "/bare/"
BARE_LABEL = "bare Django"
# One of every kind of public page and API read. ``{name}`` is filled from the data once it is
# seeded (``PLACEHOLDERS``).
DEFAULT_PAGES = [
    "/",
    "/services/?q=户口",
    "/services/items/{item}/",
    "/services/life-events/{life_event}/",
    "/departments/",
    "/departments/330106-gongan/",
    "/board/",
    "/assistant/",
    "/api/v1/items/?search=生孩子",
    "/api/v1/items/{item}/",
    "/api/v1/departments/?region=330106",
    "/api/v1/assistant/?q=护照过期了怎么办",
    "/api/v1/scoreboard/",
    "/open311/v2/services.json",
]
PLACEHOLDERS = {
    "item": "the code of the most used published item",
    "life_event": "the slug of the life event with the most published items",
}
# The real feed: $ZHELIBAN_DATA_DIR/catalog/gdzwfw_items.jsonl, by default in the shared data
# folder beside the repository.
FEED = Path("catalog") / "gdzwfw_items.jsonl"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench"
BENCH_DB_NAME = re.compile(r"^zheliban_bench[a-z0-9_]*$")
PATH_ENV = "ZHELIBAN_BENCH_PATH"  # read by locustfile.py
LOAD_GENERATORS = ("wrk", "locust")
HOST = "127.0.0.1"  # load only ever goes to loopback
# What stays as it is when a page's path is percent-encoded for the request line.
URL_SAFE = "/?&=%:+,;@-._~"

STATIC_BACKENDS = {
    # Hashed names through the manifest, served by WhiteNoise, without pre-compressing: the
    # pages render exactly as in production, and setup takes seconds instead of minutes.
    "manifest": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
    # The production default when DEBUG is off (gzip + brotli at collectstatic time).
    "compressed": "whitenoise.storage.CompressedManifestStaticFilesStorage",
}

# Only these are inherited from the caller's environment; everything the app reads is set here,
# so a developer's or CI's own DATABASE_URL, DEBUG, CELERY_BROKER_URL... cannot leak in.
PASSTHROUGH_ENV = {
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "VIRTUAL_ENV",
    "SYSTEMROOT",
}
PASSTHROUGH_PREFIXES = ("LC_", "PG")

SETUP_TIMEOUT = 900  # seconds: migrate + seed_demo + collectstatic (compressed takes minutes)
STARTUP_TIMEOUT = 60  # seconds for gunicorn to answer /healthz
LOCUST_GRACE = 60  # seconds on top of --duration before the load generator is killed
WRK_SCRIPT = Path(__file__).resolve().with_name("wrk_report.lua")
WRK_THREADS = 2  # wrk's own threads (event loops): one per core of this machine is plenty
WRK_TIMEOUT = 30  # seconds, as gunicorn's worker timeout: a slow page is measured, not dropped


class BenchError(Exception):
    """The bench could not run (setup, server or load generator), as opposed to slow figures."""


@dataclass
class Result:
    page: str
    requests: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    failures: int
    ratio: float | None = None
    # The bare view's req/s the ratio is taken against.
    bare_rps: float | None = None


@dataclass
class Database:
    url: str
    name: str
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise BenchError(f"--database-url must be a postgres:// URL, not {url!r}")
        name = unquote(parts.path.lstrip("/"))
        if not BENCH_DB_NAME.match(name):
            raise BenchError(
                f"refusing database {name!r}: the bench only creates and drops "
                "databases named zheliban_bench* (lower case, digits, _)"
            )
        return cls(
            url=url,
            name=name,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )

    @property
    def masked_url(self) -> str:
        auth = self.user + (":***" if self.password else "")
        return f"postgres://{auth}@{self.host}:{self.port}/{self.name}"

    def connect(self, dbname: str):
        import psycopg2

        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user or None,
            password=self.password or None,
            dbname=dbname,
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def _admin(self):
        try:
            return self.connect("postgres")
        except Exception as exc:
            raise BenchError(f"cannot reach PostgreSQL at {self.masked_url}: {exc}") from exc

    def exists(self) -> bool:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name])
                return cur.fetchone() is not None
        finally:
            conn.close()

    def create(self) -> None:
        from psycopg2 import sql

        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                        sql.Identifier(self.name)
                    )
                )
        finally:
            conn.close()

    def drop(self) -> None:
        from psycopg2 import sql

        conn = self._admin()
        try:
            force = " WITH (FORCE)" if conn.server_version >= 130000 else ""
            with conn.cursor() as cur:
                cur.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(self.name))
                )
        finally:
            conn.close()

    def server_version(self) -> str:
        conn = self.connect(self.name)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT version()")
                return cur.fetchone()[0]
        finally:
            conn.close()


# --- processes --------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the runner dies, so no server is left behind."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def base_environment() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key in PASSTHROUGH_ENV or key.startswith(PASSTHROUGH_PREFIXES)
    }


def app_settings(args: argparse.Namespace, db: Database, var_dir: Path) -> dict[str, str]:
    """The environment zheliban/settings.py reads, production-like but plain HTTP on loopback."""
    settings = {
        "DJANGO_SETTINGS_MODULE": "zheliban.settings",
        "DATABASE_URL": db.url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback; everything else stays on
        "ZHELIBAN_VAR_DIR": str(var_dir),  # STATIC_ROOT is VAR_DIR/static
        "PYTHONUNBUFFERED": "1",
    }
    if args.static != "compressed":
        settings["STATICFILES_BACKEND"] = STATIC_BACKENDS[args.static]
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BenchError(f"--env expects KEY=VALUE, got {item!r}")
        settings[key] = value
    return settings


def feed_path() -> Path:
    data_dir = os.environ.get("ZHELIBAN_DATA_DIR")
    return (Path(data_dir) if data_dir else ROOT.parent / "shared" / "data") / FEED


def placeholder_values() -> dict[str, str]:
    """The values of ``PLACEHOLDERS``, read from the seeded database."""
    from django.db.models import Count, Q

    from catalog.models import LifeEvent, ServiceItem

    item = (
        ServiceItem.objects.filter(is_active=True)
        .order_by("-popularity", "code")
        .values_list("code", flat=True)
        .first()
    )
    event = (
        LifeEvent.objects.annotate(n=Count("items", filter=Q(items__is_active=True)))
        .order_by("-n", "slug")
        .values_list("slug", flat=True)
        .first()
    )
    return {"item": item or "", "life_event": event or ""}


def setup_main(feed: str = "", placeholders_file: str = "") -> None:
    """Entry point of the setup subprocess (runs with the app's environment): migrate, seed,
    import ``feed`` (when given), collect static files, write the placeholders' values."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)
    call_command("seed_demo")
    if feed:
        call_command("import_items", feed, format="gdzwfw", no_progress=True)
    call_command("collectstatic", interactive=False, verbosity=1)
    if placeholders_file:
        Path(placeholders_file).write_text(json.dumps(placeholder_values()))


def prepare_database(env: dict[str, str], workdir: Path, feed: Path | None) -> dict[str, str]:
    """Set the database and the static files up; the placeholders' values."""
    log = workdir / "setup.log"
    values = workdir / "placeholders.json"
    code = (
        f"from tests.bench.run import setup_main; setup_main({str(feed or '')!r}, {str(values)!r})"
    )
    with log.open("wb") as out:
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=SETUP_TIMEOUT,
                preexec_fn=_die_with_parent,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"setup took over {SETUP_TIMEOUT}s:\n{_tail(log)}") from exc
    if proc.returncode != 0:
        raise BenchError(f"migrate/seed_demo/import/collectstatic failed:\n{_tail(log)}")
    return json.loads(values.read_text())


def fill_pages(pages: list[str], values: dict[str, str]) -> list[str]:
    """The pages with their ``{placeholders}`` filled; one whose value is missing is refused."""
    filled = []
    for page in pages:
        names = re.findall(r"\{(\w+)\}", page)
        for name in names:
            if name not in PLACEHOLDERS:
                raise BenchError(f"{page}: unknown placeholder {{{name}}} (known: {PLACEHOLDERS})")
            if not values.get(name):
                raise BenchError(f"{page}: the data has no value for {{{name}}}")
            page = page.replace(f"{{{name}}}", values[name])
        filled.append(page)
    return filled


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_command(port: int, workers: int, app: str = "zheliban.wsgi:application") -> list[str]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "30",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
        "--error-logfile",
        "-",
    ]
    from gunicorn.config import KNOWN_SETTINGS

    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        # Newer gunicorn opens a control socket at one fixed path under ~/.gunicorn by default.
        command.append("--no-control-socket")
    return command


def start_server(
    env: dict[str, str],
    port: int,
    workers: int,
    log: Path,
    command: list[str] | None = None,
) -> subprocess.Popen:
    """Start gunicorn in its own session: ``command``, or ``gunicorn_command(port, workers)``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command or gunicorn_command(port, workers),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    # The server runs in its own session: its group holds the master and its workers only.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def http_get(port: int, path: str, timeout: float = 10) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "*/*"})
        response = conn.getresponse()
        body = response.read(400).decode("utf-8", "replace")
        return response.status, response.getheader("Location") or "", body
    finally:
        conn.close()


def wait_until_answering(proc: subprocess.Popen, port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn exited with status {proc.returncode}:\n{_tail(log)}")
        try:
            status, _location, body = http_get(port, path, timeout=2)
        except OSError as exc:
            last = str(exc)
        else:
            if status == 200:
                return
            last = f"HTTP {status}: {body}"
        time.sleep(0.25)
    raise BenchError(
        f"{path} did not answer 200 within {STARTUP_TIMEOUT}s (last: {last}):\n{_tail(log)}"
    )


def wait_until_healthy(proc: subprocess.Popen, port: int, log: Path) -> None:
    wait_until_answering(proc, port, HEALTHZ, log)


def probe(port: int, pages: list[str], workers: int) -> list[str]:
    """Warm each page up a few times and explain anything that is not a 200 (bad setup or bug)."""
    problems = []
    for page in pages:
        for _ in range(max(2, 2 * workers)):
            status, location, body = http_get(port, page)
            if status != 200:
                where = f" -> {location}" if location else ""
                snippet = " ".join(body.split())[:160]
                problems.append(f"{page}: HTTP {status}{where} {snippet}".rstrip())
                break
    return problems


def percentile(response_times: dict[float, int], count: int, fraction: float) -> float | None:
    """Locust's own rule (``calculate_response_time_percentile``) on its rounded histogram."""
    if not count:
        return None
    allowed_above = int(count * fraction)
    seen = 0
    for response_time in sorted(response_times, reverse=True):
        seen += response_times[response_time]
        if count - seen <= allowed_above:
            return response_time
    return 0.0


def result_from_locust_json(page: str, entries: list[dict]) -> Result:
    """Figures from locust's final stats (``--json-file``), computed as locust prints them.

    The ``_stats.csv`` file is a snapshot locust rewrites once a second, so it misses up to the
    last second of the run (all of it in very short runs); the JSON is written at shutdown.
    """
    entry = next((e for e in entries if e.get("name") == page), None)
    if entry is None:
        return Result(
            page=page,
            requests=0,
            rps=0.0,
            p50_ms=None,
            p95_ms=None,
            p99_ms=None,
            failures=sum(int(e.get("num_failures") or 0) for e in entries),
        )
    count = int(entry["num_requests"])
    elapsed = (entry.get("last_request_timestamp") or 0) - (entry.get("start_time") or 0)
    histogram = {float(k): int(v) for k, v in (entry.get("response_times") or {}).items()}
    return Result(
        page=page,
        requests=count,
        rps=count / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(histogram, count, 0.50),
        p95_ms=percentile(histogram, count, 0.95),
        p99_ms=percentile(histogram, count, 0.99),
        failures=int(entry["num_failures"]),
    )


def run_wrk(
    page: str,
    args: argparse.Namespace,
    port: int,
    workdir: Path,
    index: int,
    label: str | None = None,
    duration: int | None = None,
) -> tuple[Result, list[str]]:
    """Load ``page`` on ``port`` with wrk for ``duration`` seconds (``--duration`` by default);
    the row is named ``label`` (the page by default)."""
    log = workdir / f"wrk_{index:02d}.log"
    seconds = duration or args.duration
    threads = min(WRK_THREADS, args.users)
    command = [
        args.wrk_path,
        "-t",
        str(threads),
        "-c",
        str(args.users),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{WRK_TIMEOUT}s",
        "-s",
        str(WRK_SCRIPT),
        f"http://{HOST}:{port}{page}",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=base_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        try:
            proc.wait(timeout=seconds + LOCUST_GRACE)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait()
            raise BenchError(f"wrk on {page} overran its time:\n{_tail(log)}") from exc
    text = log.read_text(errors="replace")
    found = re.search(r"^WRK_JSON (\{.*\})$", text, re.MULTILINE)
    if proc.returncode != 0 or found is None:
        raise BenchError(f"wrk on {page} failed (exit {proc.returncode}):\n{_tail(log)}")
    figures = json.loads(found.group(1))
    errors = {k: figures[k] for k in ("connect", "read", "write", "timeout") if figures[k]}
    failures = figures["status"] + sum(errors.values())
    requests = figures["requests"]
    seconds = figures["seconds"]
    result = Result(
        page=label or page,
        requests=requests,
        rps=requests / seconds if seconds > 0 else 0.0,
        p50_ms=figures["p50_us"] / 1000 if requests else None,
        p95_ms=figures["p95_us"] / 1000 if requests else None,
        p99_ms=figures["p99_us"] / 1000 if requests else None,
        failures=failures,
    )
    messages = []
    if figures["status"]:
        messages.append(f"{page}: {figures['status']} answers outside 2xx/3xx")
    if errors:
        kinds = ", ".join(f"{count} {kind}" for kind, count in errors.items())
        messages.append(f"{page}: socket errors: {kinds}")
    return result, messages


def run_locust(
    page: str,
    args: argparse.Namespace,
    port: int,
    workdir: Path,
    index: int,
    label: str | None = None,
    duration: int | None = None,
) -> tuple[Result, list[str]]:
    """Load ``page`` on ``port`` for ``duration`` seconds (``--duration`` by default); the row
    is named ``label`` (the page by default)."""
    prefix = workdir / f"locust_{index:02d}"
    seconds = duration or args.duration
    log = workdir / f"locust_{index:02d}.log"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.users),
        "-t",
        f"{seconds}s",
        "--host",
        f"http://{HOST}:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--json-file",
        str(prefix),
        "--reset-stats",
        "--loglevel",
        "WARNING",
    ]
    env = {**base_environment(), PATH_ENV: page, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        try:
            proc.wait(timeout=seconds + LOCUST_GRACE)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait()
            raise BenchError(f"locust on {page} overran its time:\n{_tail(log)}") from exc

    final = Path(f"{prefix}.json")
    try:
        entries = json.loads(final.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(
            f"locust on {page} wrote no final stats (exit {proc.returncode}, {exc}):\n{_tail(log)}"
        ) from exc
    result = result_from_locust_json(page, entries)
    result.page = label or page

    # Failure messages come from the CSV snapshot: best effort, the count above is exact.
    messages = []
    for suffix in ("failures", "exceptions"):
        path = Path(f"{prefix}_{suffix}.csv")
        if path.exists():
            with path.open(newline="") as handle:
                for item in csv.DictReader(handle):
                    text = item.get("Error") or item.get("Message") or str(item)
                    count = item.get("Occurrences") or item.get("Count") or "?"
                    messages.append(f"{page}: {count} x {' '.join(text.split())[:200]}")
    if result.failures and not messages:
        messages.append(f"{page}: {result.failures} failed requests (see the locustfile rule)")
    return result, messages


# --- report -----------------------------------------------------------------------------------


def _version(*names: str) -> str:
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(name)
    return "?"


def _wrk_version(path: str) -> str:
    """wrk prints its version in its usage text (it has no --version)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        proc = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=5)
        found = re.search(r"wrk (\S+)", proc.stdout + proc.stderr)
        if found:
            return found.group(1)
    return "?"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def loadavg() -> str:
    """Load of the whole machine: other processes compete with the server and locust."""
    if not hasattr(os, "getloadavg"):
        return "?"
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine_info(db: Database, load_before: str) -> dict[str, object]:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    try:
        postgres = db.server_version()
    except Exception as exc:
        postgres = f"? ({exc})"
    return {
        "cores": cores,
        "usable_cores": usable,
        "cpu": _cpu_model(),
        "load before": f"{load_before} (1, 5, 15 min)",
        "load after": f"{loadavg()} (1, 5, 15 min)",
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "postgresql": postgres,
        "django": _version("Django"),
        "gunicorn": _version("gunicorn"),
        "locust": _version("locust"),
        "psycopg2": _version("psycopg2-binary", "psycopg2"),
    }


def _fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_table(results: list[Result]) -> str:
    header = ("page", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "failures", "vs bare")
    rows = [
        (
            r.page,
            str(r.requests),
            _fmt(r.rps, 1),
            _fmt(r.p50_ms),
            _fmt(r.p95_ms),
            _fmt(r.p99_ms),
            str(r.failures),
            _fmt(r.ratio, 3),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        rest = "  ".join(
            cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)
        )
        return f"{first}  {rest}"

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def report(
    results: list[Result],
    bare_runs: list[Result],
    baseline: float | None,
    machine: dict,
    settings: dict,
    failures: list[str],
    problems: list[str],
) -> str:
    out = ["", "machine:"]
    out += [f"  {key:<15} {value}" for key, value in machine.items()]
    out += ["", "settings:"]
    out += [f"  {key:<15} {value}" for key, value in settings.items()]
    out += ["", format_table(results), ""]
    first, last = bare_runs[0], bare_runs[-1]
    drift = last.rps / first.rps if first.rps else None
    out.append(
        f"bare baseline: {_fmt(baseline, 1)} req/s = mean of the {len(bare_runs)} runs of a bare "
        f"Django view returning JSON, one before the first row and one after each; drift "
        f"last/first {_fmt(drift, 3)}"
    )
    out.append("bare runs, req/s in order: " + " ".join(_fmt(r.rps, 0) for r in bare_runs))
    out.append(
        "vs bare = req/s of the row / mean of the bare runs just before and just after it "
        "(same gunicorn settings, same machine, same minute); for the two bare rows, / the "
        "bare baseline"
    )
    if problems:
        out += ["", "warm-up answers that were not 200:"] + [f"  {p}" for p in problems]
    if failures:
        out += ["", "failures:"] + [f"  {f}" for f in failures]
    return "\n".join(out)


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.run",
        description="Load pages under gunicorn on PostgreSQL and compare each with a bare "
        "Django view.",
    )
    parser.add_argument(
        "--pages",
        nargs="+",
        default=DEFAULT_PAGES,
        metavar="PATH",
        help="paths to measure, query string allowed; {item} and {life_event} are filled from "
        "the data (default: %(default)s)",
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=20,
        help="seconds of load per page and per healthz run (default 20)",
    )
    parser.add_argument(
        "--bare-duration",
        type=int,
        help="seconds of load per run of the bare view, before the first row and after each "
        "(default: --duration, at most 10)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=16,
        help="concurrent connections (locust: users), no think time (default 16)",
    )
    parser.add_argument(
        "--load",
        choices=LOAD_GENERATORS,
        default="wrk",
        help="load generator: wrk (default; costs the machine about a tenth of what locust "
        "does per request, so the server, not the generator, sets the pace) or locust",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="bench database, named zheliban_bench* (default %(default)s)",
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="reuse the database if present and do not drop it at the end",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--static",
        choices=sorted(STATIC_BACKENDS),
        default="manifest",
        help="manifest: hashed names, no pre-compression (fast setup, default); "
        "compressed: WhiteNoise's production default (collectstatic takes "
        "minutes)",
    )
    parser.add_argument(
        "--real-items",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="import the 2,262 real Guangdong items after seed_demo (default on; the feed is "
        "$ZHELIBAN_DATA_DIR/catalog/gdzwfw_items.jsonl or ../shared/data/catalog/ beside the "
        "repository)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra setting for the app's environment, e.g. CONN_MAX_AGE=0",
    )
    args = parser.parse_args(argv)
    for page in args.pages:
        if not page.startswith("/"):
            parser.error(f"pages are paths starting with /, got {page!r}")
    args.pages = [page for page in dict.fromkeys(args.pages) if page != HEALTHZ]
    if args.bare_duration is None:
        args.bare_duration = min(args.duration, 10)
    if min(args.duration, args.bare_duration, args.users, args.workers) < 1:
        parser.error("--duration, --bare-duration, --users and --workers must be at least 1")
    args.wrk_path = shutil.which("wrk") or ""
    if args.load == "wrk" and not args.wrk_path:
        parser.error("wrk is not installed (apt-get install wrk), or pass --load locust")
    return args


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` cleans up
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2

    load_before = loadavg()
    workdir = Path(tempfile.mkdtemp(prefix="zheliban-bench-"))
    server: subprocess.Popen | None = None
    bare: subprocess.Popen | None = None
    try:
        app = app_settings(args, db, workdir / "var")
        env = {**base_environment(), **app}
        if not (args.keep_db and db.exists()):
            _progress(f"creating database {db.name}")
            db.drop()
            db.create()
        feed = None
        if args.real_items:
            feed = feed_path()
            if not feed.is_file():
                raise BenchError(
                    f"no real items at {feed} (set ZHELIBAN_DATA_DIR or pass --no-real-items)"
                )
        _progress("migrate, seed_demo" + (", import_items" if feed else "") + ", collectstatic")
        values = prepare_database(env, workdir, feed)
        pages = [quote(page, safe=URL_SAFE) for page in fill_pages(args.pages, values)]
        labels = dict(zip(pages, fill_pages(args.pages, values), strict=True))

        port = free_port()
        server_log = workdir / "gunicorn.log"
        _progress(f"gunicorn --workers {args.workers} on {HOST}:{port}")
        server = start_server(env, port, args.workers, server_log)
        wait_until_healthy(server, port, server_log)
        problems = probe(port, [HEALTHZ, *pages], args.workers)

        bare_port = free_port()
        bare_log = workdir / "gunicorn-bare.log"
        _progress(f"bare Django view, gunicorn --workers {args.workers} on {HOST}:{bare_port}")
        bare = start_server(
            base_environment(),
            bare_port,
            args.workers,
            bare_log,
            command=gunicorn_command(bare_port, args.workers, app=BARE_APP),
        )
        wait_until_answering(bare, bare_port, BARE_PATH, bare_log)

        targets = [
            (HEALTHZ, port, None),
            *((page, port, labels[page]) for page in pages),
            (HEALTHZ, port, None),
        ]
        load = run_wrk if args.load == "wrk" else run_locust
        failures: list[str] = []
        runs = 0

        def measure(page: str, page_port: int, label: str | None, seconds: int) -> Result:
            nonlocal runs, failures
            _progress(f"{label or page}: {args.users} connections for {seconds}s")
            result, messages = load(
                page, args, page_port, workdir, runs, label=label, duration=seconds
            )
            runs += 1
            failures += messages
            return result

        # The bare view before the first row and after each, so that every row has a baseline
        # measured in the same minute.
        bare_runs = [measure(BARE_PATH, bare_port, BARE_LABEL, args.bare_duration)]
        rows: list[Result] = []
        for page, page_port, label in targets:
            rows.append(measure(page, page_port, label, args.duration))
            bare_runs.append(measure(BARE_PATH, bare_port, BARE_LABEL, args.bare_duration))

        for row, before, after in zip(rows, bare_runs, bare_runs[1:], strict=False):
            if before.rps and after.rps:
                row.bare_rps = (before.rps + after.rps) / 2
                row.ratio = row.rps / row.bare_rps
        bare_figures = [r.rps for r in bare_runs]
        baseline = sum(bare_figures) / len(bare_figures) if all(bare_figures) else None
        for bare_row in bare_runs:
            bare_row.bare_rps = baseline
            bare_row.ratio = bare_row.rps / baseline if baseline else None
        results = [bare_runs[0], *rows, bare_runs[-1]]

        server_errors = [
            line
            for line in server_log.read_text(errors="replace").splitlines()
            if "Traceback" in line or " ERROR " in line or "[ERROR]" in line
        ]
        failures += [f"server log: {line}" for line in server_errors[:10]]

        machine = machine_info(db, load_before)
        settings = {
            "app env": " ".join(
                f"{k}={'<random>' if k == 'SECRET_KEY' else v}"
                for k, v in app.items()
                if k not in ("DATABASE_URL", "PYTHONUNBUFFERED")
            ),
            "static": f"{args.static} ({STATIC_BACKENDS[args.static]}), collectstatic'ed",
            "database": f"{db.masked_url} ({'kept' if args.keep_db else 'dropped after'})",
            "seed": "seed_demo"
            + (f", the real items of {feed.name} (import_items --format gdzwfw)" if feed else ""),
            "placeholders": ", ".join(f"{{{k}}}={v}" for k, v in values.items()),
            "gunicorn": f"zheliban.wsgi:application and {BARE_APP}, each --workers "
            f"{args.workers} sync",
            "load": (
                f"wrk {_wrk_version(args.wrk_path)}, {min(WRK_THREADS, args.users)} threads, "
                f"{args.users} connections"
                if args.load == "wrk"
                else f"locust FastHttpUser, {args.users} users, spawn {args.users}/s, no wait, "
                "stats reset after spawning"
            )
            + f", {args.duration}s per row and {args.bare_duration}s per bare run, on the same "
            "machine",
        }
        print(
            report(results, bare_runs, baseline, machine, settings, failures, problems),
            flush=True,
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "machine": machine,
                        "settings": settings,
                        "bare_baseline_rps": baseline,
                        "results": [asdict(r) for r in results],
                        "bare_runs": [asdict(r) for r in bare_runs],
                        "failures": failures,
                        "warmup_problems": problems,
                    },
                    indent=2,
                    ensure_ascii=False,
                )
                + "\n"
            )
        return 1 if problems or any(r.failures for r in [*rows, *bare_runs]) else 0
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    finally:
        for proc in (server, bare):
            if proc is not None:
                _progress("stopping gunicorn")
                stop_server(proc)
        if not args.keep_db:
            with contextlib.suppress(BenchError):
                _progress(f"dropping database {db.name}")
                db.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
