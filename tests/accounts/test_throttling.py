"""Failed logins count against the account however its name is spelled, and against the address;
the login page, the admin login and the API token endpoint share the counters."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.db.models import Sum
from django.utils import timezone

from tests.factories import PASSWORD, StaffFactory, UserFactory
from zheliban.accounts.models import PersonalToken
from zheliban.accounts.selectors import login_counter_key, login_name_parse, user_for_login

pytestmark = pytest.mark.django_db

WRONG = "Wrong-Password-42"
LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"
LOCKED_EN = (
    "Too many failed logins for this account or from this network. Logging in is paused "
    "for 15 minutes; please try again later."
)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" for c in text)


def spellings(user) -> list[str]:
    """Eight ways a person may type the same account's name."""
    phone, id_number = user.phone, user.id_number
    return [
        user.username.upper(),
        f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}",
        f"{phone[:3]} {phone[3:7]} {phone[7:]}",
        _full_width(phone),
        f"0086{phone}",
        f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}",
        f" {id_number[:9]} {id_number[9:]}".lower(),
        _full_width(id_number[:-1]) + id_number[-1].lower(),
    ]


@pytest.fixture
def citizen():
    # An ID number ending in X, so the lower-case x spelling means something.
    user = UserFactory(id_number="33010619900101005X")
    assert user.id_number[-1] == "X"
    return user


def failures_of(key: str) -> int:
    return AccessAttempt.objects.filter(username=key).aggregate(n=Sum("failures_since_start"))["n"]


def web_login(client, login, password, **extra):
    return client.post(LOGIN, {"username": login, "password": password}, **extra)


def token_login(client, login, password, **extra):
    return client.post(
        TOKEN,
        {"username": login, "password": password},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **extra,
    )


def alert_of(response) -> str:
    page = response.content.decode()
    return page.split('<p role="alert">', 1)[1].split("</p>", 1)[0]


# ------------------------------------------------------------------ one lookup for both


def test_every_spelling_names_the_account_and_its_counter(citizen):
    UserFactory()  # another account, which no spelling may reach
    for login in [citizen.username, citizen.phone, citizen.id_number, *spellings(citizen)]:
        assert user_for_login(login=login) == citizen, login
        assert login_counter_key(login=login) == citizen.username, login


def test_a_name_that_names_no_account_counts_under_its_normal_form(citizen):
    unknown_phone = ["13700001234", "+86 137-0000-1234", _full_width("13700001234")]
    assert {login_counter_key(login=p) for p in unknown_phone} == {"unknown:13700001234"}
    unknown_id = ["110101199001011237", "110101 19900101 1237"]
    assert {login_counter_key(login=i) for i in unknown_id} == {"unknown:110101199001011237"}
    assert login_counter_key(login=" Nobody Here ") == "unknown:nobodyhere"
    assert login_counter_key(login="长" * 500) == "unknown:" + "长" * 200
    assert login_name_parse("0086 139 1234 5678").phone == "13912345678"
    assert login_name_parse("1391234567").phone is None
    assert login_name_parse("33010619900101005").id_number is None


@pytest.mark.parametrize("index", range(8))
def test_every_spelling_logs_in(client, citizen, index):
    response = web_login(client, spellings(citizen)[index], PASSWORD)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == citizen.pk


def test_staff_user_name_in_any_case_logs_in(client):
    staff = StaffFactory(username="330106-gongan-clerk")
    response = web_login(client, "330106-GongAn-Clerk", PASSWORD)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == staff.pk


# ------------------------------------------------------------------ the account's counter


def test_five_spellings_lock_the_account_for_every_spelling_on_the_web(client, citizen):
    client.cookies["zhb_lang"] = "en"
    guesses = spellings(citizen)[:5]
    for number, login in enumerate(guesses, start=1):
        response = web_login(client, login, WRONG)
        assert response.status_code == (429 if number == 5 else 200), login
    assert failures_of(citizen.username) == 5
    for login in [citizen.username, citizen.phone, citizen.id_number, *spellings(citizen)]:
        response = web_login(client, login, PASSWORD)
        assert response.status_code == 429, login
        assert LOCKED_EN in response.content.decode()
        assert "_auth_user_id" not in client.session
    # Refused attempts while locked are not counted: the lockout ends on time.
    assert failures_of(citizen.username) == 5
    assert AccessAttempt.objects.count() == 1


def test_five_spellings_lock_the_account_for_every_spelling_on_the_token_endpoint(client, citizen):
    for number, login in enumerate(spellings(citizen)[3:], start=1):
        response = token_login(client, login, WRONG)
        if number < 5:
            assert response.status_code == 400
            assert response.json()["error"]["code"] == "invalid_login"
        else:
            assert response.status_code == 429
    for login in [citizen.username, *spellings(citizen)]:
        response = token_login(client, login, PASSWORD)
        assert response.status_code == 429, login
        assert response.json() == {"error": {"code": "login_locked", "message": LOCKED_EN}}
        assert response["Retry-After"] == "900"
    assert not PersonalToken.objects.filter(user=citizen).exists()
    assert failures_of(citizen.username) == 5


def test_web_and_token_failures_add_up(client, citizen):
    names = spellings(citizen)
    for login in names[:3]:
        assert web_login(client, login, WRONG).status_code == 200
    assert token_login(client, names[3], WRONG).status_code == 400
    assert token_login(client, names[4], WRONG).status_code == 429
    assert web_login(client, citizen.phone, PASSWORD).status_code == 429
    admin = client.post("/admin/login/", {"username": citizen.username, "password": PASSWORD})
    assert admin.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_holds_from_another_address(client, citizen):
    for login in spellings(citizen)[:5]:
        web_login(client, login, WRONG, REMOTE_ADDR="10.1.0.1")
    response = web_login(client, citizen.phone, PASSWORD, REMOTE_ADDR="10.2.0.2")
    assert response.status_code == 429
    response = token_login(client, citizen.id_number, PASSWORD, REMOTE_ADDR="10.3.0.3")
    assert response.status_code == 429


def test_a_locked_account_does_not_lock_another(client, citizen):
    other = UserFactory()
    for login in spellings(citizen)[:5]:
        web_login(client, login, WRONG)
    assert web_login(client, citizen.phone, PASSWORD).status_code == 429
    assert token_login(client, other.phone, PASSWORD).status_code == 200
    response = web_login(client, other.id_number, PASSWORD)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == other.pk


def test_success_clears_the_account_counter(client, citizen):
    names = spellings(citizen)
    for login in names[:4]:
        assert web_login(client, login, WRONG).status_code == 200
    assert failures_of(citizen.username) == 4
    assert web_login(client, names[4], PASSWORD).status_code == 302
    assert failures_of(citizen.username) is None
    client.logout()
    for login in names[:4]:
        assert token_login(client, login, WRONG).status_code == 400
    assert token_login(client, names[5], PASSWORD).status_code == 200
    assert failures_of(citizen.username) is None
    for login in names[:4]:
        assert web_login(client, login, WRONG).status_code == 200
    assert failures_of(citizen.username) == 4


def test_the_lock_ends_after_the_cool_off(client, citizen):
    for login in spellings(citizen)[:5]:
        web_login(client, login, WRONG)
    assert web_login(client, citizen.phone, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert web_login(client, citizen.phone, PASSWORD).status_code == 302


def test_an_unknown_name_locks_like_an_account_and_reveals_nothing(client, citizen):
    client.cookies["zhb_lang"] = "en"
    ghost = ["13700001234", "+86 137 0000 1234", "137-0000-1234", "008613700001234", "137 00001234"]
    answers = [web_login(client, login, WRONG).status_code for login in ghost]
    assert answers == [200, 200, 200, 200, 429]
    assert failures_of("unknown:13700001234") == 5
    for login in spellings(citizen)[:5]:
        web_login(client, login, WRONG)
    known = web_login(client, citizen.phone, PASSWORD)
    unknown = web_login(client, "13700001234", PASSWORD)
    assert known.status_code == unknown.status_code == 429
    assert alert_of(known) == alert_of(unknown) == LOCKED_EN
    assert (
        token_login(client, ghost[0], WRONG).json()
        == token_login(client, citizen.phone, WRONG).json()
    )


def test_the_lockout_page_is_in_chinese_by_default(client, citizen):
    for login in spellings(citizen)[:5]:
        response = web_login(client, login, WRONG)
    assert response.status_code == 429
    assert '<html lang="zh-Hans">' in response.content.decode()
    assert "15" in alert_of(response)


# ------------------------------------------------------------------ the address's counter


def test_the_address_locks_after_its_own_higher_limit(client, citizen, settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 12
    hall = {"REMOTE_ADDR": "10.9.9.9"}
    others = UserFactory.create_batch(12)
    # Twelve citizens at one hall mistype once each: fewer than five per account, twelve in all.
    for number, person in enumerate(others[:11], start=1):
        assert web_login(client, person.phone, WRONG, **hall).status_code == 200, number
    assert web_login(client, others[11].phone, WRONG, **hall).status_code == 429
    # Now nobody logs in from the hall, not even with the right password...
    assert web_login(client, citizen.phone, PASSWORD, **hall).status_code == 429
    assert token_login(client, citizen.phone, PASSWORD, **hall).status_code == 429
    assert "_auth_user_id" not in client.session
    # ...and the refusals do not count against their accounts.
    assert failures_of(citizen.username) is None
    # The same accounts log in from elsewhere.
    assert web_login(client, others[0].phone, PASSWORD, REMOTE_ADDR="10.8.8.8").status_code == 302
    client.logout()
    # A success elsewhere cleared that account's own failure at the hall, not the others'.
    assert (
        AccessAttempt.objects.filter(ip_address="10.9.9.9").aggregate(
            n=Sum("failures_since_start")
        )["n"]
        == 11
    )
    assert web_login(client, citizen.phone, PASSWORD, **hall).status_code == 302


def test_the_default_address_limit_leaves_a_hall_room(client, settings):
    assert settings.AXES_ADDRESS_FAILURE_LIMIT == 50
    assert settings.AXES_FAILURE_LIMIT == 5
    people = UserFactory.create_batch(10)
    for _round in range(4):
        for person in people:
            assert web_login(client, person.phone, WRONG).status_code == 200
    # Forty failures from one address, four per account: nobody is locked.
    for person in people:
        assert token_login(client, person.phone, PASSWORD).status_code == 200


@pytest.mark.parametrize("history", [1, 30])
def test_a_failed_login_costs_the_same_queries_whatever_the_history(
    client, citizen, history, django_assert_max_num_queries
):
    for person in UserFactory.create_batch(history):
        web_login(client, person.phone, WRONG, REMOTE_ADDR="10.7.7.7")
    web_login(client, citizen.phone, WRONG, REMOTE_ADDR="10.7.7.7")
    # Lookup for the backend and for the counter, the two counters in one query, axes' upsert.
    with django_assert_max_num_queries(9):
        response = web_login(client, spellings(citizen)[1], WRONG, REMOTE_ADDR="10.7.7.7")
    assert response.status_code == 200
    with django_assert_max_num_queries(11):
        response = token_login(client, spellings(citizen)[2], WRONG, REMOTE_ADDR="10.7.7.7")
    assert response.status_code == 400
    assert failures_of(citizen.username) == 3
