import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(json.dumps({"status_code": response.status_code, "body": response.json()}))
"""


def probe(tmp_path, script: str = PROBE, **env) -> dict:
    """Ask /healthz in a fresh process configured by ``env`` (real connections, no mocks)."""
    # Unless a test says otherwise the probe's database is a fresh SQLite file in tmp_path, so the
    # answer does not depend on which PostgreSQL databases exist beside the test database.
    inherited = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "ZHELIBAN_VAR_DIR": str(tmp_path),
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "eager",
        "cache": "local",
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_503_when_the_database_is_down(tmp_path):
    result = probe(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")
    assert result == {
        "status_code": 503,
        "body": {
            "status": "down",
            "database": "unreachable",
            "broker": "eager",
            "cache": "local",
        },
    }


@pytest.mark.parametrize(
    "dead_broker",
    ["amqp://guest:guest@127.0.0.1:1//", "redis://127.0.0.1:1/0"],
    ids=["rabbitmq", "redis"],
)
def test_healthz_says_so_when_only_the_broker_is_down(tmp_path, dead_broker):
    result = probe(tmp_path, CELERY_BROKER_URL=dead_broker, CELERY_TASK_ALWAYS_EAGER="0")
    assert result == {
        "status_code": 200,
        "body": {
            "status": "degraded",
            "database": "ok",
            "broker": "unreachable",
            "cache": "local",
        },
    }


def test_healthz_reports_a_live_broker(broker_url, tmp_path):
    result = probe(tmp_path, CELERY_BROKER_URL=broker_url, CELERY_TASK_ALWAYS_EAGER="0")
    assert result == {
        "status_code": 200,
        "body": {"status": "ok", "database": "ok", "broker": "ok", "cache": "local"},
    }


def test_healthz_says_so_when_only_the_cache_is_down(tmp_path):
    result = probe(tmp_path, CACHE_URL="redis://127.0.0.1:1/0")
    assert result == {
        "status_code": 200,
        "body": {"status": "degraded", "database": "ok", "broker": "eager", "cache": "unreachable"},
    }


def test_healthz_reports_a_live_cache(broker_url, redis_url, tmp_path):
    cache_url = redis_url.rsplit("/", 1)[0] + "/15"
    result = probe(tmp_path, CACHE_URL=cache_url, CELERY_BROKER_URL=broker_url)
    assert result["body"]["cache"] == "ok"
    assert result["body"]["database"] == "ok"
