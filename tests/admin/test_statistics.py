"""The statistics page of a workflow: figures, period validation, constant queries, the chart."""

import datetime
import itertools
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import active_workflow
from wagtail_mailflow.engine.tracking import mark_first_event
from wagtail_mailflow.models import Contact, Delivery, DeliveryEvent, Enrollment
from wagtail_mailflow.statistics import workflow_statistics

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
S = Delivery.Status
E = DeliveryEvent.Type
_event_ids = itertools.count()


def at(day, hour=10, minute=0):
    return datetime.datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def delivery(
    workflow, step, status=S.SENT, sent_at=None, due_at=None, contact=None, enrollment=None
):
    """A delivery with its own enrollment (and contact unless given)."""
    if enrollment is None:
        contact = contact or Contact.objects.create(email=f"c{next(_event_ids)}@example.com")
        enrollment = Enrollment.objects.create(
            workflow=workflow, contact=contact, status=Enrollment.Status.COMPLETED
        )
    return Delivery.objects.create(
        enrollment=enrollment,
        step=step,
        workflow=workflow,
        contact=enrollment.contact,
        status=status,
        sent_at=sent_at,
        due_at=due_at or sent_at,
    )


def event(d, event_type, when=None):
    """An ESP event on ``d``, recorded as the tracking receiver does (first-event time too)."""
    record = DeliveryEvent.objects.create(
        delivery=d,
        esp="test",
        event_id=f"ev-{next(_event_ids)}",
        event_type=event_type,
        timestamp=when or d.sent_at or d.due_at,
    )
    mark_first_event(d.pk, record.event_type, record.timestamp)
    return record


@pytest.fixture
def figures_workflow():
    """Two emails, Paris time, and a hand-built set of deliveries and events in March 2025."""
    workflow = active_workflow(timezone="Europe/Paris")
    step1, step2 = workflow.steps.order_by("sort_order")
    d1 = delivery(workflow, step1, sent_at=at(2))
    for t in (E.DELIVERED, E.OPENED, E.OPENED, E.CLICKED, E.DEFERRED):
        event(d1, t)
    # 23:30 UTC on the 2nd is 00:30 on the 3rd in Paris: counts on the 3rd.
    d2 = delivery(workflow, step1, sent_at=at(2, 23, 30))
    event(d2, E.DELIVERED)
    event(d2, E.COMPLAINED)
    d3 = delivery(workflow, step1, sent_at=at(5))
    event(d3, E.BOUNCED)
    delivery(workflow, step1, status=S.FAILED, due_at=at(4))
    # Sent before the period: neither it nor its later open count.
    before = delivery(workflow, step1, sent_at=datetime.datetime(2025, 2, 20, 9, tzinfo=UTC))
    event(before, E.OPENED, when=at(2))
    d6 = delivery(workflow, step2, sent_at=at(6))
    event(d6, E.DELIVERED)
    event(d6, E.UNSUBSCRIBED)
    d7 = delivery(workflow, step2, sent_at=at(6, 12))
    event(d7, E.REJECTED)
    delivery(workflow, step2, status=S.SUPPRESSED, due_at=at(6))
    delivery(workflow, step2, status=S.SCHEDULED, due_at=at(6))
    # Sent after the period.
    delivery(workflow, step2, sent_at=at(9))
    # One contact who entered twice (re-entry) and is in the workflow now.
    twice = Contact.objects.create(email="twice@example.com")
    Enrollment.objects.create(
        workflow=workflow, contact=twice, entry_key="2024", status=Enrollment.Status.COMPLETED
    )
    Enrollment.objects.create(workflow=workflow, contact=twice, entry_key="2025")
    exited = Contact.objects.create(email="exited@example.com")
    Enrollment.objects.create(workflow=workflow, contact=exited, status=Enrollment.Status.EXITED)
    return workflow, step1, step2


def stats_url(workflow, **params):
    from urllib.parse import urlencode

    url = reverse("mailflow_workflows:statistics", args=[workflow.pk])
    return f"{url}?{urlencode(params, doseq=True)}" if params else url


PERIOD = {"period": "custom", "start": "2025-03-01", "end": "2025-03-07"}


def test_figures_per_email_over_the_period(figures_workflow):
    workflow, step1, step2 = figures_workflow
    stats = workflow_statistics(workflow, datetime.date(2025, 3, 1), datetime.date(2025, 3, 7))
    first, second = stats.emails
    assert first.step == step1 and second.step == step2
    assert first.counts == {
        "sent": 3,
        "delivered": 2,
        "opened": 1,  # two opens of one email count once
        "clicked": 1,
        "bounced": 1,
        "spam": 1,
        "unsubscribed": 0,
        "blocked": 1,  # the failed delivery
        "unknown": 0,
    }
    assert second.counts == {
        "sent": 2,
        "delivered": 1,
        "opened": 0,
        "clicked": 0,
        "bounced": 0,
        "spam": 0,
        "unsubscribed": 1,
        "blocked": 2,  # one suppressed + one rejected by the ESP
        "unknown": 0,
    }
    assert first.rate("delivered") == pytest.approx(200 / 3)
    assert first.rate("opened") == pytest.approx(100 / 3)
    assert second.rate("unsubscribed") == pytest.approx(50)
    # Blocked or failed is a share of the emails attempted (2 sent + 1 suppressed).
    assert second.rate("blocked") == pytest.approx(200 / 3)
    assert first.rate("sent") is None


def test_live_figures(figures_workflow):
    workflow, *_ = figures_workflow
    stats = workflow_statistics(workflow)
    assert stats.sent_total == 7  # every sent email, whatever the period
    # 10 deliveries' contacts + "twice" (counted once) + "exited".
    assert stats.entered == 10 + 1 + 1
    # Each contact once, under its latest entry: "twice" completed, then re-entered.
    assert stats.in_workflow == 1
    assert stats.completed == 10
    assert stats.left == 1  # "exited"
    assert stats.entered == stats.in_workflow + stats.completed + stats.left


def test_contacts_who_unsubscribed_or_were_suppressed_count_as_left(admin_client):
    workflow = active_workflow(delays=((0, "days"), (3, "days")))
    reasons = [Enrollment.ExitReason.UNSUBSCRIBED, Enrollment.ExitReason.SUPPRESSED]
    for n, reason in enumerate(reasons):
        Enrollment.objects.create(
            workflow=workflow,
            contact=Contact.objects.create(email=f"gone{n}@example.com"),
            status=Enrollment.Status.EXITED,
            exit_reason=reason,
        )
    Enrollment.objects.create(
        workflow=workflow, contact=Contact.objects.create(email="inside@example.com")
    )
    html = admin_client.get(stats_url(workflow)).content.decode()
    assert re.search(r'data-figure="left">2<', html)
    assert re.search(r'data-figure="entered">3<', html)
    assert re.search(r'data-figure="in_workflow">1<', html)


def test_days_follow_the_workflow_timezone(figures_workflow):
    workflow, *_ = figures_workflow
    stats = workflow_statistics(workflow, datetime.date(2025, 3, 1), datetime.date(2025, 3, 7))
    assert stats.days[0] == datetime.date(2025, 3, 1) and len(stats.days) == 7
    assert stats.series["sent"] == [0, 1, 1, 0, 1, 2, 0]
    assert stats.series["blocked"] == [0, 0, 0, 1, 0, 2, 0]
    assert stats.series["spam"] == [0, 0, 1, 0, 0, 0, 0]
    assert stats.totals["delivered"] == 3


def test_days_of_a_timezone_with_half_hour_offsets():
    """India is UTC+5:30: its days do not start on a UTC hour, yet each email counts right."""
    workflow = active_workflow(timezone="Asia/Kolkata")
    step = workflow.steps.order_by("sort_order").first()
    evening = delivery(workflow, step, sent_at=at(2, 18, 20))  # 23:50 on the 2nd in India
    event(evening, E.OPENED, when=at(3, 9))
    delivery(workflow, step, sent_at=at(2, 18, 40))  # 00:10 on the 3rd in India
    stats = workflow_statistics(workflow, datetime.date(2025, 3, 1), datetime.date(2025, 3, 3))
    assert stats.series["sent"] == [0, 1, 1]
    assert stats.series["opened"] == [0, 1, 0]
    assert stats.emails[0].counts["sent"] == 2


def test_page_shows_figures_and_chart_titles(admin_client, figures_workflow):
    workflow, step1, _step2 = figures_workflow
    response = admin_client.get(stats_url(workflow, **PERIOD))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-figure="sent_total">7<', html)
    assert re.search(r'data-figure="in_workflow">1<', html)
    row = re.search(rf'<tr data-step="{step1.pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(
        r'data-status="delivered">\s*<span class="mailflow-stats__count">2</span>', row
    )
    assert "66.7 %" in row
    # The exact figure for a day, on hover: a <title> per point and per day.
    assert "<title>03/03/2025: 1 spam</title>" in html
    assert "<title>03/06/2025: 2 sent</title>" in html
    assert re.search(
        r"<title>03/06/2025 — Sent 2, Delivered 1, .*Blocked or failed 2, Outcome unknown 0</title>",
        html,
    )
    assert 'src="/static/wagtail_mailflow/statistics.js"' in html
    assert "cdn" not in html.lower().replace("wagtail", "")


def test_unchecked_statuses_start_hidden(admin_client, figures_workflow):
    workflow, *_ = figures_workflow
    response = admin_client.get(stats_url(workflow, status=["sent", "opened"], **PERIOD))
    html = response.content.decode()
    assert re.search(r'<g class="mailflow-stats__series" data-series="sent"[^>]*>', html).group(0)
    assert 'display="none"' not in re.search(r'<g[^>]*data-series="sent"[^>]*>', html).group(0)
    assert 'display="none"' in re.search(r'<g[^>]*data-series="clicked"[^>]*>', html).group(0)
    assert re.search(r'value="clicked" data-mailflow-series="clicked">', html)
    assert re.search(r'value="opened" data-mailflow-series="opened" checked>', html)


def test_default_period_is_last_30_days(admin_client):
    workflow = active_workflow()
    response = admin_client.get(stats_url(workflow))
    assert response.status_code == 200
    stats = response.context["stats"]
    assert len(stats.days) == 30
    assert (stats.end - stats.start).days == 29


@pytest.mark.parametrize(
    "params, message",
    [
        ({"period": "custom"}, "Enter both the first and the last day"),
        ({"period": "custom", "start": "2025-03-07", "end": "2025-03-01"}, "must not be before"),
        ({"period": "custom", "start": "2023-01-01", "end": "2025-03-01"}, "at most 366 days"),
        ({"period": "custom", "start": "2025-02-30", "end": "2025-03-01"}, "Enter a valid date"),
        (
            {"period": "custom", "start": "2999-01-01", "end": "2999-01-02"},
            "cannot start in the future",
        ),
        ({"period": "12"}, "Select a valid choice"),
        ({"status": "nonsense"}, "Select a valid choice"),
    ],
)
def test_bad_period_is_a_form_error(admin_client, params, message):
    workflow = active_workflow()
    response = admin_client.get(stats_url(workflow, **params))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "chart" not in response.context or response.context.get("chart") is None


def _build(steps, deliveries):
    workflow = active_workflow(
        delays=[(n, "days") for n in range(steps)], title=f"W {steps}-{deliveries}"
    )
    step_list = list(workflow.steps.all())
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"bulk{steps}-{n}@example.com") for n in range(deliveries)]
    )
    enrollments = Enrollment.objects.bulk_create(
        [Enrollment(workflow=workflow, contact=c) for c in contacts]
    )
    rows = Delivery.objects.bulk_create(
        [
            Delivery(
                enrollment=e,
                step=step_list[n % len(step_list)],
                workflow=workflow,
                contact=e.contact,
                status=S.SENT if n % 7 else S.FAILED,
                sent_at=at(1 + n % 7) if n % 7 else None,
                due_at=at(1 + n % 7),
                delivered_at=at(8) if n % 7 else None,
                opened_at=at(8) if n % 7 else None,
            )
            for n, e in enumerate(enrollments)
        ]
    )
    DeliveryEvent.objects.bulk_create(
        [
            DeliveryEvent(
                delivery=d, esp="t", event_id=f"{d.pk}-{t}", event_type=t, timestamp=at(8)
            )
            for d in rows
            if d.sent_at
            for t in (E.DELIVERED, E.OPENED)
        ]
    )
    return workflow


def _count_queries(client, workflow):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(stats_url(workflow, **PERIOD))
    assert response.status_code == 200
    return len(captured)


def test_queries_do_not_grow_with_steps_or_deliveries(admin_client):
    small = _build(steps=1, deliveries=10)
    large = _build(steps=5, deliveries=500)
    admin_client.get(stats_url(small, **PERIOD))  # warm per-process caches (menu, site)
    assert _count_queries(admin_client, small) == _count_queries(admin_client, large)
    start, end = datetime.date(2025, 3, 1), datetime.date(2025, 3, 7)
    for workflow, sent in ((small, 9 - 1), (large, 500 - 72)):
        with CaptureQueriesContext(connection) as captured:
            stats = workflow_statistics(workflow, start, end)
        # live contacts, total sent, steps, sent and reported by day, not sent by day
        assert len(captured) == 5
        assert sum(e.counts["sent"] for e in stats.emails) == sent
        assert sum(e.counts["opened"] for e in stats.emails) == sent


def test_view_permission_required(client, django_user_model):
    workflow = active_workflow()
    user = django_user_model.objects.create_user("editor", "editor@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    url = stats_url(workflow)
    response = client.get(url)
    assert response.status_code in (302, 403)
    assert b"Emails by status per day" not in response.content
    group = Group.objects.create(name="Viewers")
    group.permissions.add(Permission.objects.get(codename="view_emailworkflow"))
    user.groups.add(group)
    response = client.get(url)
    assert response.status_code == 200
    assert b"Emails by status per day" in response.content


def _stats(days, series):
    from wagtail_mailflow.statistics import STATUS_KEYS, WorkflowStatistics

    full = {key: [0] * len(days) for key in STATUS_KEYS} | series
    return WorkflowStatistics(None, 0, 0, 0, 0, days=days, series=full)


@pytest.mark.parametrize(
    "peak, ticks",
    [
        (1, [0, 1]),
        (2, [0, 1, 2]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (23, [0, 5, 10, 15, 20, 25]),
    ],
)
def test_chart_y_axis_counts_in_whole_numbers(peak, ticks):
    from wagtail_mailflow.admin.workflows.statistics import chart

    days = [datetime.date(2025, 3, d) for d in (1, 2)]
    geometry = chart(_stats(days, {"sent": [0, peak]}))
    assert [t["value"] for t in geometry["ticks"]] == ticks


def test_chart_last_date_label_is_inside_and_alone():
    from wagtail_mailflow.admin.workflows.statistics import chart

    days = [datetime.date(2025, 3, 1) + datetime.timedelta(days=n) for n in range(30)]
    geometry = chart(_stats(days, {"sent": [1] * 30}))
    labelled = [i for i, day in enumerate(geometry["days"]) if day["label"]]
    assert labelled[-1] == 29
    assert geometry["days"][29]["anchor"] == "end"
    assert geometry["days"][0]["anchor"] == "start"
    gaps = [b - a for a, b in itertools.pairwise(labelled)]
    assert min(gaps) >= max(1, 30 // 8) / 2


def test_chart_has_a_popover_with_every_status_of_each_day(admin_client, figures_workflow):
    workflow, *_ = figures_workflow
    html = admin_client.get(stats_url(workflow, **PERIOD)).content.decode()
    popover = re.search(r'<div class="mailflow-stats__popover"[^>]*>(.*?)</div>', html, re.S)
    assert popover is not None
    assert popover.group(1).count("<li") == len(
        re.findall(r'<input type="checkbox" name="status"', html)
    )
