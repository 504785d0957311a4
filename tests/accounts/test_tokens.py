"""Personal API tokens: issued at each login through the API, stored only hashed, expiring,
listed and revoked by their owner."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import PASSWORD, StaffFactory, UserFactory
from zheliban.accounts.models import PersonalToken
from zheliban.accounts.services import personal_token_hash, personal_token_issue

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
TOKENS = "/api/v1/auth/tokens/"
ME = "/api/v1/me/"


def _auth(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def _rows() -> list[tuple]:
    return list(
        PersonalToken.objects.order_by("pk").values_list(
            "pk", "user_id", "name", "key_hash", "expires_at", "last_used_at", "revoked_at"
        )
    )


def _refused(response, code: str, message: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"error": {"code": code, "message": message}}


@pytest.fixture
def english(client):
    client.cookies["zhb_lang"] = "en"
    return client


def test_issue_use_list_revoke(english, settings):
    client = english
    settings.API_TOKEN_DAYS = 7
    user = UserFactory()
    before = timezone.now()
    issued = client.post(
        TOKEN,
        {"username": user.phone, "password": PASSWORD, "name": "  tax   client "},
        content_type="application/json",
    )
    assert issued.status_code == 200
    body = issued.json()
    assert set(body) == {"token", "id", "name", "prefix", "expires_at"}
    key = body["token"]
    row = PersonalToken.objects.get()
    assert (row.pk, row.user, row.name, row.prefix) == (body["id"], user, "tax client", key[:8])
    assert body["name"] == "tax client" and body["prefix"] == key[:8]
    # Only the hash is kept.
    assert row.key_hash == personal_token_hash(key)
    assert not PersonalToken.objects.filter(key_hash=key).exists()
    assert before + dt.timedelta(days=7) <= row.expires_at <= timezone.now() + dt.timedelta(days=7)
    assert row.last_used_at is None and row.revoked_at is None

    # A second login issues a second token; the first stays valid.
    second = client.post(
        TOKEN, {"username": user.phone, "password": PASSWORD}, content_type="application/json"
    ).json()
    assert second["token"] != key and second["name"] == ""

    me = client.get(ME, **_auth(key))
    assert me.status_code == 200 and me.json()["username"] == user.username
    row.refresh_from_db()
    assert row.last_used_at is not None

    listed = client.get(TOKENS, **_auth(key))
    assert listed.status_code == 200
    results = listed.json()["results"]
    assert [t["id"] for t in results] == [second["id"], row.pk]
    assert [t["current"] for t in results] == [False, True]
    assert set(results[0]) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "current",
    }
    assert key not in listed.content.decode()
    assert row.key_hash not in listed.content.decode()

    revoked = client.delete(f"{TOKENS}{row.pk}/", **_auth(second["token"]))
    assert revoked.status_code == 204
    after_revoke = _rows()
    _refused(
        client.get(ME, **_auth(key)),
        "token_revoked",
        "The API token has been revoked. Ask for a new one.",
    )
    # Idempotent: revoking again answers 204 and changes nothing.
    again = client.delete(f"{TOKENS}{row.pk}/", **_auth(second["token"]))
    assert again.status_code == 204
    assert _rows() == after_revoke
    # The other token is untouched and still works.
    assert client.get(ME, **_auth(second["token"])).status_code == 200
    assert PersonalToken.objects.get(pk=second["id"]).revoked_at is None


def test_expired_token_is_refused(english):
    token, key = personal_token_issue(user=UserFactory())
    PersonalToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    _refused(
        english.get(ME, **_auth(key)),
        "token_expired",
        "The API token has expired. Ask for a new one.",
    )
    token.refresh_from_db()
    assert token.last_used_at is None


def test_unknown_token_is_refused(english):
    personal_token_issue(user=UserFactory())
    _refused(english.get(ME, **_auth("not-a-key")), "token_invalid", "The API token is not valid.")


def test_token_of_an_inactive_account_is_refused(english):
    user = UserFactory()
    _token, key = personal_token_issue(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = english.get(ME, **_auth(key))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_another_persons_token_is_not_found_and_unchanged(client):
    mine, my_key = personal_token_issue(user=UserFactory())
    theirs, their_key = personal_token_issue(user=UserFactory())
    before = _rows()
    response = client.delete(f"{TOKENS}{theirs.pk}/", **_auth(my_key))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # Only the caller's own last use was recorded.
    after = _rows()
    assert [r for r in after if r[0] == theirs.pk] == [r for r in before if r[0] == theirs.pk]
    assert client.get(ME, **_auth(their_key)).status_code == 200
    listed = client.get(TOKENS, **_auth(my_key)).json()["results"]
    assert [t["id"] for t in listed] == [mine.pk]


def test_list_needs_credentials(client):
    personal_token_issue(user=UserFactory())
    assert client.get(TOKENS).status_code in (401, 403)
    assert client.delete(TOKEN).status_code in (401, 403)


def test_last_used_at_is_written_at_most_once_a_minute(client, django_assert_num_queries):
    token, key = personal_token_issue(user=UserFactory())
    start = timezone.now()
    client.get(ME, **_auth(key))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and first >= start
    # Within the minute: the token is read, not written.
    with django_assert_num_queries(1):
        assert client.get(ME, **_auth(key)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first
    # A minute later: written again.
    PersonalToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(seconds=61))
    client.get(ME, **_auth(key))
    token.refresh_from_db()
    assert token.last_used_at > first - dt.timedelta(seconds=61)
    assert token.last_used_at >= first


def test_revoke_the_token_in_use(english):
    user = UserFactory()
    current, key = personal_token_issue(user=user)
    other, other_key = personal_token_issue(user=user)
    response = english.delete(TOKEN, **_auth(key))
    assert response.status_code == 204
    current.refresh_from_db()
    other.refresh_from_db()
    assert current.revoked_at is not None and other.revoked_at is None
    _refused(
        english.get(ME, **_auth(key)),
        "token_revoked",
        "The API token has been revoked. Ask for a new one.",
    )
    assert english.get(ME, **_auth(other_key)).status_code == 200


def test_revoke_the_token_in_use_with_a_session_is_refused(english):
    user = UserFactory()
    _token, _key = personal_token_issue(user=user)
    english.force_login(user)
    before = _rows()
    response = english.delete(TOKEN)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_token_in_use"
    assert _rows() == before


def test_admin_lists_and_revokes_without_keys(client):
    admin_user = StaffFactory(is_superuser=True)
    token, key = personal_token_issue(user=UserFactory(), name="示例客户端")
    kept, _kept_key = personal_token_issue(user=UserFactory())
    client.force_login(admin_user)
    listing = client.get("/admin/accounts/personaltoken/", {"q": token.user.username})
    page = listing.content.decode()
    assert listing.status_code == 200
    assert token.prefix in page and "示例客户端" in page
    assert key not in page and token.key_hash not in page
    assert client.get("/admin/accounts/personaltoken/add/").status_code == 403
    change = client.get(f"/admin/accounts/personaltoken/{token.pk}/change/").content.decode()
    assert key not in change and token.key_hash not in change
    response = client.post(
        "/admin/accounts/personaltoken/",
        {"action": "revoke", "_selected_action": [str(token.pk)]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    kept.refresh_from_db()
    assert token.revoked_at is not None and kept.revoked_at is None


def test_malformed_header_is_refused_as_invalid(client):
    response = client.get(ME, HTTP_AUTHORIZATION="Token two words")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "token_invalid"


@pytest.mark.parametrize("count", [1, 6])
def test_list_query_count_does_not_grow(client, django_assert_max_num_queries, count):
    user = UserFactory()
    keys = [personal_token_issue(user=user)[1] for _ in range(count)]
    client.get(ME, **_auth(keys[0]))  # last use recorded: the list below writes nothing
    # the token with its user, the count, the page
    with django_assert_max_num_queries(3):
        response = client.get(TOKENS, **_auth(keys[0]))
    assert response.status_code == 200
    assert response.json()["count"] == count
