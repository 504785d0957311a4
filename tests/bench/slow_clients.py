"""Pages while slow uploads are in flight: the web process as configured (threaded workers) next
to sync workers, in one run.

    python -m tests.bench.slow_clients [--duration 20] [--warmup 5] [--clients 4] [--workers 2]
        [--threads 8] [--uploads 4] [--upload-rate 1000000] [--upload-size 20000000] [--timeout 30]
        [--pages / /services/ /board/ /healthz] [--database-url .../zheliban_bench_slow]
        [--keep-db] [--json out.json] [--static manifest|compressed] [--env KEY=VALUE ...]

Setup is ``tests.bench.run``'s: a scratch PostgreSQL database (``zheliban_bench*`` only),
``migrate``, ``seed_demo``, ``collectstatic``, the same production-like environment. Then, on
that database, two servers one after the other, each started as production starts it,
``gunicorn -c python:zheliban.gunicorn_conf zheliban.wsgi:application`` with
``WEB_CONCURRENCY=--workers`` and ``GUNICORN_THREADS=--threads``:

- ``gthread``: the configuration as it is;
- ``sync``: the same, with ``--worker-class sync --threads 1`` on the command line (the old way,
  the baseline; gunicorn turns a sync worker with threads into gthread, hence ``--threads 1``).

Each server is warmed up with ``--warmup`` seconds of unmeasured page load, then measured twice:
without slow uploads, then while ``--uploads`` clients each POST a ticket with a PDF attachment to
``/api/v1/tickets/`` (a multipart body of ``--upload-size`` bytes, within
``REQUEST_BODY_MAX_BYTES``) at ``--upload-rate`` bytes per second, starting the next one as soon as
one is answered, so that all of them are in flight for the whole measurement. During each
measurement ``--clients`` threads GET the pages in turn, one request at a time each, on a new
connection each (``http.client``), for ``--duration`` seconds; a request started in that time is
followed to its answer or to ``--timeout``. A request that times out or answers anything but 200 is
a failure, and its latency counts as the time it waited, so a percentile at the timeout means that
share of pages never came. Percentiles follow ``run.percentile`` (locust's rule) on latencies
rounded to the millisecond.

Figures are printed (and written with ``--json``), never asserted. The exit status is 0 when
every page answered 200 under the configuration as it is (the sync baseline is expected to
fail), 1 when some did not, 2 when the bench itself could not run. Gunicorn is always stopped
and the database dropped (unless ``--keep-db``).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import itertools
import json
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.bench import run
from tests.bench.run import HOST, BenchError, Database

DEFAULT_PAGES = ["/", "/services/", "/board/", "/healthz"]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench_slow"
CONFIG = "python:zheliban.gunicorn_conf"
UPLOAD_PATH = "/api/v1/tickets/"
BOUNDARY = "zhelibanbenchupload"
SYNC_ARGS = ["--worker-class", "sync", "--threads", "1"]
START_UPLOADS_TIMEOUT = 30  # seconds for every upload to be under way


@dataclass
class Sample:
    page: str
    ms: float
    error: str  # "" when the page answered 200


@dataclass
class Row:
    server: str
    uploads: int
    page: str
    requests: int
    failures: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class UploadStats:
    started: int = 0
    answered: dict[str, int] = field(default_factory=dict)  # status -> count
    cut_off: int = 0  # still in flight when the measurement ended
    errors: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.bytes_sent / self.seconds if self.seconds else 0.0


# --- the server -------------------------------------------------------------------------------


def server_command(extra: list[str]) -> list[str]:
    """The command production runs (``zheliban/gunicorn_conf.py``), with ``extra`` on the command
    line, where it overrides the configuration file."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        CONFIG,
        *extra,
        "zheliban.wsgi:application",
    ]


def worker_in_log(log: Path) -> str:
    found = re.search(r"Using worker: (\S+)", log.read_text(errors="replace"))
    return found.group(1) if found else "?"


# --- page clients -----------------------------------------------------------------------------


def timed_get(port: int, page: str, timeout: float) -> Sample:
    """One GET on a new connection, the whole body read; its latency and what went wrong."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", page, headers={"Accept": "text/html,application/json;q=0.9,*/*"})
        response = conn.getresponse()
        response.read()
        error = "" if response.status == 200 else f"HTTP {response.status}"
    except TimeoutError:
        error = "timeout"
    except (OSError, http.client.HTTPException) as exc:
        error = type(exc).__name__
    finally:
        conn.close()
    return Sample(page=page, ms=(time.perf_counter() - start) * 1000, error=error)


def load_pages(
    port: int, pages: list[str], clients: int, duration: float, timeout: float
) -> tuple[list[Sample], float]:
    """``clients`` threads, each requesting the pages in turn (each from its own starting page)
    until ``duration`` is over; every sample, and the seconds until the last one was in."""
    samples: list[Sample] = []
    lock = threading.Lock()
    start = time.monotonic()
    stop_at = start + duration

    def client(index: int) -> None:
        order = itertools.cycle(pages[index % len(pages) :] + pages[: index % len(pages)])
        while time.monotonic() < stop_at:
            sample = timed_get(port, next(order), timeout)
            with lock:
                samples.append(sample)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.monotonic() - start


def rows_for(server: str, uploads: int, pages: list[str], samples: list[Sample], seconds: float):
    rows = []
    for page in [*pages, "all pages"]:
        mine = samples if page == "all pages" else [s for s in samples if s.page == page]
        histogram = collections.Counter(round(s.ms) for s in mine)
        count = len(mine)
        rows.append(
            Row(
                server=server,
                uploads=uploads,
                page=page,
                requests=count,
                failures=sum(1 for s in mine if s.error),
                rps=count / seconds if seconds else 0.0,
                p50_ms=run.percentile(histogram, count, 0.50),
                p95_ms=run.percentile(histogram, count, 0.95),
                p99_ms=run.percentile(histogram, count, 0.99),
                max_ms=max(histogram) if histogram else None,
                errors=dict(collections.Counter(s.error for s in mine if s.error)),
            )
        )
    return rows


# --- slow uploads -----------------------------------------------------------------------------


def upload_parts(size: int) -> tuple[bytes, int, bytes]:
    """A valid anonymous ticket as a multipart body of exactly ``size`` bytes: the head (fields
    and the attachment's part header), the length of the PDF that follows, and the tail."""
    fields = {
        "kind": "consultation",
        "content": "上传材料较大，网速较慢，请问能否收到？",
        "region": "330106",
        "address": "文三路 100 号",
        "anonymous": "true",
    }
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    head += (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="attachments"; filename="scan.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    head_bytes = head.encode()
    pdf_size = size - len(head_bytes) - len(tail)
    if pdf_size < 64:
        raise BenchError(f"--upload-size {size} is too small for a ticket with an attachment")
    return head_bytes, pdf_size, tail


def pdf_chunks(size: int, chunk: int):
    """A PDF-looking file of ``size`` bytes (what the upload check sniffs), in chunks."""
    start, end = b"%PDF-1.4\n", b"\n%%EOF\n"
    filler = size - len(start) - len(end)
    yield start
    block = b"0" * chunk
    while filler > 0:
        yield block[: min(chunk, filler)]
        filler -= chunk
    yield end


class SlowUploader(threading.Thread):
    """Uploads one ticket after another at ``rate`` bytes per second until stopped.

    The pace is kept chunk by chunk and never caught up: a client held back by the server (its
    connection not yet accepted, its buffers full) does not then burst above ``rate``.
    """

    def __init__(self, port: int, *, size: int, rate: int, timeout: float) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.size = size
        self.rate = rate
        self.timeout = timeout
        self.chunk = max(1024, min(64 * 1024, rate // 20))
        self.stats = UploadStats()
        self.under_way = threading.Event()  # the first chunk of the first upload is sent
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._sock is not None:
                # Wakes a send or a receive blocked in this thread.
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> None:
        begin = time.monotonic()
        try:
            while not self._stopping.is_set():
                self._one()
        finally:
            self.stats.seconds = time.monotonic() - begin

    def _count(self, bucket: dict[str, int], key: str) -> None:
        bucket[key] = bucket.get(key, 0) + 1

    def _one(self) -> None:
        head, pdf_size, tail = upload_parts(self.size)
        request = (
            f"POST {UPLOAD_PATH} HTTP/1.1\r\nHost: {HOST}\r\nAccept-Language: en\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {self.size}\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
        except OSError as exc:
            self._count(self.stats.errors, f"connect: {type(exc).__name__}")
            self._stopping.wait(1)
            return
        with self._lock:
            self._sock = sock
        self.stats.started += 1
        try:
            sock.sendall(request)
            due = time.monotonic()
            for piece in itertools.chain([head], pdf_chunks(pdf_size, self.chunk), [tail]):
                wait = due - time.monotonic()
                if wait > 0 and self._stopping.wait(wait):
                    self.stats.cut_off += 1
                    return
                if self._stopping.is_set():
                    self.stats.cut_off += 1
                    return
                sock.sendall(piece)
                self.stats.bytes_sent += len(piece)
                self.under_way.set()
                due = max(due + len(piece) / self.rate, time.monotonic())
            response = http.client.HTTPResponse(sock)
            response.begin()
            response.read()
            self._count(self.stats.answered, str(response.status))
        except (OSError, http.client.HTTPException) as exc:
            if self._stopping.is_set():
                self.stats.cut_off += 1
            else:
                self._count(self.stats.errors, type(exc).__name__)
        finally:
            with self._lock:
                self._sock = None
            sock.close()


def start_uploads(port: int, args: argparse.Namespace) -> list[SlowUploader]:
    uploaders = [
        SlowUploader(port, size=args.upload_size, rate=args.upload_rate, timeout=args.timeout * 4)
        for _ in range(args.uploads)
    ]
    for uploader in uploaders:
        uploader.start()
    deadline = time.monotonic() + START_UPLOADS_TIMEOUT
    for uploader in uploaders:
        if not uploader.under_way.wait(max(0.0, deadline - time.monotonic())):
            stop_uploads(uploaders)
            raise BenchError(f"the slow uploads did not start within {START_UPLOADS_TIMEOUT}s")
    return uploaders


def stop_uploads(uploaders: list[SlowUploader]) -> UploadStats:
    for uploader in uploaders:
        uploader.stop()
    total = UploadStats()
    for uploader in uploaders:
        uploader.join(timeout=30)
        stats = uploader.stats
        total.started += stats.started
        total.cut_off += stats.cut_off
        total.bytes_sent += stats.bytes_sent
        total.seconds += stats.seconds  # so that ``rate`` is that of one uploader
        for bucket, source in ((total.answered, stats.answered), (total.errors, stats.errors)):
            for key, count in source.items():
                bucket[key] = bucket.get(key, 0) + count
    return total


# --- one server -------------------------------------------------------------------------------


@dataclass
class ServerRun:
    name: str
    worker: str
    rows: list[Row]
    uploads: UploadStats
    warmup_problems: list[str]
    server_errors: list[str]


def measure_server(
    name: str, extra: list[str], args: argparse.Namespace, env: dict[str, str], workdir: Path
) -> ServerRun:
    port = run.free_port()
    log = workdir / f"gunicorn-{name}.log"
    server_env = {
        **env,
        "GUNICORN_BIND": f"{HOST}:{port}",
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
    }
    command = server_command(extra)
    progress(f"{name}: {' '.join(command[2:])} on {HOST}:{port}")
    server = run.start_server(server_env, port, args.workers, log, command=command)
    try:
        run.wait_until_healthy(server, port, log)
        problems = run.probe(port, args.pages, args.workers)
        worker = worker_in_log(log)
        if args.warmup:
            progress(f"{name}: warming up for {args.warmup}s")
            load_pages(port, args.pages, args.clients, args.warmup, args.timeout)

        progress(f"{name}: {args.clients} clients for {args.duration}s, no uploads")
        samples, seconds = load_pages(port, args.pages, args.clients, args.duration, args.timeout)
        rows = rows_for(name, 0, args.pages, samples, seconds)

        progress(
            f"{name}: {args.uploads} uploads of {args.upload_size} B at {args.upload_rate} B/s, "
            f"{args.clients} clients for {args.duration}s"
        )
        uploaders = start_uploads(port, args)
        try:
            samples, seconds = load_pages(
                port, args.pages, args.clients, args.duration, args.timeout
            )
        finally:
            uploads = stop_uploads(uploaders)
        rows += rows_for(name, args.uploads, args.pages, samples, seconds)
    finally:
        run.stop_server(server)
    errors = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if "Traceback" in line or "[ERROR]" in line or " ERROR " in line
    ]
    return ServerRun(name, worker, rows, uploads, problems, errors[:10])


# --- report -----------------------------------------------------------------------------------


def format_table(rows: list[Row]) -> str:
    fmt = run._fmt
    header = ("server", "uploads", "page", "requests", "req/s", "failed", "p50 ms", "p95 ms")
    header += ("p99 ms", "max ms")
    lines = [
        (
            r.server,
            str(r.uploads),
            r.page,
            str(r.requests),
            fmt(r.rps, 1),
            str(r.failures),
            fmt(r.p50_ms),
            fmt(r.p95_ms),
            fmt(r.p99_ms),
            fmt(r.max_ms),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def line(cells) -> str:
        left = "  ".join(cell.ljust(w) for cell, w in zip(cells[:3], widths[:3], strict=True))
        right = "  ".join(cell.rjust(w) for cell, w in zip(cells[3:], widths[3:], strict=True))
        return f"{left}  {right}"

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, lines)])


def summary(runs: list[ServerRun], uploads: int) -> list[str]:
    out = []
    for server_run in runs:
        total = {r.uploads: r for r in server_run.rows if r.page == "all pages"}
        calm, busy = total.get(0), total.get(uploads)
        if calm is None or busy is None:
            continue
        ratio = busy.p95_ms / calm.p95_ms if calm.p95_ms and busy.p95_ms is not None else None
        out.append(
            f"{server_run.name} ({server_run.worker}): p95 of all pages {run._fmt(calm.p95_ms)} ms "
            f"without uploads, {run._fmt(busy.p95_ms)} ms with {uploads} "
            f"(x{run._fmt(ratio, 1)}); failed {calm.failures}/{calm.requests} and "
            f"{busy.failures}/{busy.requests}"
        )
    return out


def report(runs: list[ServerRun], machine: dict, settings: dict, args: argparse.Namespace) -> str:
    out = ["", "machine:"]
    out += [f"  {key:<15} {value}" for key, value in machine.items()]
    out += ["", "settings:"]
    out += [f"  {key:<15} {value}" for key, value in settings.items()]
    out += ["", format_table([row for r in runs for row in r.rows]), ""]
    out += summary(runs, args.uploads)
    out.append("")
    for r in runs:
        u = r.uploads
        answered = ", ".join(f"{n} x {status}" for status, n in sorted(u.answered.items()))
        out.append(
            f"uploads under {r.name}: {u.started} started, answered {answered or 'none'}, "
            f"{u.cut_off} cut off at the end, {u.rate / 1e6:.2f} MB/s each on average"
            + (f", errors {u.errors}" if u.errors else "")
        )
    for r in runs:
        for row in r.rows:
            if row.errors:
                out.append(f"failed pages under {r.name}, {row.uploads} uploads, {row.page}: ")
                out[-1] += ", ".join(f"{n} x {e}" for e, n in sorted(row.errors.items()))
        if r.warmup_problems:
            out += [f"warm-up under {r.name}: {p}" for p in r.warmup_problems]
        if r.server_errors:
            out += [f"server log under {r.name}: {line}" for line in r.server_errors]
    return "\n".join(out)


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.slow_clients",
        description="Page latency with and without slow uploads, gthread (as configured) "
        "next to sync workers.",
    )
    parser.add_argument(
        "--pages", nargs="+", default=DEFAULT_PAGES, metavar="PATH", help="(%(default)s)"
    )
    parser.add_argument(
        "--duration", type=int, default=20, help="seconds of load per measurement (20)"
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of unmeasured load first, per server (5)"
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent page clients (4)")
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY (2)")
    parser.add_argument("--threads", type=int, default=8, help="GUNICORN_THREADS (8)")
    parser.add_argument("--uploads", type=int, default=4, help="slow uploads in flight (4)")
    parser.add_argument(
        "--upload-rate", type=int, default=1_000_000, help="bytes per second each (1000000)"
    )
    parser.add_argument(
        "--upload-size", type=int, default=20_000_000, help="bytes of each upload (20000000)"
    )
    parser.add_argument(
        "--timeout", type=float, default=30, help="seconds a page client waits (30)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="bench database, named zheliban_bench* (default %(default)s)",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="reuse the database if present, do not drop it"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--static", choices=sorted(run.STATIC_BACKENDS), default="manifest", help="(manifest)"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="extra app setting"
    )
    args = parser.parse_args(argv)
    for page in args.pages:
        if not page.startswith("/"):
            parser.error(f"pages are paths starting with /, got {page!r}")
    args.pages = list(dict.fromkeys(args.pages))
    numbers = (args.duration, args.clients, args.workers, args.threads, args.upload_rate)
    if min(numbers) < 1 or args.uploads < 0 or args.warmup < 0 or args.timeout <= 0:
        parser.error(
            "--duration, --clients, --workers, --threads and --upload-rate must be at least 1, "
            "--uploads and --warmup at least 0, --timeout above 0"
        )
    return args


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` cleans up
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2

    load_before = run.loadavg()
    workdir = Path(tempfile.mkdtemp(prefix="zheliban-bench-slow-"))
    try:
        app = run.app_settings(args, db, workdir / "var")
        env = {**run.base_environment(), **app}
        if not (args.keep_db and db.exists()):
            progress(f"creating database {db.name}")
            db.drop()
            db.create()
        progress("migrate, seed_demo, collectstatic")
        run.prepare_database(env, workdir)

        runs = [
            measure_server("gthread", [], args, env, workdir),
            measure_server("sync", SYNC_ARGS, args, env, workdir),
        ]
        machine = run.machine_info(db, load_before)
        settings = {
            "app env": " ".join(
                f"{k}={'<random>' if k == 'SECRET_KEY' else v}"
                for k, v in app.items()
                if k not in ("DATABASE_URL", "PYTHONUNBUFFERED")
            ),
            "database": f"{db.masked_url} ({'kept' if args.keep_db else 'dropped after'})",
            "gunicorn": f"-c {CONFIG} zheliban.wsgi:application, WEB_CONCURRENCY={args.workers}"
            f" GUNICORN_THREADS={args.threads}; sync: + {' '.join(SYNC_ARGS)}",
            "workers": ", ".join(f"{r.name}: {r.worker} x {args.workers}" for r in runs),
            "pages": f"{' '.join(args.pages)}: {args.clients} clients, one request at a time, "
            f"new connection each, {args.warmup}s warm-up per server, {args.duration}s per "
            f"measurement, timeout {args.timeout:g}s",
            "uploads": f"{args.uploads} in flight, POST {UPLOAD_PATH} multipart (a ticket with "
            f"a PDF), {args.upload_size} B each at {args.upload_rate} B/s "
            f"({args.upload_size / args.upload_rate:.0f}s each), next one at once",
        }
        print(report(runs, machine, settings, args), flush=True)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "machine": machine,
                        "settings": settings,
                        "runs": [
                            {**asdict(r), "uploads": {**asdict(r.uploads), "rate": r.uploads.rate}}
                            for r in runs
                        ],
                    },
                    indent=2,
                    ensure_ascii=False,
                )
                + "\n"
            )
        configured = runs[0]
        return 1 if any(row.failures for row in configured.rows) else 0
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep_db:
            with contextlib.suppress(BenchError):
                progress(f"dropping database {db.name}")
                db.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
