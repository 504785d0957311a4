from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parents[2] / "zheliban" / "openapi.yaml"


def test_committed_schema_matches_the_code():
    generated = StringIO()
    call_command("spectacular", "--lang", "en", "--validate", "--fail-on-warn", stdout=generated)
    assert generated.getvalue() == COMMITTED.read_text(encoding="utf-8"), (
        "The API changed: regenerate the committed schema with "
        "`python manage.py spectacular --lang en --validate --file zheliban/openapi.yaml`"
    )


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    body = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in body
    assert "http://" not in body.replace("http://testserver", "")
    assert "https://" not in body


@pytest.mark.django_db
def test_api_root_lists_endpoints(client):
    body = client.get("/api/v1/").json()
    assert body["version"] == "v1"
    assert body["endpoints"]["departments"] == "http://testserver/api/v1/departments/"
    assert body["endpoints"]["schema"] == "http://testserver/api/schema/"
