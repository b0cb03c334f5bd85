"""The configured send rate in the admin, with when the last email waiting should go."""

import datetime
import itertools
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import active_workflow
from wagtail_mailflow.models import Contact, Delivery, Enrollment
from wagtail_mailflow.sending.rate import describe_rate, forecast

pytestmark = pytest.mark.django_db

S = Delivery.Status
_serial = itertools.count()


def due(workflow, count, due_at):
    step = workflow.steps.order_by("sort_order").first()
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"c{next(_serial)}@example.com") for _i in range(count)]
    )
    enrollments = Enrollment.objects.bulk_create(
        [Enrollment(workflow=workflow, contact=c) for c in contacts]
    )
    Delivery.objects.bulk_create(
        [
            Delivery(enrollment=e, step=step, workflow=workflow, contact=e.contact, due_at=due_at)
            for e in enrollments
        ]
    )


def text(response):
    assert response.status_code == 200
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_no_rate_no_note(admin_client, settings):
    settings.WAGTAIL_MAILFLOW_SEND_RATE = None
    due(active_workflow(), 3, timezone.now() - datetime.timedelta(minutes=1))
    response = admin_client.get(reverse("mailflow_deliveries:index"))
    assert "data-mailflow-sending-rate" not in response.content.decode()


def test_listing_shows_the_rate_and_when_the_backlog_should_be_sent(admin_client, settings):
    settings.WAGTAIL_MAILFLOW_SEND_RATE = "1/s"
    due(active_workflow(), 150, timezone.now() - datetime.timedelta(minutes=1))
    before = timezone.now()
    page = text(admin_client.get(reverse("mailflow_deliveries:index")))
    assert "Sending rate: at most 1 email per second, across every worker." in page
    assert "150 emails are waiting to be sent; at this rate the last should go around" in page
    expected = forecast(now=before)
    assert expected.waiting == 150
    assert expected.last_at == before + datetime.timedelta(seconds=150)


def test_a_small_backlog_shows_the_rate_only(admin_client, settings):
    settings.WAGTAIL_MAILFLOW_SEND_RATE = "100/m"
    due(active_workflow(), 50, timezone.now() - datetime.timedelta(minutes=1))  # 30 s at the rate
    page = text(admin_client.get(reverse("mailflow_deliveries:index")))
    assert "Sending rate: at most 100 emails per minute, across every worker." in page
    assert "waiting to be sent" not in page


def test_workflow_page_counts_what_is_due_before_its_last_email(admin_client, settings):
    settings.WAGTAIL_MAILFLOW_SEND_RATE = "2/s"
    now = timezone.now()
    older, ours, newer = active_workflow(), active_workflow(title="Ours"), active_workflow()
    due(older, 100, now - datetime.timedelta(hours=2))  # due first: sent before ours
    due(ours, 60, now - datetime.timedelta(hours=1))
    due(newer, 500, now - datetime.timedelta(minutes=1))  # due after ours: not counted
    due(ours, 5, now + datetime.timedelta(days=1))  # not due yet: not counted
    assert forecast(ours.pk, now=now).waiting == 160
    page = text(admin_client.get(reverse("mailflow_workflows:inspect", args=[ours.pk])))
    assert "Sending rate: at most 2 emails per second, across every worker." in page
    assert (
        "160 emails are due up to this workflow's last one; at this rate its last email "
        "should go around" in page
    )


@pytest.mark.parametrize(
    "rate, words",
    [
        ((1, 1), "1 email per second"),
        ((40, 1), "40 emails per second"),
        ((100000, 3600), "100000 emails per hour"),
        ((90, 120), "90 emails every 120 seconds"),
    ],
)
def test_rates_in_words(rate, words):
    assert describe_rate(*rate) == words
