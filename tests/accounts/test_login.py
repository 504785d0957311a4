import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("login_with", ["phone", "id_number", "username"])
def test_login_with_phone_id_number_or_username(client, login_with):
    user = UserFactory()
    response = client.post(
        reverse("accounts:login"), {"username": getattr(user, login_with), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_wrong_password_is_refused(client):
    user = UserFactory()
    client.cookies["zhb_lang"] = "en"
    response = client.post(
        reverse("accounts:login"), {"username": user.phone, "password": "wrong-password-1"}
    )
    assert response.status_code == 200
    assert "The account or password is wrong" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, settings):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": user.phone, "password": "nope-nope-1"})
    assert AccessAttempt.objects.get(username=user.username).failures_since_start == 5
    response = client.post(
        reverse("accounts:login"), {"username": user.phone, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_profile_needs_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_api_me_is_masked_and_needs_auth(client):
    assert client.get("/api/v1/me/").status_code == 403
    user = UserFactory()
    client.force_login(user)
    body = client.get("/api/v1/me/").json()
    assert body == {
        "username": user.username,
        "kind": "citizen",
        "real_name": user.real_name,
        "id_number": user.id_number[:4] + "**********" + user.id_number[-4:],
        "credit_code": "",
        "phone": user.phone[:3] + "****" + user.phone[-4:],
    }


def test_api_token_authentication(client):
    from zheliban.accounts.services import personal_token_issue

    user = UserFactory()
    _token, key = personal_token_issue(user=user)
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_admin_shows_identity_masked(client):
    admin_user = StaffFactory(is_superuser=True)
    citizen = UserFactory()
    client.force_login(admin_user)
    listing = client.get("/admin/accounts/user/").content.decode()
    change = client.get(f"/admin/accounts/user/{citizen.pk}/change/").content.decode()
    for page in (listing, change):
        assert citizen.id_number not in page
        assert citizen.phone not in page
    assert citizen.id_number_masked in listing
    assert citizen.id_number_masked in change


def test_api_token_from_credentials_and_lockout(client, settings):
    user = UserFactory()
    url = "/api/v1/auth/token/"
    ok = client.post(
        url, {"username": user.phone, "password": PASSWORD}, content_type="application/json"
    )
    assert ok.status_code == 200
    from zheliban.accounts.models import PersonalToken
    from zheliban.accounts.services import personal_token_hash

    issued = PersonalToken.objects.get(user=user)
    assert issued.key_hash == personal_token_hash(ok.json()["token"])
    assert ok.json()["id"] == issued.pk
    bad = client.post(
        url,
        {"username": user.phone, "password": "wrong-wrong-1"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_login"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            url,
            {"username": user.phone, "password": "wrong-wrong-1"},
            content_type="application/json",
        )
    locked = client.post(
        url, {"username": user.phone, "password": PASSWORD}, content_type="application/json"
    )
    assert locked.status_code == 429
    assert "token" not in locked.json()
