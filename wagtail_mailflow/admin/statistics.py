"""Statistics of one workflow: live totals, per-email figures and a daily chart over a period.

Every figure comes from a fixed number of GROUP BY queries, whatever the number
of steps, deliveries and events:

* contacts who entered, are in the workflow now and completed (one aggregate);
* emails sent in total (one count);
* the period's emails by (email, day): sent, and those the ESP reported
  delivered, opened, clicked, … (one GROUP BY with a count per status, on the
  (workflow, sent_at) index);
* emails failed or suppressed in the period by (email, day) (one GROUP BY on the
  (workflow, status) index).

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

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy

from ..engine.timing import local_to_utc
from ..models import Delivery, DeliveryEvent, EmailWorkflow, Enrollment
from ..models.deliveries import FIRST_EVENT_FIELDS, UTCHour

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
#: Deliveries that never reached the ESP but count as blocked or failed.
NOT_SENT = (Delivery.Status.FAILED, Delivery.Status.SUPPRESSED)

PERIOD_CHOICES = (
    ("7", gettext_lazy("Last 7 days")),
    ("30", gettext_lazy("Last 30 days")),
    ("90", gettext_lazy("Last 90 days")),
    ("custom", gettext_lazy("Custom dates")),
)
DEFAULT_PERIOD = "30"
#: The longest custom period, in days (the chart has one point per day).
MAX_PERIOD_DAYS = 366

workflow_permission_policy = ModelPermissionPolicy(EmailWorkflow)


# -- the period ------------------------------------------------------------------


class PeriodForm(forms.Form):
    """The period the per-email figures and the chart cover, and the statuses charted."""

    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIOD_CHOICES, required=False)
    start = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    status = forms.MultipleChoiceField(
        label=gettext_lazy("Statuses on the chart"),
        choices=STATUSES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, today, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        period = data.get("period") or DEFAULT_PERIOD
        data["period"] = period
        if period != "custom":
            days = int(period)
            data["start"] = self.today - datetime.timedelta(days=days - 1)
            data["end"] = self.today
        else:
            start, end = data.get("start"), data.get("end")
            if "start" in self.errors or "end" in self.errors:
                return data
            if start is None or end is None:
                raise forms.ValidationError(
                    _("Enter both the first and the last day of a custom period.")
                )
            if end < start:
                self.add_error("end", _("The last day must not be before the first day."))
            elif (end - start).days + 1 > MAX_PERIOD_DAYS:
                self.add_error(
                    "end",
                    _("A period can cover at most %(days)d days.") % {"days": MAX_PERIOD_DAYS},
                )
            elif start > self.today:
                self.add_error("start", _("The period cannot start in the future."))
        data["status"] = list(data.get("status") or STATUS_KEYS)
        return data


def period_form(params, today):
    """A bound period form when the request chose a period, else the default (last 30 days)."""
    keys = ("period", "start", "end", "status")
    if any(key in params for key in keys):
        return PeriodForm(params, today=today)
    return PeriodForm({"period": DEFAULT_PERIOD}, today=today)


# -- the figures -----------------------------------------------------------------


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
        """``key`` as a percentage of the emails sent (blocked: of the emails attempted)."""
        if key == "sent":
            return None
        total = self.counts["sent"] + (self.not_sent if key == "blocked" else 0)
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
    """Emails sent in total and distinct contacts who entered, are inside, completed (2 queries)."""
    contacts = Enrollment.objects.filter(workflow=workflow).aggregate(
        entered=Count("contact_id", distinct=True),
        in_workflow=Count("contact_id", distinct=True, filter=Q(status=Enrollment.Status.ACTIVE)),
        completed=Count("contact_id", distinct=True, filter=Q(status=Enrollment.Status.COMPLETED)),
    )
    sent_total = Delivery.objects.filter(workflow=workflow, status=Delivery.Status.SENT).count()
    return {"sent_total": sent_total, **contacts}


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
            status__in=NOT_SENT,
            sent_at__isnull=True,
            due_at__gte=since,
            due_at__lt=until,
        )
        .annotate(day=TruncDate("due_at", tzinfo=tz))
        .values("step_id", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in not_sent:
        add(row["step_id"], row["day"], "blocked", row["n"], not_sent=True)
    return stats


# -- the chart -------------------------------------------------------------------

#: Series colours, readable on Wagtail's light and dark themes.
COLOURS = {
    "sent": "#2e6d8e",
    "delivered": "#1f8a70",
    "opened": "#7b4fc4",
    "clicked": "#d9822b",
    "bounced": "#c0392b",
    "spam": "#8e2e5c",
    "unsubscribed": "#6b6b6b",
    "blocked": "#b8860b",
}


def _nice_ceiling(value):
    """The smallest 1, 2 or 5 × 10^n at least ``value`` (at least 1), for the y axis."""
    value = max(int(value), 1)
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= value:
                return factor * magnitude
        magnitude *= 10


def chart(stats, shown=STATUS_KEYS, width=760, height=260):
    """The geometry of the daily chart as plain data for the SVG template."""
    labels = dict(STATUSES)
    left, right, top, bottom = 48, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(stats.days)
    peak = _nice_ceiling(max((max(v) for v in stats.series.values() if v), default=0))
    step_x = plot_w / max(n - 1, 1)

    def x(i):
        return round(left + (i * step_x if n > 1 else plot_w / 2), 1)

    def y(value):
        return round(top + plot_h - plot_h * value / peak, 1)

    def day_label(day):
        return formats.date_format(day, "SHORT_DATE_FORMAT")

    series = []
    for key in STATUS_KEYS:
        values = stats.series.get(key, [0] * n)
        points = [
            {
                "x": x(i),
                "y": y(value),
                "value": value,
                "title": _("%(day)s: %(count)s %(status)s")
                % {"day": day_label(day), "count": value, "status": str(labels[key]).lower()},
            }
            for i, (day, value) in enumerate(zip(stats.days, values, strict=True))
        ]
        series.append(
            {
                "key": key,
                "label": labels[key],
                "colour": COLOURS[key],
                "shown": key in shown,
                "points": points,
                "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
            }
        )
    band = step_x if n > 1 else plot_w
    days = []
    label_every = max(1, n // 8)
    for i, day in enumerate(stats.days):
        figures = ", ".join(
            f"{labels[key]} {stats.series[key][i]}" for key in STATUS_KEYS if key in stats.series
        )
        days.append(
            {
                "x": x(i),
                "band_x": round(max(x(i) - band / 2, left), 1),
                "band_w": round(min(band, width - right - max(x(i) - band / 2, left)), 1),
                "label": day_label(day) if i % label_every == 0 or i == n - 1 else "",
                "title": f"{day_label(day)} — {figures}",
            }
        )
    ticks = [
        {"y": y(peak * k / 4), "value": round(peak * k / 4, 1) if peak < 4 else peak * k // 4}
        for k in range(5)
    ]
    rows = [
        {"label": day_label(day), "counts": [stats.series[key][i] for key in STATUS_KEYS]}
        for i, day in enumerate(stats.days)
    ]
    return {
        "rows": rows,
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": top + plot_h,
        "plot_height": plot_h,
        "label_y": top + plot_h + 20,
        "series": series,
        "days": days,
        "ticks": ticks,
    }


# -- views -----------------------------------------------------------------------


class WorkflowToolView(WagtailAdminTemplateMixin, TemplateView):
    """Base of the per-workflow admin pages: the workflow, its permission, its breadcrumbs."""

    permission_action = "view"
    header_icon = "mail"
    page_subtitle = ""

    def dispatch(self, request, *args, **kwargs):
        self.workflow = get_object_or_404(EmailWorkflow, pk=kwargs["pk"])
        if not workflow_permission_policy.user_has_permission(request.user, self.permission_action):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.workflow)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("mailflow_workflows:index"), "label": _("Workflows")},
            {
                "url": reverse("mailflow_workflows:inspect", args=[self.workflow.pk]),
                "label": str(self.workflow),
            },
            {"url": "", "label": self.get_page_title()},
        ]

    @property
    def header_buttons(self):
        user = self.request.user
        buttons = []
        tools = [
            ("statistics", _("Statistics"), "mailflow_workflow_statistics", "view"),
            ("dry_run", _("Dry run"), "mailflow_workflow_dry_run", "view"),
            ("test_send", _("Send a test"), "mailflow_workflow_test_send", "change"),
        ]
        for priority, (key, label, url_name, action) in enumerate(tools):
            if key == self.tool or not workflow_permission_policy.user_has_permission(user, action):
                continue
            buttons.append(
                HeaderButton(
                    label,
                    url=reverse(url_name, args=[self.workflow.pk]),
                    icon_name="arrow-right",
                    priority=priority * 10,
                )
            )
        return buttons

    tool = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["workflow"] = self.workflow
        return context


class WorkflowStatisticsView(WorkflowToolView):
    """The statistics page of one workflow."""

    tool = "statistics"
    template_name = "wagtail_mailflow/admin/statistics/workflow.html"
    page_title = gettext_lazy("Statistics")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tz = zoneinfo.ZoneInfo(self.workflow.timezone)
        today = timezone.now().astimezone(tz).date()
        form = period_form(self.request.GET, today)
        if form.is_valid():
            data = form.cleaned_data
            stats = workflow_statistics(self.workflow, data["start"], data["end"])
            context["chart"] = chart(stats, shown=data["status"])
        else:
            stats = workflow_statistics(self.workflow)
        context.update(
            form=form,
            stats=stats,
            statuses=STATUSES,
            deliveries_url=reverse("mailflow_deliveries:index") + f"?workflow={self.workflow.pk}",
        )
        return context


statistics_view = WorkflowStatisticsView.as_view()

urlpatterns = [
    path(
        "mailflow/workflows/<int:pk>/statistics/",
        statistics_view,
        name="mailflow_workflow_statistics",
    ),
]
