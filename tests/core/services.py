"""Real services for the outbox tests: a private redis-server, a Celery worker, broker routing."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import kombu
import kombu.pools
from django.conf import settings

from zheliban import celery_app

from .worker_tasks import WORKER_ENV_FLAG

REPO_ROOT = Path(__file__).resolve().parents[2]
CELERY_BIN = Path(sys.executable).with_name("celery")
WAIT_SECONDS = 30.0


def wait_until(
    condition: Callable[[], Any],
    *,
    timeout: float = WAIT_SECONDS,
    interval: float = 0.1,
    describe: Callable[[], str] = lambda: "",
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout:g} s. {describe()}".strip())
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_process(proc: subprocess.Popen, *, grace: float = 10.0) -> None:
    """Stop a process this test started, with its process group if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            # Not reaped yet, so the group id is still this process's own session: kill what is
            # left of it, pool processes included.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=grace)


class RedisServer:
    """A throw-away ``redis-server`` on a fixed port that a test can stop and start again."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server")

    def start(self) -> None:
        assert self.proc is None, "redis-server is already running"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary() or "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            lambda: port_open(self.port) or self.proc.poll() is not None,
            timeout=10,
            describe=lambda: self.log_path.read_text(errors="replace")[-2000:],
        )
        assert self.proc.poll() is None, self.log_path.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        wait_until(lambda: not port_open(self.port), timeout=10)


def worker_database_url() -> str:
    """The test database pytest-django created, as a ``DATABASE_URL`` for a worker process."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"].endswith("postgresql"), db["ENGINE"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{quote(db['NAME'], safe='')}"


class CeleryWorker:
    """``celery -A zheliban worker`` in a subprocess, consuming one queue of one broker."""

    def __init__(
        self, *, broker_url: str, queue: str, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.extra_env = env or {}
        self.broker_url = broker_url
        self.queue = queue
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log_start = 0

    def log(self) -> str:
        """What this worker has logged since it was started."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_BROKER_URL": self.broker_url,
            "DATABASE_URL": worker_database_url(),
            "CONN_MAX_AGE": "0",
            "PYTHONPATH": os.pathsep.join(
                path for path in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if path
            ),
            WORKER_ENV_FLAG: "1",
            **self.extra_env,
        }
        command = [
            str(CELERY_BIN), "-A", "zheliban", "worker",
            "--pool=prefork", "--concurrency=1",
            "--include", "tests.core.worker_tasks",
            "-Q", self.queue, "-n", f"{self.queue}@%h", "-l", "info",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
            # No remote control: it would leave a pidbox binding per worker behind in Redis.
            "--", "worker.enable_remote_control=False",
        ]  # fmt: skip
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
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
            lambda: " ready." in self.log() or self.proc.poll() is not None,
            timeout=WAIT_SECONDS,
            describe=self.log,
        )
        assert self.proc.poll() is None, f"worker exited early:\n{self.log()[-4000:]}"

    def assert_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, (
            f"worker died:\n{self.log()[-4000:]}"
        )

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


def reset_broker_connections(app=celery_app) -> None:
    """Close pooled broker connections and forget the cached queues/router of the Celery app.

    Both are built from the configuration on first use, so a change of broker URL or default
    queue needs a fresh ``app.amqp`` (queues, router, producer pool) and fresh connection pools.
    kombu keeps its pools in process-wide registries keyed by the broker address: closing one
    without removing it would leave a closed pool ("Acquire on closed pool") for the next user.
    """
    kombu.pools.reset()
    app._pool = None
    app.__dict__.pop("amqp", None)


@contextlib.contextmanager
def celery_sending_to(broker_url: str, queue: str, app=celery_app) -> Iterator[None]:
    """Make this process publish for real to ``broker_url``, into ``queue``, then restore.

    Celery reads ``CELERY_BROKER_URL`` from the environment before its configuration, so the
    variable is switched as well.
    """
    keys = ("broker_url", "task_always_eager", "task_default_queue")
    saved_conf = {key: app.conf[key] for key in keys}
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    app.conf.update(broker_url=broker_url, task_always_eager=False, task_default_queue=queue)
    reset_broker_connections(app)
    try:
        yield
    finally:
        reset_broker_connections(app)
        app.conf.update(saved_conf)
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env


def delete_queue(broker_url: str, queue: str) -> None:
    """Remove a test's own, uniquely named queue from its broker: the queue itself on RabbitMQ,
    whatever kombu left under its name in Redis."""
    if broker_url.startswith("redis://"):
        import redis

        client = redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            keys = list(client.scan_iter(match=f"*{queue}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
        return
    with kombu.Connection(broker_url, connect_timeout=2) as connection:
        connection.default_channel.queue_delete(queue)


class RabbitMQServer:
    """A throw-away RabbitMQ node of its own (name, ports, data folder, no plugins) that a test
    can stop and start again; its queues and messages live in ``data_dir`` across restarts."""

    def __init__(self, port: int, data_dir: Path) -> None:
        self.port = port
        self.dist_port = free_port()
        self.node = f"zheliban-test-{port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{port}//"
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def binary() -> str | None:
        """The server script itself: Debian's ``/usr/sbin`` wrapper would switch to the
        ``rabbitmq`` user, who cannot write the test's data folder."""
        for candidate in ("/usr/lib/rabbitmq/bin/rabbitmq-server", shutil.which("rabbitmq-server")):
            if candidate and Path(candidate).exists():
                return candidate
        return None

    def _env(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        plugins = self.data_dir / "enabled_plugins"
        plugins.write_text("[].\n")
        config = self.data_dir / "rabbitmq.conf"
        config.write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n")
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.data_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.data_dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONFIG_FILE": str(config.with_suffix("")),
            "RABBITMQ_CONF_ENV_FILE": str(self.data_dir / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.data_dir / "advanced.config"),
            "RABBITMQ_PID_FILE": str(self.data_dir / "rabbitmq.pid"),
        }

    def start(self, timeout: float = 60.0) -> None:
        assert self.proc is None, "rabbitmq-server is already running"
        env = self._env()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary() or "rabbitmq-server"],
                cwd=self.data_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            lambda: self._accepts_amqp() or self.proc.poll() is not None,
            timeout=timeout,
            interval=0.25,
            describe=lambda: self.log_path.read_text(errors="replace")[-3000:],
        )
        assert self.proc.poll() is None, self.log_path.read_text(errors="replace")[-3000:]

    def _accepts_amqp(self) -> bool:
        if not port_open(self.port):
            return False
        try:
            with kombu.Connection(self.url, connect_timeout=1) as connection:
                connection.ensure_connection(max_retries=0, timeout=1)
        except Exception:
            return False
        return True

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace=30)
            self.proc = None
        wait_until(lambda: not port_open(self.port), timeout=30)
