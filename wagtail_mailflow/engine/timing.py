"""When an email is due: delays in elapsed or calendar time, and the sending period.

Rules:

* minutes and hours are elapsed time;
* days and months are calendar time in the workflow's timezone: "3 days" after
  09:00 Paris is 09:00 Paris three days later, across a DST change; "1 month"
  after 31 January is the last day of February;
* a wall-clock time that does not exist (spring-forward gap) moves forward by
  the length of the gap (02:30 becomes 03:30); a wall-clock time that happens
  twice (fall-back) means its first occurrence;
* an email due outside the sending period waits for the period's next opening.
  A window whose end is before its start wraps midnight and belongs to the
  weekday on which it opens (Monday 22:00–06:00 runs into Tuesday morning).
"""

import calendar
import datetime
import zoneinfo

UTC = datetime.UTC


def local_to_utc(day, time, tz):
    """The UTC instant of a wall-clock ``time`` on ``day`` in ``tz`` (gap: forward; fold: first)."""
    naive = datetime.datetime.combine(day, time)
    # fold=0 uses the offset in force before a transition: for a time in a gap
    # that lands after the gap by its length, for a repeated time on the first pass.
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def add_months(day, months):
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


def add_delay(start, amount, unit, tz):
    """The instant ``amount`` ``unit`` after ``start`` (aware), in the workflow's timezone ``tz``."""
    if isinstance(tz, str):
        tz = zoneinfo.ZoneInfo(tz)
    # Arithmetic on aware datetimes sharing a tzinfo is wall-clock arithmetic in
    # Python: elapsed time must be added in UTC.
    start = start.astimezone(UTC)
    if amount == 0:
        return start
    if unit == "minutes":
        return start + datetime.timedelta(minutes=amount)
    if unit == "hours":
        return start + datetime.timedelta(hours=amount)
    local = start.astimezone(tz)
    if unit == "days":
        day = local.date() + datetime.timedelta(days=amount)
    elif unit == "months":
        day = add_months(local.date(), amount)
    else:
        raise ValueError(f"Unknown delay unit {unit!r}")
    return local_to_utc(day, local.time().replace(tzinfo=None), tz)


class SendingPeriod:
    """Weekdays and optional hours, in a timezone, when a workflow may send."""

    def __init__(self, days, start=None, end=None, tz="UTC"):
        self.days = frozenset(days) if days else frozenset(range(7))
        self.start = start
        self.end = end
        self.tz = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
        if (start is None) != (end is None):
            raise ValueError("Set both the start and the end of the sending hours, or neither.")
        if start is not None and start == end:
            raise ValueError("The sending hours cannot start and end at the same time.")

    @classmethod
    def for_workflow(cls, workflow):
        """The sending period of an EmailWorkflow."""
        return cls(
            workflow.get_sending_days(),
            workflow.sending_start,
            workflow.sending_end,
            workflow.timezone,
        )

    @property
    def always_open(self):
        """True when every weekday at any hour is allowed."""
        return self.start is None and len(self.days) == 7

    def windows(self, day):
        """The (open, close) UTC instants of the window opening on local ``day``, or None."""
        if day.weekday() not in self.days:
            return None
        next_day = day + datetime.timedelta(days=1)
        if self.start is None:
            return (
                local_to_utc(day, datetime.time.min, self.tz),
                local_to_utc(next_day, datetime.time.min, self.tz),
            )
        close_day = next_day if self.end <= self.start else day
        return local_to_utc(day, self.start, self.tz), local_to_utc(close_day, self.end, self.tz)

    def next_opening(self, when):
        """``when`` itself if the period is open then, else the instant it next opens."""
        if self.always_open:
            return when
        local_day = when.astimezone(self.tz).date()
        # Start one day back: a window that wraps midnight may still be open.
        for offset in range(-1, 9):
            window = self.windows(local_day + datetime.timedelta(days=offset))
            if window is None:
                continue
            opens, closes = window
            if when < opens:
                return opens
            if when < closes:
                return when
        raise AssertionError(
            "A sending period with at least one weekday always opens within a week."
        )

    def is_open(self, when):
        """Whether sending is allowed at ``when``."""
        return self.next_opening(when) == when


def due_time(previous, step, workflow, period=None):
    """When ``step`` is due, counting its delay from ``previous`` and applying the sending period."""
    due = add_delay(previous, step.delay_amount, step.delay_unit, workflow.timezone)
    period = period or SendingPeriod.for_workflow(workflow)
    return period.next_opening(due)
