"""A whole portal of its own for fault injection: PostgreSQL, RabbitMQ and Redis started privately,
gunicorn, a Celery worker and beat under a supervisor that restarts what exits, a local SMS
gateway that honours ``Idempotency-Key``, and clients that keep submitting tickets and
applications through the API."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .services import REPO_ROOT, free_port, port_open, stop_process, wait_until

PASSWORD = "Zheliban-demo-2026"


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its tools as the ``postgres`` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PostgresCluster:
    """A throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a free port."""

    def __init__(self, port: int) -> None:
        self.port = port
        # Under /tmp itself: pytest's tmp_path is private to root, the server runs as postgres.
        self.base = Path(tempfile.mkdtemp(prefix="zheliban-faults-pg-"))
        self.data_dir = self.base / "data"
        self.log_path = self.base / "server.log"
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")

    @staticmethod
    def binaries() -> Path | None:
        initdb = shutil.which("initdb")
        if initdb:
            return Path(initdb).resolve().parent
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        return candidates[-1].parent if candidates else None

    def _run(self, *args: str) -> None:
        bindir = self.binaries()
        assert bindir is not None
        subprocess.run(
            _as_postgres([str(bindir / args[0]), *args[1:]]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} "
            "-c fsync=off -c synchronous_commit=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=5
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()


class Supervised:
    """A long-running process restarted whenever it exits, as systemd's ``Restart=always``
    would, unless it was stopped on purpose. Counts the restarts it had to make."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.exits: list[int] = []
        self._paused = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)

    def _spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start(self) -> None:
        with self._lock:
            self._spawn()
        if not self._watcher.is_alive():
            self._watcher.start()

    def _watch(self) -> None:
        while not self._closed.wait(0.5):
            with self._lock:
                if self._paused.is_set() or self.proc is None:
                    continue
                code = self.proc.poll()
                if code is None:
                    continue
                self.exits.append(code)
                self.restarts += 1
                self._spawn()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill_children(self) -> list[int]:
        """SIGKILL the process's own children (a worker's pool processes), not the process."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)
        return [int(child) for child in children]

    def kill(self) -> None:
        """SIGKILL the process and everything in its group; the supervisor restarts it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def pause(self) -> None:
        """Stop it on purpose (SIGTERM, then wait): the supervisor leaves it down."""
        with self._lock:
            self._paused.set()
            if self.proc is not None:
                stop_process(self.proc, grace=30)

    def resume(self) -> None:
        with self._lock:
            self._paused.clear()
            self._spawn()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self.proc is not None:
                stop_process(self.proc, grace=30)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)


@dataclass
class GatewayRecord:
    received: int = 0
    keyless: int = 0
    sent: dict[str, dict] = field(default_factory=dict)
    replays: Counter = field(default_factory=Counter)


class SMSGateway:
    """An HTTP SMS gateway that sends each ``Idempotency-Key`` once: a repeated key is answered
    with the first message's id and counted as a replay, never sent again."""

    def __init__(self) -> None:
        self.record = GatewayRecord()
        lock = threading.Lock()
        record = self.record

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                with lock:
                    record.received += 1
                    if not key:
                        record.keyless += 1
                        key = f"keyless-{uuid.uuid4()}"
                    if key in record.sent:
                        record.replays[key] += 1
                    else:
                        record.sent[key] = {"id": uuid.uuid4().hex, **payload}
                    answer = json.dumps({"id": record.sent[key]["id"]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_call(
    port: int,
    method: str,
    path: str,
    *,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15,
) -> tuple[int, dict | str]:
    """One request; the status and the decoded JSON (or text). Raises OSError when unanswered."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode(errors="replace")
    finally:
        connection.close()


TICKET_TEXTS = (
    "小区门口道路施工噪音很大，晚上十一点还在施工，影响休息。",
    "公交站台的顶棚破损漏雨，等车的老人只能淋雨，请尽快修理。",
    "楼下餐馆油烟直排，整栋楼都是油烟味，窗户都不敢开。",
    "学校门口早晚高峰车辆乱停，孩子过马路很危险。",
    "社区公园的路灯坏了一个多月，晚上散步很不安全。",
)
APPLICATION_ITEMS = (
    "11330106731130196F3332004029000",  # 城乡居民基本医疗保险参保登记
    "11330106469128984D3332003028000",  # 城乡居民基本养老保险参保登记
)


@dataclass
class Submission:
    kind: str  # "ticket" or "application"
    key: str  # its Idempotency-Key, also written into a ticket's text
    attempts: int = 0
    statuses: list[str] = field(default_factory=list)
    accepted_id: str = ""


@dataclass
class Traffic:
    """Citizens submitting tickets and applications until told to stop, each retrying a
    submission (the same Idempotency-Key, the same text) until it is accepted."""

    port: int
    tokens: list[str]
    submissions: list[Submission] = field(default_factory=list)
    # The answers seen, by the phase of the test their requests were sent in; and each 5xx with
    # the phases it was sent and answered in.
    phase: str = "start"
    statuses: dict[str, Counter] = field(default_factory=dict)
    server_errors: list[tuple[str, str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def submit(self, token: str, kind: str, rng: random.Random) -> Submission:
        """Submit one ticket or application until it is accepted (or, once told to stop,
        until it has been tried 200 times)."""
        submission = Submission(kind=kind, key=uuid.uuid4().hex[:16])
        with self.lock:
            self.submissions.append(submission)
        # The same key on every retry: an answer lost after the commit costs no second one.
        headers = {"Authorization": f"Token {token}", "Idempotency-Key": submission.key}
        if submission.kind == "application":
            path = "/api/v1/applications/"
            body = {"item": rng.choice(APPLICATION_ITEMS), "answers": {}}
        else:
            path = "/api/v1/tickets/"
            text = rng.choice(TICKET_TEXTS)
            body = {
                "kind": "complaint",
                "region": "330106",
                "content": f"{text}编号{submission.key}",
            }
        while True:
            submission.attempts += 1
            phase = self.phase
            try:
                status, answer = http_call(self.port, "POST", path, body=body, headers=headers)
                outcome = str(status)
            except OSError as exc:
                status, answer, outcome = 0, None, type(exc).__name__
            submission.statuses.append(outcome)
            with self.lock:
                self.statuses.setdefault(phase, Counter())[outcome] += 1
                if outcome.startswith("5"):
                    self.server_errors.append((phase, self.phase, outcome))
            if status in (200, 201) and isinstance(answer, dict):
                submission.accepted_id = str(answer["id"])
                return submission
            if 400 <= status < 500 and status not in (408, 409, 429):
                raise AssertionError(f"{path} refused {body}: {status} {answer}")
            if self.stop.is_set() and submission.attempts > 200:
                return submission
            time.sleep(0.5)

    def _run(self, token: str, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            self.submit(token, rng.choice(("ticket", "application")), rng)
            time.sleep(rng.uniform(0.2, 0.6))

    def start(self, clients: int) -> None:
        for number in range(clients):
            token = self.tokens[number % len(self.tokens)]
            thread = threading.Thread(target=self._run, args=(token, number), daemon=True)
            self.threads.append(thread)
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in self.threads), "a client is stuck"


def portal_environment(
    *, database_url: str, broker_url: str, cache_url: str, sms_url: str, var_dir: Path
) -> dict[str, str]:
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("PYTEST")},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CACHE_URL": cache_url,
        "SMS_GATEWAY_URL": sms_url,
        "ZHELIBAN_VAR_DIR": str(var_dir),
        # Quicker than production, so the test's drain after the faults takes a minute or two.
        "OUTBOX_RELAY_GRACE_SECONDS": "5",
        "OUTBOX_RECEIPT_SECONDS": "20",
        "OUTBOX_RETRY_MAX_SECONDS": "20",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(
            path for path in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if path
        ),
    }


def manage(env: dict[str, str], *args: str, log_path: Path) -> None:
    with log_path.open("ab") as log:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env={**env, "CELERY_TASK_ALWAYS_EAGER": "1", "SMS_GATEWAY_URL": ""},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=600,
        )


def wait_for_port(port: int, timeout: float = 60) -> None:
    wait_until(lambda: port_open(port), timeout=timeout, interval=0.2)


__all__ = [
    "PASSWORD",
    "PostgresCluster",
    "SMSGateway",
    "Submission",
    "Supervised",
    "Traffic",
    "free_port",
    "http_call",
    "manage",
    "portal_environment",
    "wait_for_port",
]
