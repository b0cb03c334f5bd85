"""The statistics page of one workflow: the period form, the daily chart, the view.

The figures come from ``wagtail_mailflow.statistics``; this module only presents them.
"""

import datetime
import zoneinfo

from django import forms
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...statistics import STATUS_KEYS, STATUSES, workflow_statistics
from .tools import WorkflowToolView

PERIOD_CHOICES = (
    ("7", gettext_lazy("Last 7 days")),
    ("30", gettext_lazy("Last 30 days")),
    ("90", gettext_lazy("Last 90 days")),
    ("custom", gettext_lazy("Custom dates")),
)
DEFAULT_PERIOD = "30"
#: The longest custom period, in days (the chart has one point per day).
MAX_PERIOD_DAYS = 366


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
    "unknown": "#5a5a8a",
}


def _axis(value):
    """The y axis for counts up to ``value``: (top, step), whole numbers, at most 5 steps.

    The step is the smallest 1, 2 or 5 × 10^n that reaches ``value`` in 5 steps or fewer.
    """
    value = max(int(value), 1)
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * 5 >= value:
                return step * -(-value // step), step
        magnitude *= 10


def chart(stats, shown=STATUS_KEYS, width=760, height=260):
    """The geometry of the daily chart as plain data for the SVG template."""
    labels = dict(STATUSES)
    left, right, top, bottom = 48, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(stats.days)
    peak, tick_step = _axis(max((max(v) for v in stats.series.values() if v), default=0))
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
    # Every label_every-th day is labelled, and the last one; a regular label too close to
    # the last is dropped so they never overlap.
    labelled = {i for i in range(n) if i % label_every == 0 and n - 1 - i >= label_every / 2}
    labelled.add(n - 1)
    for i, day in enumerate(stats.days):
        figures = [
            {
                "label": labels[key],
                "count": stats.series[key][i],
                "colour": COLOURS[key],
                "key": key,
            }
            for key in STATUS_KEYS
            if key in stats.series
        ]
        days.append(
            {
                "x": x(i),
                "band_x": round(max(x(i) - band / 2, left), 1),
                "band_w": round(min(band, width - right - max(x(i) - band / 2, left)), 1),
                "label": day_label(day) if i in labelled else "",
                # The first and last labels are anchored inside the plot, never cut.
                "anchor": "start"
                if i == 0 and n > 1
                else "end"
                if i == n - 1 and n > 1
                else "middle",
                "day": day_label(day),
                "figures": figures,
                "title": "{} — {}".format(
                    day_label(day), ", ".join(f"{f['label']} {f['count']}" for f in figures)
                ),
            }
        )
    ticks = [{"y": y(value), "value": value} for value in range(0, peak + 1, tick_step)]
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


class WorkflowStatisticsView(WorkflowToolView):
    """The statistics page of one workflow."""

    tool = "statistics"
    template_name = "wagtail_mailflow/admin/workflows/statistics.html"
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
