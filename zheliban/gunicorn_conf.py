"""How the web process runs: ``gunicorn -c python:zheliban.gunicorn_conf zheliban.wsgi``.

Threaded workers (``gthread``): each process serves ``GUNICORN_THREADS`` connections at once,
so a client that uploads or downloads slowly holds one thread while the others go on serving
pages; idle keep-alive connections wait in the worker's poller and hold no thread. A client
that sends or reads nothing for ``GUNICORN_CLIENT_TIMEOUT`` seconds in the middle of a request
is cut off, so a stalled upload frees its thread (408) instead of holding it for ever. A
request body above ``REQUEST_BODY_MAX_BYTES`` is refused by the application before it is read
(``zheliban.core.middleware.RequestSizeMiddleware``, 413); gunicorn then drains at most 64 KB
of what the client still sends, for at most 5 seconds, and closes the connection.

Each thread may hold a database connection: ``WEB_CONCURRENCY`` × ``GUNICORN_THREADS`` per node
must stay below PostgreSQL's ``max_connections`` (with the workers' and beat's).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker that answers nothing for this long is restarted by the master.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never grows without bound.
max_requests = 5000
max_requests_jitter = 500
# Headers stay small: a request line or header over these is refused (400) before the app.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# No control socket at a fixed path under the home folder: nodes are managed by the supervisor.
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"

# A client that sends or reads nothing for this long in the middle of a request is cut off.
CLIENT_TIMEOUT_SECONDS = float(os.environ.get("GUNICORN_CLIENT_TIMEOUT", "30"))


def pre_request(worker, req):
    """Bound every read of the request's body and every write of its answer: a threaded
    worker's connection is otherwise blocking without a limit."""
    worker.log.debug("%s %s", req.method, req.path)
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None:
        sock.settimeout(CLIENT_TIMEOUT_SECONDS)
