"""The web process as production runs it: a real ``gunicorn -c python:zheliban.gunicorn_conf``
(threaded workers), on the PostgreSQL test database, with one worker of ``THREADS`` threads.

A client that uploads or downloads slowly holds one thread, never the whole worker: with every
thread held a page waits (which proves each slow client holds one), and with one thread free the
pages answer while the slow clients are still going. The old way, a sync worker, is held by a
single slow upload. A request that announces a body over ``REQUEST_BODY_MAX_BYTES`` is answered
413 on its headers alone, and the server then closes the connection: gunicorn discards what the
client still sends for a few seconds (64 KB) at most, never waiting for the body.

Nothing here is timed: a page that must answer gets a generous timeout, and a page that must wait
is given a few seconds to show that it does.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .services import free_port, stop_process, wait_until, worker_database_url

pytestmark = pytest.mark.services

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
THREADS = 4
BODY_LIMIT = 4 * 1024 * 1024
# What each slow upload announces: under the limit, and far more than it sends during a test.
UPLOAD_LENGTH = 3 * 1024 * 1024
TRICKLE_BYTES = 256
TRICKLE_EVERY = 0.2  # seconds
ANSWER_TIMEOUT = 20.0  # for what must answer
HELD_TIMEOUT = 3.0  # for what must wait behind held threads
GETS = 20
PAGES = ("/healthz", "/")
TICKETS = "/api/v1/tickets/"
TICKET_PAGE = "/tickets/new/"
# The largest static file: more than the socket buffers hold, so its sender waits for the reader.
BIG_STATIC = "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js.map"


class WebProcess:
    """``gunicorn -c python:zheliban.gunicorn_conf zheliban.wsgi`` on a free loopback port;
    ``args`` go on the command line, where they override the configuration file."""

    def __init__(
        self, *, log_path: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.args = args
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": worker_database_url(),
            "CONN_MAX_AGE": "0",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "GUNICORN_BIND": f"{HOST}:{self.port}",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": str(THREADS),
            "REQUEST_BODY_MAX_BYTES": str(BODY_LIMIT),
            "PYTHONPATH": os.pathsep.join(
                path for path in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if path
            ),
            **self.extra_env,
        }
        command = [
            sys.executable, "-m", "gunicorn",
            "-c", "python:zheliban.gunicorn_conf",
            *self.args,
            "zheliban.wsgi",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            lambda: self._healthy() or self.proc.poll() is not None,
            timeout=60,
            interval=0.25,
            describe=lambda: self.log()[-4000:],
        )
        assert self.proc.poll() is None, f"gunicorn exited:\n{self.log()[-4000:]}"

    def _healthy(self) -> bool:
        try:
            return get(self.port, "/healthz", timeout=2) == 200
        except OSError:
            return False

    def worker_class(self) -> str:
        """The worker gunicorn says it uses (it turns ``sync`` with threads into ``gthread``)."""
        found = re.search(r"Using worker: (\S+)", self.log())
        return found.group(1) if found else ""

    def stop(self) -> None:
        # SIGTERM, then SIGKILL to the whole process group if it does not go in time.
        if self.proc is not None:
            stop_process(self.proc, grace=10)
            self.proc = None


def get(port: int, path: str, *, timeout: float = ANSWER_TIMEOUT) -> int:
    """GET ``path`` on a connection of its own; the status, once the whole body has come."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close", "Accept-Language": "en"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def assert_pages_answer(port: int) -> None:
    for _ in range(GETS):
        for path in PAGES:
            assert get(port, path) == 200, path


def assert_held(port: int) -> None:
    """Every thread is busy: a page gets no answer within ``HELD_TIMEOUT``."""
    with pytest.raises(TimeoutError):
        get(port, "/healthz", timeout=HELD_TIMEOUT)


class SlowUpload:
    """A multipart POST announcing ``UPLOAD_LENGTH`` bytes (a PDF attachment), then sending a
    few bytes every ``TRICKLE_EVERY`` seconds, never the whole body."""

    BOUNDARY = "zhelibanslowupload"

    def __init__(self, port: int, path: str) -> None:
        part = (
            f"--{self.BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="attachments"; filename="scan.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        ).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Content-Type: multipart/form-data; boundary={self.BOUNDARY}\r\n"
            f"Content-Length: {UPLOAD_LENGTH}\r\n\r\n"
        ).encode()
        self.sock = socket.create_connection((HOST, port), timeout=ANSWER_TIMEOUT)
        self.sock.sendall(head + part)
        self.sent = len(part)
        self.error: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(TRICKLE_EVERY):
            try:
                self.sock.sendall(b"0" * TRICKLE_BYTES)
            except OSError as exc:
                self.error = exc
                return
            self.sent += TRICKLE_BYTES

    def unanswered(self) -> bool:
        """Still sending, and nothing (no answer, no close) has come back."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return not readable and self.error is None and self.sent < UPLOAD_LENGTH

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class SlowDownload:
    """A GET of a large static file read a few bytes at a time, through a small receive buffer
    (a phone on a bad line)."""

    def __init__(self, port: int, path: str = BIG_STATIC) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(ANSWER_TIMEOUT)
        self.sock.connect((HOST, port))
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        first = self.sock.recv(1024)
        assert first.startswith(b"HTTP/1.1 200 "), first[:200]
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", first)
        assert length, first[:400]
        self.remaining = int(length.group(1)) - len(first.split(b"\r\n\r\n", 1)[1])
        self.error: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sip, daemon=True)
        self._thread.start()

    def _sip(self) -> None:
        while not self._stop.wait(TRICKLE_EVERY):
            try:
                data = self.sock.recv(TRICKLE_BYTES)
            except OSError as exc:
                self.error = exc
                return
            if not data:
                return
            self.remaining -= len(data)

    def unfinished(self) -> bool:
        return self._thread.is_alive() and self.error is None and self.remaining > 0

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def start_web(postgres_required, transactional_db, tmp_path):
    """Start web processes on demand; every one is stopped before the test database is
    flushed."""
    servers: list[WebProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WebProcess:
        server = WebProcess(log_path=tmp_path / f"gunicorn-{len(servers)}.log", args=args, env=env)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


def test_slow_uploads_hold_a_thread_each_and_pages_still_answer(start_web):
    web = start_web()
    assert web.worker_class() == "gthread", web.log()
    assert_pages_answer(web.port)

    uploads: list[SlowUpload] = []
    try:
        for path in itertools.islice(itertools.cycle([TICKETS, TICKET_PAGE]), THREADS):
            uploads.append(SlowUpload(web.port, path))
        assert_held(web.port)
        assert all(upload.unanswered() for upload in uploads)

        uploads.pop().close()
        assert_pages_answer(web.port)
        assert all(upload.unanswered() for upload in uploads), [u.error for u in uploads]
    finally:
        for upload in uploads:
            upload.close()
    assert_pages_answer(web.port)


def test_slow_downloads_hold_a_thread_each_and_pages_still_answer(start_web):
    web = start_web()
    downloads: list[SlowDownload] = []
    try:
        for _ in range(THREADS):
            downloads.append(SlowDownload(web.port))
        assert_held(web.port)

        downloads.pop().close()
        assert_pages_answer(web.port)
        assert all(download.unfinished() for download in downloads)
    finally:
        for download in downloads:
            download.close()


def test_a_stalled_upload_is_cut_off_and_frees_its_thread(start_web):
    """A client that stops sending mid-body gets 408 after the client timeout; its thread
    serves pages again."""
    web = start_web(env={"GUNICORN_CLIENT_TIMEOUT": "2"})
    stalled = []
    try:
        for path in itertools.islice(itertools.cycle([TICKETS, TICKET_PAGE]), THREADS):
            upload = SlowUpload(web.port, path)
            upload._stop.set()  # sends its first bytes, then nothing more
            stalled.append(upload)
        answers = []
        for upload in stalled:
            response = http.client.HTTPResponse(upload.sock)
            response.begin()
            answers.append((response.status, response.read().decode()))
        assert_pages_answer(web.port)
    finally:
        for upload in stalled:
            upload.close()
    assert [status for status, _body in answers] == [408] * THREADS
    api_answer = json.loads(answers[0][1])
    assert api_answer["error"]["code"] == "request_incomplete"
    assert "<h1>无法受理该请求</h1>" in answers[1][1]


def test_one_slow_upload_holds_a_sync_worker(start_web):
    """The old way, for comparison: the same situation stops a sync worker."""
    # A sync worker with threads is turned into gthread by gunicorn: both are overridden.
    web = start_web("--worker-class", "sync", "--threads", "1", "--workers", "1")
    assert web.worker_class() == "sync", web.log()
    assert get(web.port, "/healthz") == 200

    upload = SlowUpload(web.port, TICKETS)
    try:
        assert_held(web.port)
        assert upload.unanswered()
    finally:
        upload.close()
    assert get(web.port, "/healthz") == 200


@pytest.mark.parametrize(
    ("path", "content_type"),
    [(TICKETS, "application/json"), (TICKET_PAGE, "text/html; charset=utf-8")],
    ids=["api", "page"],
)
def test_an_oversized_body_is_refused_on_its_headers_and_the_connection_closed(
    start_web, path, content_type
):
    web = start_web()
    with socket.create_connection((HOST, web.port), timeout=ANSWER_TIMEOUT) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept-Language: en\r\n"
                f"Content-Type: multipart/form-data; boundary={SlowUpload.BOUNDARY}\r\n"
                f"Content-Length: {BODY_LIMIT + 1}\r\n\r\n"
            ).encode()
        )
        # Only the headers were sent: the whole answer comes without the body...
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read().decode()
        # ...and then the server closes the connection instead of waiting for the body.
        try:
            rest = sock.recv(1)
        except TimeoutError:
            pytest.fail(f"the connection was still open after {ANSWER_TIMEOUT:g} s")
        assert rest == b""

    assert response.status == 413
    assert response.getheader("Content-Type") == content_type
    if path == TICKETS:
        message = "The request is larger than 4.0\xa0MB: send smaller or fewer files."
        assert json.loads(body) == {"error": {"code": "request_too_large", "message": message}}
    else:
        assert "<h1>无法受理该请求</h1>" in body
        assert '<p role="alert">' in body
