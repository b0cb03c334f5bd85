"""Statistics of one workflow: live totals, and per-email and per-day figures over a period.

Every figure comes from a fixed number of GROUP BY queries, whatever the number
of steps, deliveries and events:

* contacts who entered, are in the workflow now and completed (one aggregate);
* emails sent in total (one count);
* the period's emails by (email, day): sent, and those the ESP reported
  delivered, opened, clicked, … (one GROUP BY with a count per status, on the
  (workflow, sent_at) index);
* emails failed or suppressed, and those whose outcome is unknown (the ESP call
  may have reached it, no answer was recorded), in the period by (email, day)
  (one GROUP BY on the (workflow, status) index).

Events are not read: each delivery keeps the time of its first event of every
type (``Delivery.delivered_at``, ``opened_at``, …, set by the tracking
receiver), so an email opened twice counts once without a join or a distinct.

Emails are counted on the day (in the workflow's timezone) they were sent, or
were due for those that failed or were suppressed; an email's delivery, opens,
clicks, … are counted with it, whenever the ESP reported them. So the chart's
days add up to the per-email table and every rate is a share of the emails
sent in the period.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy

from .engine.timing import local_to_utc
from .models import Delivery, DeliveryEvent, Enrollment
from .models.deliveries import FIRST_EVENT_FIELDS, UTCHour

#: The statuses shown per email and on the chart, in display order.
STATUSES = (
    ("sent", gettext_lazy("Sent")),
    ("delivered", gettext_lazy("Delivered")),
    ("opened", gettext_lazy("Opened")),
    ("clicked", gettext_lazy("Clicked")),
    ("bounced", gettext_lazy("Bounced")),
    ("spam", gettext_lazy("Spam")),
    ("unsubscribed", gettext_lazy("Unsubscribed")),
    ("blocked", gettext_lazy("Blocked or failed")),
    ("unknown", gettext_lazy("Outcome unknown")),
)
STATUS_KEYS = tuple(key for key, _label in STATUSES)

#: Which displayed status each ESP event counts towards.
EVENT_STATUS = {
    DeliveryEvent.Type.DELIVERED: "delivered",
    DeliveryEvent.Type.OPENED: "opened",
    DeliveryEvent.Type.CLICKED: "clicked",
    DeliveryEvent.Type.BOUNCED: "bounced",
    DeliveryEvent.Type.COMPLAINED: "spam",
    DeliveryEvent.Type.UNSUBSCRIBED: "unsubscribed",
    DeliveryEvent.Type.REJECTED: "blocked",
}
#: The delivery field (time of the first such event) each of those statuses counts.
STATUS_FIELDS = {status: FIRST_EVENT_FIELDS[event] for event, status in EVENT_STATUS.items()}
#: Deliveries attempted but not (known to be) sent, and the status each counts towards.
NOT_SENT = {
    Delivery.Status.FAILED: "blocked",
    Delivery.Status.SUPPRESSED: "blocked",
    Delivery.Status.UNKNOWN: "unknown",
}


def _counts():
    return dict.fromkeys(STATUS_KEYS, 0)


@dataclass
class EmailFigures:
    """Counts and rates of one email (step) over the period."""

    step: object
    position: int
    counts: dict = field(default_factory=_counts)
    not_sent: int = 0

    def rate(self, key):
        """``key`` as a percentage of the emails sent (blocked, unknown: of those attempted)."""
        if key == "sent":
            return None
        total = self.counts["sent"] + (self.not_sent if key in ("blocked", "unknown") else 0)
        if not total:
            return None
        return 100.0 * self.counts[key] / total

    def rows(self):
        """(key, label, count, rate) for the template."""
        return [(key, label, self.counts[key], self.rate(key)) for key, label in STATUSES]


@dataclass
class WorkflowStatistics:
    """Everything the statistics page shows."""

    workflow: object
    sent_total: int
    entered: int
    in_workflow: int
    completed: int
    #: Contacts whose latest entry ended before the end (unsubscribed, suppressed, …).
    left: int = 0
    #: Emails whose outcome is unknown now (see ``Delivery.Status.UNKNOWN``).
    unknown_total: int = 0
    start: datetime.date | None = None
    end: datetime.date | None = None
    emails: list = field(default_factory=list)
    days: list = field(default_factory=list)
    #: {status: [count per day]}, aligned with ``days``.
    series: dict = field(default_factory=dict)

    @property
    def totals(self):
        """Per-status totals over the period, all emails together."""
        return {key: sum(values) for key, values in self.series.items()}


def period_bounds(start, end, tz):
    """The UTC instants [start 00:00, day after end 00:00) of local days ``start``..``end``."""
    return (
        local_to_utc(start, datetime.time.min, tz),
        local_to_utc(end + datetime.timedelta(days=1), datetime.time.min, tz),
    )


def live_figures(workflow):
    """Emails sent in total and distinct contacts who entered, are inside, completed or left
    (2 queries).

    Each contact counts once, under its latest entry (a contact may re-enter), so
    entered = in the workflow + completed + left. "Left" is every contact that exited
    before the end: unsubscribed, suppressed, left the list or removed.
    """
    enrollments = Enrollment.objects.filter(workflow=workflow)
    later = enrollments.filter(contact_id=OuterRef("contact_id"), pk__gt=OuterRef("pk"))
    S = Enrollment.Status
    contacts = enrollments.exclude(Exists(later)).aggregate(
        entered=Count("contact_id", distinct=True),
        in_workflow=Count("contact_id", distinct=True, filter=Q(status=S.ACTIVE)),
        completed=Count("contact_id", distinct=True, filter=Q(status=S.COMPLETED)),
        left=Count("contact_id", distinct=True, filter=Q(status=S.EXITED)),
    )
    deliveries = Delivery.objects.filter(workflow=workflow).aggregate(
        sent_total=Count("id", filter=Q(status=Delivery.Status.SENT)),
        unknown_total=Count("id", filter=Q(status=Delivery.Status.UNKNOWN)),
    )
    return {**deliveries, **contacts}


def workflow_statistics(workflow, start=None, end=None, steps=None):
    """The statistics of ``workflow``; per email and per day over local days ``start``..``end``."""
    stats = WorkflowStatistics(workflow=workflow, **live_figures(workflow))
    if start is None or end is None:
        return stats
    tz = zoneinfo.ZoneInfo(workflow.timezone)
    since, until = period_bounds(start, end, tz)
    if steps is None:
        steps = list(workflow.steps.select_related("template").order_by("sort_order", "pk"))
    stats.start, stats.end = start, end
    stats.days = [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]
    day_index = {day: n for n, day in enumerate(stats.days)}
    stats.series = {key: [0] * len(stats.days) for key in STATUS_KEYS}
    by_step = {
        step.pk: EmailFigures(step=step, position=position)
        for position, step in enumerate(steps, start=1)
    }
    stats.emails = list(by_step.values())

    def add(step_id, day, key, count, not_sent=False):
        figures = by_step.get(step_id)
        if figures is not None:
            figures.counts[key] += count
            if not_sent:
                figures.not_sent += count
        n = day_index.get(day)
        if n is not None:
            stats.series[key][n] += count

    # Two queries rather than one with an OR, so each uses its own index:
    # (workflow, sent_at) for the sent emails, (workflow, status) for the others.
    # An email's events count with it (on the day it was sent), whatever its status
    # now; COUNT(<first-event time>) counts the emails that have one.
    # Grouped by UTC hour when every local day is made of whole UTC hours (any
    # timezone whose offsets are whole hours): no conversion per row, and the
    # (workflow, hour) index gives the planner the number of groups.
    boundaries = [local_to_utc(day, datetime.time.min, tz) for day in stats.days] + [until]
    by_hour = all(b.minute == 0 and b.second == 0 for b in boundaries)
    if by_hour:
        bucket = UTCHour("sent_at")
    else:
        bucket = TruncDate("sent_at", tzinfo=tz)
    sent = (
        Delivery.objects.filter(workflow=workflow, sent_at__gte=since, sent_at__lt=until)
        .annotate(bucket=bucket)
        .values("step_id", "bucket")
        .annotate(
            sent=Count("id", filter=Q(status=Delivery.Status.SENT)),
            **{key: Count(name) for key, name in STATUS_FIELDS.items()},
        )
        .order_by()
    )
    for row in sent:
        day = row["bucket"].astimezone(tz).date() if by_hour else row["bucket"]
        for key in ("sent", *STATUS_FIELDS):
            if row[key]:
                add(row["step_id"], day, key, row[key])
    not_sent = (
        Delivery.objects.filter(
            workflow=workflow,
            status__in=list(NOT_SENT),
            sent_at__isnull=True,
            due_at__gte=since,
            due_at__lt=until,
        )
        .annotate(day=TruncDate("due_at", tzinfo=tz))
        .values("step_id", "day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in not_sent:
        add(row["step_id"], row["day"], NOT_SENT[row["status"]], row["n"], not_sent=True)
    return stats
