"""The working-day calendar, checked against the State Council schedule for 2026.

2026 (国办发明电〔2025〕7号, 2025-11-04): Spring Festival off 02-15..02-23, working Saturdays
02-14 and 02-28; Mid-Autumn off 09-25..09-27; National Day off 10-01..10-07, working Sunday 09-20
and Saturday 10-10. chinesecalendar 1.11 knows no year after 2026.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import StaffFactory
from zheliban.core import workdays
from zheliban.core.models import CalendarDay, CalendarYear
from zheliban.core.workdays import Deadline, add_workdays, is_workday, workdays_between

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture(autouse=True)
def fresh_cache():
    # Rows of an earlier test vanish with its rolled-back transaction, without any signal.
    workdays.clear_cache()
    yield
    workdays.clear_cache()


def publish_2027(*days: tuple[dt.date, str]) -> CalendarYear:
    year = CalendarYear.objects.create(year=2027, published=True, source="国办发明电〔2026〕")
    for date, kind in days:
        CalendarDay.objects.create(year=year, date=date, kind=kind, name="元旦")
    return year


# 2026, from chinesecalendar


def test_deadline_across_national_day_2026_lands_on_the_working_saturday():
    # 10-01..10-07 off; 10-08 Thu and 10-09 Fri count; 10-10 is a working Saturday.
    assert add_workdays(D(2026, 9, 30), 3) == Deadline(date=D(2026, 10, 10), provisional=False)
    assert add_workdays(D(2026, 9, 30), 4) == Deadline(date=D(2026, 10, 12), provisional=False)


def test_mid_autumn_2026_and_its_working_sunday():
    assert add_workdays(D(2026, 9, 18), 1) == Deadline(date=D(2026, 9, 20), provisional=False)
    # 09-25 Fri off, then the weekend.
    assert add_workdays(D(2026, 9, 24), 1) == Deadline(date=D(2026, 9, 28), provisional=False)


def test_deadline_across_spring_festival_2026():
    # 02-14 is a working Saturday; 02-15..02-23 are off.
    assert add_workdays(D(2026, 2, 13), 1) == Deadline(date=D(2026, 2, 14), provisional=False)
    assert add_workdays(D(2026, 2, 13), 2) == Deadline(date=D(2026, 2, 24), provisional=False)
    # 02-24..02-27 and the working Saturday 02-28.
    assert add_workdays(D(2026, 2, 14), 5) == Deadline(date=D(2026, 2, 28), provisional=False)


def test_is_workday_in_2026():
    assert is_workday(D(2026, 10, 1)) == (False, False)
    assert is_workday(D(2026, 10, 10)) == (True, False)
    assert is_workday(D(2026, 9, 20)) == (True, False)
    assert is_workday(D(2026, 2, 23)) == (False, False)
    assert is_workday(D(2026, 2, 28)) == (True, False)
    assert is_workday(D(2026, 11, 28)) == (False, False)
    assert is_workday(D(2026, 11, 30)) == (True, False)


def test_n_zero_is_start_when_working_else_the_next_working_day():
    assert add_workdays(D(2026, 10, 10), 0) == Deadline(date=D(2026, 10, 10), provisional=False)
    assert add_workdays(D(2026, 10, 1), 0) == Deadline(date=D(2026, 10, 8), provisional=False)


def test_start_day_is_never_counted_even_when_it_is_a_working_day():
    assert add_workdays(D(2026, 10, 9), 1) == Deadline(date=D(2026, 10, 10), provisional=False)
    assert add_workdays(D(2026, 10, 3), 1) == Deadline(date=D(2026, 10, 8), provisional=False)


def test_negative_n_and_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_workdays(D(2026, 10, 9), -1)
    with pytest.raises(TypeError):
        add_workdays(dt.datetime(2026, 10, 9, 12, tzinfo=dt.UTC), 1)


def test_workdays_between_counts_after_a_up_to_and_including_b():
    assert workdays_between(D(2026, 9, 30), D(2026, 10, 10)) == (3, False)
    assert workdays_between(D(2026, 10, 10), D(2026, 9, 30)) == (-3, False)
    assert workdays_between(D(2026, 10, 1), D(2026, 10, 7)) == (0, False)
    assert workdays_between(D(2026, 10, 8), D(2026, 10, 8)) == (0, False)
    assert workdays_between(D(2026, 10, 7), D(2026, 10, 8)) == (1, False)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 15, 40])
def test_workdays_between_inverts_add_workdays(n):
    for start in (D(2026, 9, 19), D(2026, 2, 13), D(2026, 12, 10)):
        deadline = add_workdays(start, n)
        assert workdays_between(start, deadline.date) == (n, deadline.provisional)


# A year nobody knows yet, then published by staff


def test_2027_without_a_published_calendar_is_monday_to_friday_and_provisional():
    assert add_workdays(D(2026, 12, 30), 1) == Deadline(date=D(2026, 12, 31), provisional=False)
    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 1), provisional=True)
    assert add_workdays(D(2027, 1, 1), 1) == Deadline(date=D(2027, 1, 4), provisional=True)
    assert is_workday(D(2027, 1, 2)) == (False, True)
    assert workdays_between(D(2026, 12, 30), D(2027, 1, 4)) == (3, True)


def test_a_draft_year_is_ignored():
    year = CalendarYear.objects.create(year=2027, published=False)
    CalendarDay.objects.create(year=year, date=D(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY)

    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 1), provisional=True)


def test_publishing_2027_makes_the_same_call_exact():
    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 1), provisional=True)

    publish_2027((D(2027, 1, 1), CalendarDay.Kind.HOLIDAY))
    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 4), provisional=False)

    day = CalendarDay.objects.create(
        year=CalendarYear.objects.get(year=2027),
        date=D(2027, 1, 2),
        kind=CalendarDay.Kind.WORKDAY,
    )
    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 2), provisional=False)

    day.delete()
    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 4), provisional=False)

    CalendarYear.objects.get(year=2027).delete()
    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 1), provisional=True)


def test_unpublishing_a_year_makes_it_provisional_again():
    year = publish_2027((D(2027, 1, 1), CalendarDay.Kind.HOLIDAY))
    assert is_workday(D(2027, 1, 1)) == (False, False)

    year.published = False
    year.save()
    assert is_workday(D(2027, 1, 1)) == (True, True)


def test_a_published_year_overrides_chinesecalendar_entirely():
    # Staff published 2026 with a single day: the package's 2026 schedule no longer applies.
    year = CalendarYear.objects.create(year=2026, published=True)
    CalendarDay.objects.create(year=year, date=D(2026, 10, 1), kind=CalendarDay.Kind.HOLIDAY)

    assert is_workday(D(2026, 10, 2)) == (True, False)
    assert is_workday(D(2026, 10, 10)) == (False, False)
    assert add_workdays(D(2026, 9, 30), 3) == Deadline(date=D(2026, 10, 6), provisional=False)


def test_a_published_year_without_days_is_plain_monday_to_friday():
    CalendarYear.objects.create(year=2027, published=True)

    assert is_workday(D(2027, 1, 1)) == (True, False)
    assert is_workday(D(2027, 1, 2)) == (False, False)


# Query counts


def test_a_deadline_costs_one_query_per_year_and_none_when_cached(django_assert_num_queries):
    publish_2027((D(2027, 1, 1), CalendarDay.Kind.HOLIDAY))
    workdays.clear_cache()

    # 12-21..12-31: 9 working days; 2027: 01-04..01-08 and 01-11.
    expected = Deadline(date=D(2027, 1, 11), provisional=False)
    with django_assert_num_queries(2):
        assert add_workdays(D(2026, 12, 20), 15) == expected
    with django_assert_num_queries(0):
        assert add_workdays(D(2026, 12, 20), 15) == expected
        assert workdays_between(D(2026, 12, 20), D(2027, 1, 11)) == (15, False)
        assert is_workday(D(2027, 1, 1)) == (False, False)


def test_an_empty_span_reads_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert workdays_between(D(2026, 12, 31), D(2026, 12, 31)) == (0, False)


def test_an_unknown_year_is_also_read_once(django_assert_num_queries):
    expected = Deadline(date=D(2027, 1, 8), provisional=True)
    with django_assert_num_queries(2):
        assert add_workdays(D(2026, 12, 20), 15) == expected
    with django_assert_num_queries(0):
        assert add_workdays(D(2026, 12, 20), 15) == expected


def test_a_long_count_reads_each_year_once(django_assert_num_queries):
    with django_assert_num_queries(3):
        count, provisional = workdays_between(D(2025, 1, 1), D(2027, 12, 31))
    assert provisional is True
    with django_assert_num_queries(0):
        assert workdays_between(D(2025, 1, 1), D(2027, 12, 31)) == (count, True)


# Admin


@pytest.fixture
def admin_user(db):
    # The project's users need a kind; a superuser is staff.
    return StaffFactory(is_superuser=True)


def admin_form(**overrides: str) -> dict[str, str]:
    data = {
        "year": "2027",
        "published": "on",
        "source": "国务院办公厅关于2027年部分节假日安排的通知",
        "note": "",
        "days-TOTAL_FORMS": "2",
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "0",
        "days-MAX_NUM_FORMS": "1000",
        "days-0-date": "2027-01-01",
        "days-0-kind": "holiday",
        "days-0-name": "元旦",
        # A weekend day marked as a holiday is a rest day either way, and allowed.
        "days-1-date": "2027-01-02",
        "days-1-kind": "holiday",
        "days-1-name": "元旦",
    }
    data.update(overrides)
    return data


def test_admin_add_page_renders_with_the_day_inline(admin_client):
    response = admin_client.get("/admin/core/calendaryear/add/")

    assert response.status_code == 200
    assert b'name="days-0-date"' in response.content


def test_admin_adds_a_published_year_and_deadlines_follow_it(admin_client):
    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 1), provisional=True)

    response = admin_client.post("/admin/core/calendaryear/add/", admin_form())

    assert response.status_code == 302
    year = CalendarYear.objects.get()
    assert (year.year, year.published) == (2027, True)
    assert list(year.days.values_list("date", "kind", "name")) == [
        (D(2027, 1, 1), "holiday", "元旦"),
        (D(2027, 1, 2), "holiday", "元旦"),
    ]
    assert add_workdays(D(2026, 12, 31), 1) == Deadline(date=D(2027, 1, 4), provisional=False)


def test_admin_refuses_a_day_outside_its_year_and_saves_nothing(admin_client):
    response = admin_client.post(
        "/admin/core/calendaryear/add/", admin_form(**{"days-1-date": "2026-12-31"})
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms[0].errors == {}
    [error] = formset.forms[1].errors.as_data()["date"]
    assert error.code == "date_outside_year"
    assert "2026-12-31 不在 2027 年度内。" in response.content.decode()
    assert CalendarYear.objects.count() == 0
    assert CalendarDay.objects.count() == 0


def test_admin_refuses_the_same_date_twice(admin_client):
    response = admin_client.post(
        "/admin/core/calendaryear/add/", admin_form(**{"days-1-date": "2027-01-01"})
    )

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert CalendarYear.objects.count() == 0
    assert CalendarDay.objects.count() == 0
