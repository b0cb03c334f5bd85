"""What the admin says about sending outcomes: the pause banner and "Resume now", "Send
again" on sent emails, and emails whose outcome is unknown, in the statistics and the
sent-emails filter."""

import datetime
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from tests.factories import active_workflow
from wagtail_mailflow import conf, signals
from wagtail_mailflow.engine.dispatch import run_due
from wagtail_mailflow.models import (
    Contact,
    Delivery,
    DeliveryEvent,
    EmailWorkflow,
    Enrollment,
    SendingPause,
)
from wagtail_mailflow.statistics import workflow_statistics

pytestmark = pytest.mark.django_db

S = Delivery.Status
BANNER = "data-mailflow-sending-paused"


def user_with(django_user_model, *codenames, name="staff"):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw")
    group = Group.objects.create(name=f"{name} group")
    group.permissions.add(
        *Permission.objects.filter(codename__in=["access_admin", *codenames]).order_by("pk")
    )
    user.groups.add(group)
    return user


def make_delivery(workflow, step, email, status, **fields):
    contact, _ = Contact.objects.get_or_create(email=email, defaults={"first_name": "Ann"})
    workflow.contact_list.memberships.get_or_create(contact=contact)
    enrollment, _ = Enrollment.objects.get_or_create(workflow=workflow, contact=contact)
    fields.setdefault("due_at", timezone.now() - timedelta(hours=1))
    return Delivery.objects.create(
        enrollment=enrollment,
        step=step,
        workflow=workflow,
        contact=contact,
        status=status,
        **fields,
    )


def pause(minutes=10, reason="Mailjet send-0008: not an authorized sender"):
    return SendingPause.objects.create(
        until=timezone.now() + timedelta(minutes=minutes), reason=reason
    )


# -- item 4: the pause is visible ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name", ["mailflow_workflows:index", "mailflow_deliveries:index", "mailflow_contacts:index"]
)
def test_banner_across_email_automation_while_paused(admin_client, url_name):
    assert BANNER not in admin_client.get(reverse(url_name)).content.decode()
    pause()
    html = admin_client.get(reverse(url_name)).content.decode()
    assert BANNER in html
    assert "Sending is paused since" in html
    assert "not an authorized sender" in html
    resume = reverse("mailflow_resume_sending")
    assert re.search(
        rf'<form method="post" action="{resume}"[^>]*>'
        r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]+">',
        html,
    )
    assert re.search(r'<button type="submit"[^>]*>Resume now</button>', html)


def test_banner_on_a_workflow_page_and_not_elsewhere(admin_client):
    workflow = active_workflow()
    pause()
    inspect = reverse("mailflow_workflows:inspect", args=[workflow.pk])
    assert BANNER in admin_client.get(inspect).content.decode()
    assert BANNER not in admin_client.get(reverse("wagtailadmin_home")).content.decode()


def test_expired_pause_shows_no_banner(admin_client):
    SendingPause.objects.create(until=timezone.now() - timedelta(seconds=1), reason="old")
    assert BANNER not in admin_client.get(reverse("mailflow_workflows:index")).content.decode()


def test_resume_now_ends_the_pause_and_sends(admin_client, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    workflow = active_workflow(delays=((0, "days"),))
    contact = Contact.objects.create(email="ann@example.com")
    workflow.contact_list.memberships.create(contact=contact)
    from wagtail_mailflow.engine.entry import enter_many

    enter_many(workflow, Contact.objects.filter(pk=contact.pk), now=timezone.now())
    pause()
    assert run_due().paused and len(mailoutbox) == 0

    next_url = reverse("mailflow_deliveries:index")
    woken = []

    def wake(sender, **kwargs):
        woken.append(sender)

    signals.deliveries_due.connect(wake)
    try:
        response = admin_client.post(reverse("mailflow_resume_sending"), {"next": next_url})
    finally:
        signals.deliveries_due.disconnect(wake)
    assert response.status_code == 302 and response["Location"] == next_url
    assert woken == [EmailWorkflow]  # the workers are woken
    assert not SendingPause.objects.exists()
    assert run_due().sent == 1 and len(mailoutbox) == 1
    assert BANNER not in admin_client.get(next_url).content.decode()


def test_resume_refuses_get_foreign_next_and_users_who_may_not_change_workflows(
    client, admin_client, django_user_model
):
    pause()
    url = reverse("mailflow_resume_sending")
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url, {"next": "https://evil.example.com/"})
    assert response.status_code == 302 and "evil" not in response["Location"]

    pause()
    viewer = user_with(django_user_model, "view_emailworkflow", "view_delivery", name="viewer")
    client.force_login(viewer)
    html = client.get(reverse("mailflow_deliveries:index")).content.decode()
    assert BANNER in html and "Resume now" not in html  # shown, not offered
    refused = client.post(url)  # Wagtail's answer to a permission denied: back home
    assert refused.status_code == 302 and refused["Location"] == reverse("wagtailadmin_home")
    assert SendingPause.objects.exists()

    editor = user_with(django_user_model, "view_emailworkflow", "change_emailworkflow", name="ed")
    client.force_login(editor)
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] != reverse("wagtailadmin_home")
    assert not SendingPause.objects.exists()


def test_resume_needs_the_csrf_token(django_user_model):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    csrf_client.force_login(user)
    pause()
    assert csrf_client.post(reverse("mailflow_resume_sending")).status_code == 403
    assert SendingPause.objects.exists()


# -- item 5: retries span an outage; sending again from the listing ---------------------------


def test_default_retries_span_hours_of_outage_capped_at_an_hour():
    from wagtail_mailflow.engine.outcomes import backoff

    attempts = int(conf.get("MAX_ATTEMPTS"))
    delays = [backoff(n).total_seconds() for n in range(1, attempts)]
    assert max(delays) <= 3600 * 1.25
    total = sum(delays)
    assert 12 * 3600 <= total <= 24 * 3600, total / 3600


@pytest.fixture
def outcomes():
    workflow = active_workflow(delays=((0, "days"), (2, "days")))
    first, second = workflow.steps.order_by("sort_order")
    return {
        "failed": make_delivery(workflow, first, "failed@example.com", S.FAILED, attempts=24),
        "unknown": make_delivery(workflow, first, "unknown@example.com", S.UNKNOWN, attempts=1),
        "sent": make_delivery(
            workflow, first, "sent@example.com", S.SENT, sent_at=timezone.now() - timedelta(hours=1)
        ),
        "unsubscribed": make_delivery(workflow, first, "gone@example.com", S.FAILED),
        "workflow": workflow,
        "second": second,
    }


def bulk_url(*deliveries, next_url=None):
    ids = "&".join(f"id={d.pk}" for d in deliveries)
    next_url = next_url or reverse("mailflow_deliveries:index")
    return (
        reverse("wagtail_bulk_action", args=["wagtail_mailflow", "delivery", "send_again"])
        + f"?next={next_url}&{ids}"
    )


def test_send_again_confirms_how_many_and_warns_unknown_may_arrive_twice(admin_client, outcomes):
    Contact.objects.filter(email="gone@example.com").update(unsubscribed_at=timezone.now())
    url = bulk_url(
        outcomes["failed"], outcomes["unknown"], outcomes["sent"], outcomes["unsubscribed"]
    )
    html = admin_client.get(url).content.decode()
    assert 'data-mailflow-send-again-count="2"' in html
    assert "Send these 2 emails again?" in html
    assert 'data-mailflow-unknown-warning="1"' in html and "may arrive twice" in html
    assert f'data-mailflow-not-resendable="{outcomes["sent"].pk}"' in html
    assert f'data-mailflow-not-resendable="{outcomes["unsubscribed"].pk}"' in html

    response = admin_client.post(url)
    assert response.status_code == 302
    for key in ("failed", "unknown"):
        d = Delivery.objects.get(pk=outcomes[key].pk)
        assert d.status == S.SCHEDULED and d.attempts == 0 and d.due_at <= timezone.now()
        assert "Sent again on request" in d.last_error
    assert Delivery.objects.get(pk=outcomes["sent"].pk).status == S.SENT
    assert Delivery.objects.get(pk=outcomes["unsubscribed"].pk).status == S.FAILED


def test_sent_again_goes_through_the_claim_path(admin_client, outcomes, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    url = bulk_url(outcomes["failed"], outcomes["unknown"])
    assert admin_client.post(url).status_code == 302
    # Unsubscribed after the request, before a worker claims it: not sent.
    Contact.objects.filter(email="unknown@example.com").update(unsubscribed_at=timezone.now())
    stats = run_due()
    assert stats.sent == 1
    assert [m.to for m in mailoutbox] == [["failed@example.com"]]
    assert Delivery.objects.get(pk=outcomes["failed"].pk).status == S.SENT
    assert Delivery.objects.get(pk=outcomes["unknown"].pk).status == S.SUPPRESSED
    assert run_due().sent == 0  # once


def test_send_again_needs_the_permission_to_change_workflows(client, django_user_model, outcomes):
    viewer = user_with(django_user_model, "view_delivery", "view_emailworkflow", name="viewer")
    client.force_login(viewer)
    index = client.get(reverse("mailflow_deliveries:index")).content.decode()
    assert "bulk-actions" not in index and "data-object-id" not in index
    url = bulk_url(outcomes["failed"])
    home = reverse("wagtailadmin_home")
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302 and response["Location"] == home
    assert Delivery.objects.get(pk=outcomes["failed"].pk).status == S.FAILED

    editor = user_with(
        django_user_model, "view_delivery", "view_emailworkflow", "change_emailworkflow", name="ed"
    )
    client.force_login(editor)
    index = client.get(reverse("mailflow_deliveries:index")).content.decode()
    assert "Send again" in index
    assert client.post(url).status_code == 302
    assert Delivery.objects.get(pk=outcomes["failed"].pk).status == S.SCHEDULED


# -- item 6: unknown counted ---------------------------------------------------------------------


def test_unknown_has_its_own_figure_and_filter(admin_client, outcomes):
    workflow = outcomes["workflow"]
    today = timezone.localdate()
    stats = workflow_statistics(workflow, today - datetime.timedelta(days=1), today)
    assert stats.unknown_total == 1
    assert stats.totals["unknown"] == 1
    first = stats.emails[0]
    assert first.counts["unknown"] == 1 and first.counts["blocked"] == 2
    assert first.rate("unknown") == pytest.approx(100 / 4)

    page = admin_client.get(reverse("mailflow_workflows:statistics", args=[workflow.pk]))
    assert page.status_code == 200
    assert re.search(
        r'data-figure="unknown_total"><a [^>]*status=unknown[^>]*>1<', page.content.decode()
    )

    listing = admin_client.get(reverse("mailflow_deliveries:index") + "?status=unknown")
    html = listing.content.decode()
    assert "unknown@example.com" in html
    assert "failed@example.com" not in html and "sent@example.com" not in html


def test_event_ids_echoed_settle_unknown_in_statistics(outcomes):
    unknown = outcomes["unknown"]
    DeliveryEvent.objects.create(
        delivery=unknown, esp="mailjet", event_id="x", event_type=DeliveryEvent.Type.DELIVERED
    )
    from wagtail_mailflow.engine.tracking import settle_unknown

    assert settle_unknown([unknown.pk]) == [unknown.pk]
    assert workflow_statistics(outcomes["workflow"]).unknown_total == 0


# -- item 3: the ESP's reason, in the contact's and the email's history --------------------------


def test_the_esps_reason_shows_in_the_contacts_and_the_emails_history(admin_client, outcomes):
    sent = outcomes["sent"]
    DeliveryEvent.objects.create(
        delivery=sent,
        esp="mailjet",
        event_id="blocked-1",
        event_type=DeliveryEvent.Type.REJECTED,
        description="mailjet: preblocked",
    )
    contact_page = admin_client.get(reverse("mailflow_contacts:inspect", args=[sent.contact_id]))
    assert contact_page.status_code == 200
    assert re.search(
        r'data-event="rejected">Rejected · [^<]* · mailjet: preblocked<',
        contact_page.content.decode(),
    )
    email_page = admin_client.get(reverse("mailflow_deliveries:inspect", args=[sent.pk]))
    assert email_page.status_code == 200
    html = email_page.content.decode()
    assert re.search(r'<tr data-event="rejected">.*?mailjet: preblocked', html, re.S)
