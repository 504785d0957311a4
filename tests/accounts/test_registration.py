import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory, make_id_number
from zheliban.accounts.models import User
from zheliban.core.identity import uscc_check_char

pytestmark = pytest.mark.django_db

GOOD_ID = make_id_number(7)
GOOD_USCC = "91330106MA2H00009" + uscc_check_char("91330106MA2H00009")


def form(**overrides):
    data = {
        "kind": "citizen",
        "real_name": "赵六",
        "id_number": GOOD_ID,
        "credit_code": "",
        "phone": "13900001111",
        "password": PASSWORD,
        "password_again": PASSWORD,
    }
    data.update(overrides)
    return data


def test_citizen_registers_and_is_logged_in(client):
    response = client.post(reverse("accounts:register"), form())
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    user = User.objects.get(phone="13900001111")
    assert (user.kind, user.real_name, user.id_number) == ("citizen", "赵六", GOOD_ID)
    assert user.check_password(PASSWORD)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert user.id_number_masked in page
    assert GOOD_ID not in page
    assert "13900001111" not in page


def test_enterprise_registers_with_credit_code(client):
    response = client.post(
        reverse("accounts:register"),
        form(kind="enterprise", real_name="示例有限公司", id_number="", credit_code=GOOD_USCC),
    )
    assert response.status_code == 302
    user = User.objects.get(credit_code=GOOD_USCC)
    assert user.kind == "enterprise"
    assert user.id_number is None


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        (
            {"id_number": GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")},
            "id_number",
            "check digit",
        ),
        ({"id_number": "12345"}, "id_number", "17 digits"),
        (
            {"password": "12345678901", "password_again": "12345678901"},
            "password",
            "entirely numeric",
        ),
        ({"password": "short", "password_again": "short"}, "password", "too short"),
        ({"password_again": "something-else-99"}, "password_again", "differ"),
        ({"phone": "12345"}, "phone", "11-digit"),
        (
            {
                "kind": "enterprise",
                "credit_code": GOOD_USCC[:-1] + ("0" if GOOD_USCC[-1] != "0" else "1"),
            },
            "credit_code",
            "check character",
        ),
    ],
)
def test_bad_registration_is_refused_and_creates_nothing(client, overrides, field, fragment):
    client.cookies["zhb_lang"] = "en"
    before = User.objects.count()
    response = client.post(reverse("accounts:register"), form(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors[field]
    assert User.objects.count() == before
    assert "_auth_user_id" not in client.session


def test_duplicate_identity_and_phone_are_refused(client):
    existing = UserFactory(id_number=GOOD_ID, phone="13900002222")
    client.cookies["zhb_lang"] = "en"
    response = client.post(reverse("accounts:register"), form(phone="13900002222"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["id_number"] == ["An account with this ID number already exists. Log in instead."]
    assert errors["phone"] == ["This mobile number is already registered."]
    assert User.objects.count() == 1
    existing.refresh_from_db()
    assert existing.phone == "13900002222"


def test_error_messages_default_to_chinese(client):
    response = client.post(reverse("accounts:register"), form(id_number="12345"))
    assert response.status_code == 400
    message = response.context["form"].errors["id_number"][0]
    assert "17" in message and "X" in message
    assert "digits" not in message


def test_api_registration_error_shape(client):
    before = User.objects.count()
    response = client.post(
        "/api/v1/accounts/register/",
        {
            "kind": "citizen",
            "real_name": "孙七",
            "id_number": "110105194912310021",
            "phone": "13900003333",
            "password": PASSWORD,
        },
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "id_number_checksum",
            "message": "The check digit of this ID number is wrong; please check the number.",
            "fields": {
                "id_number": [
                    "The check digit of this ID number is wrong; please check the number."
                ]
            },
        }
    }
    assert User.objects.count() == before


def test_api_registration_returns_masked_identity(client):
    response = client.post(
        "/api/v1/accounts/register/",
        {
            "kind": "citizen",
            "real_name": "孙七",
            "id_number": GOOD_ID,
            "phone": "13900003333",
            "password": PASSWORD,
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id_number"] == GOOD_ID[:4] + "*" * 10 + GOOD_ID[-4:]
    assert body["phone"] == "139****3333"
    assert GOOD_ID not in response.content.decode()
