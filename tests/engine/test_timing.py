"""Delays and sending periods: DST both ways, month ends, leap years, windows over midnight."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from wagtail_mailflow.engine.timing import SendingPeriod, add_delay, add_months, local_to_utc

PARIS = ZoneInfo("Europe/Paris")
UTC = datetime.UTC


def paris(*args, fold=0):
    return datetime.datetime(*args, tzinfo=PARIS, fold=fold)


def test_minutes_and_hours_are_elapsed_time_across_dst():
    # 2024-03-31 01:30 Paris (CET) + 1 hour = 03:30 CEST (02:30 does not exist).
    start = paris(2024, 3, 31, 1, 30)
    due = add_delay(start, 1, "hours", PARIS)
    assert due.astimezone(UTC) - start.astimezone(UTC) == datetime.timedelta(hours=1)
    assert due.astimezone(PARIS).hour == 3
    later = add_delay(start, 90, "minutes", PARIS)
    assert later.astimezone(UTC) - start.astimezone(UTC) == datetime.timedelta(minutes=90)


@pytest.mark.parametrize(
    ("start", "days", "expected_local"),
    [
        # spring forward: 23-hour day in between, wall time kept
        (paris(2024, 3, 29, 9, 0), 3, (2024, 4, 1, 9, 0)),
        # fall back: 25-hour day in between, wall time kept
        (paris(2024, 10, 25, 9, 0), 3, (2024, 10, 28, 9, 0)),
    ],
)
def test_days_are_calendar_days_across_dst(start, days, expected_local):
    due = add_delay(start, days, "days", PARIS)
    local = due.astimezone(PARIS)
    assert (local.year, local.month, local.day, local.hour, local.minute) == expected_local
    elapsed = due - start.astimezone(UTC)
    assert elapsed != datetime.timedelta(days=days)  # one hour more or less than 72 h


def test_three_days_later_in_workflow_timezone_not_utc():
    start = datetime.datetime(2024, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 Paris
    due = add_delay(start, 3, "days", "Europe/Paris")
    assert due == datetime.datetime(2024, 4, 1, 7, 0, tzinfo=UTC)  # 09:00 CEST


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (datetime.date(2023, 1, 31), 1, datetime.date(2023, 2, 28)),
        (datetime.date(2024, 1, 31), 1, datetime.date(2024, 2, 29)),  # leap year
        (datetime.date(2024, 3, 31), 1, datetime.date(2024, 4, 30)),
        (datetime.date(2024, 11, 30), 2, datetime.date(2025, 1, 30)),
        (datetime.date(2024, 2, 29), 12, datetime.date(2025, 2, 28)),
        (datetime.date(2024, 5, 15), 0, datetime.date(2024, 5, 15)),
        (datetime.date(2024, 12, 31), 14, datetime.date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_one_month_after_31_january_is_last_day_of_february_at_same_wall_time():
    start = paris(2025, 1, 31, 18, 45)
    due = add_delay(start, 1, "months", PARIS).astimezone(PARIS)
    assert (due.date(), due.hour, due.minute) == (datetime.date(2025, 2, 28), 18, 45)


def test_wall_time_in_dst_gap_moves_forward_by_the_gap():
    # 02:30 on 2024-03-31 does not exist in Paris: documented as 03:30 CEST.
    start = paris(2024, 3, 30, 2, 30)
    due = add_delay(start, 1, "days", PARIS)
    assert due.astimezone(PARIS).timetuple()[:5] == (2024, 3, 31, 3, 30)
    assert due == datetime.datetime(2024, 3, 31, 1, 30, tzinfo=UTC)


def test_repeated_wall_time_means_first_occurrence():
    # 02:30 happens twice on 2024-10-27 in Paris: the first one (CEST, 00:30 UTC).
    start = paris(2024, 10, 26, 2, 30)
    due = add_delay(start, 1, "days", PARIS)
    assert due == datetime.datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    assert local_to_utc(datetime.date(2024, 10, 27), datetime.time(2, 30), PARIS) == due


# -- sending period ---------------------------------------------------------


def test_always_open_period_returns_the_same_instant():
    period = SendingPeriod(range(7))
    when = datetime.datetime(2024, 1, 1, 3, tzinfo=UTC)
    assert period.next_opening(when) == when and period.always_open


def test_weekdays_only_waits_for_monday():
    period = SendingPeriod([0, 1, 2, 3, 4], datetime.time(9), datetime.time(17), "Europe/Paris")
    saturday = paris(2024, 6, 8, 10, 0)
    assert period.next_opening(saturday) == paris(2024, 6, 10, 9, 0)
    inside = paris(2024, 6, 10, 12, 0)
    assert period.next_opening(inside) == inside and period.is_open(inside)
    after_hours = paris(2024, 6, 10, 17, 0)  # the end is exclusive
    assert period.next_opening(after_hours) == paris(2024, 6, 11, 9, 0)


def test_window_wrapping_midnight_belongs_to_its_opening_day():
    # Fridays 22:00 → Saturday 06:00 only.
    period = SendingPeriod([4], datetime.time(22), datetime.time(6), "Europe/Paris")
    assert period.is_open(paris(2024, 6, 8, 5, 59))  # Saturday early morning
    assert not period.is_open(paris(2024, 6, 8, 22, 30))  # Saturday night: not a Friday window
    assert period.next_opening(paris(2024, 6, 8, 6, 0)) == paris(2024, 6, 14, 22, 0)
    assert period.next_opening(paris(2024, 6, 7, 21, 0)) == paris(2024, 6, 7, 22, 0)


def test_window_on_23_hour_and_25_hour_days():
    period = SendingPeriod([6], datetime.time(1), datetime.time(4), "Europe/Paris")
    # Sunday 2024-03-31 (23 h): 01:00 CET → 04:00 CEST is two hours of real time.
    opens = period.next_opening(paris(2024, 3, 30, 12))
    assert opens == datetime.datetime(2024, 3, 31, 0, 0, tzinfo=UTC)
    assert period.next_opening(datetime.datetime(2024, 3, 31, 1, 59, tzinfo=UTC)).minute == 59
    assert not period.is_open(datetime.datetime(2024, 3, 31, 2, 0, tzinfo=UTC))
    # Sunday 2024-10-27 (25 h): 01:00 CEST → 04:00 CET is four hours of real time.
    opens = period.next_opening(paris(2024, 10, 26, 12))
    assert opens == datetime.datetime(2024, 10, 26, 23, 0, tzinfo=UTC)
    assert period.is_open(datetime.datetime(2024, 10, 27, 2, 59, tzinfo=UTC))
    assert not period.is_open(datetime.datetime(2024, 10, 27, 3, 0, tzinfo=UTC))


def test_odd_offset_timezone():
    period = SendingPeriod([0], datetime.time(9), datetime.time(10), "Asia/Kathmandu")  # +05:45
    sunday_utc = datetime.datetime(2024, 6, 9, 12, 0, tzinfo=UTC)
    assert period.next_opening(sunday_utc) == datetime.datetime(2024, 6, 10, 3, 15, tzinfo=UTC)


def test_period_without_weekday_is_refused_at_validation():
    from django.core.exceptions import ValidationError

    from wagtail_mailflow.models import EmailWorkflow

    workflow = EmailWorkflow(title="x", sending_days=[])
    workflow.pk = 1  # as if saved: an explicit empty choice
    with pytest.raises(ValidationError) as excinfo:
        workflow.clean()
    assert "weekday" in str(excinfo.value)


def test_period_with_equal_hours_is_refused():
    with pytest.raises(ValueError):
        SendingPeriod([0], datetime.time(9), datetime.time(9))
