"""Sending through anymail's real Mailjet backend to a fake Mailjet Send API v3.1 over HTTP,
and Mailjet's webhooks posted through anymail's real tracking view.

What a Mailjet user hits: per-message errors read from Mailjet's own answer,
events that arrive while the worker still waits for the answer, ``blocked``
events, rate limits, and messages Django refuses to build.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests import fake_mailjet
from tests.factories import delivery, join, start
from tests.fake_esp import REQUESTS_TIMEOUT as TIMEOUT
from tests.fake_mailjet import FakeMailjet, HookedMailjetBackend, event, post_events
from wagtail_mailflow.engine.dispatch import run_due
from wagtail_mailflow.models import Contact, Delivery, DeliveryEvent, Enrollment, SendingPause

pytestmark = pytest.mark.django_db

D = Delivery.Status


@pytest.fixture
def mailjet(settings):
    server = FakeMailjet()
    settings.EMAIL_BACKEND = "anymail.backends.mailjet.EmailBackend"
    settings.ANYMAIL = {
        "MAILJET_API_KEY": "key",
        "MAILJET_SECRET_KEY": "secret",
        "MAILJET_API_URL": server.api_url,
        "REQUESTS_TIMEOUT": TIMEOUT,
        "WEBHOOK_SECRET": "user:pass",
    }
    yield server
    server.stop()


@pytest.fixture
def hooked(settings, mailjet):
    settings.EMAIL_BACKEND = "tests.fake_mailjet.HookedMailjetBackend"
    yield HookedMailjetBackend
    HookedMailjetBackend.after_post = None


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0)


def test_success_records_mailjet_message_id_and_sends_our_custom_id(mailjet, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    assert run_due(now=t0).sent == 1
    d = delivery(ann)
    (received,) = mailjet.accepted()
    assert d.status == D.SENT and d.esp_message_id == received.message_id
    assert received.custom_id == f"mailflow-{d.pk}"
    assert received.metadata["mailflow_delivery"] == str(d.pk)


# -- item 2: per-message errors, read from Mailjet's answer ------------------------------------


def test_invalid_recipient_mj_0013_suppresses_with_mailjets_words(mailjet, t0):
    workflow = start(delays=((0, "days"), (1, "days")))
    bad, good = join(workflow, "bad@example.com", "good@example.com", now=t0)
    mailjet.script(fake_mailjet.invalid_recipient("bad@example.com"), to="bad@example.com")

    stats = run_due(now=t0)
    assert stats.sent == 1 and stats.failed == 1 and not stats.paused
    d = delivery(bad)
    assert d.status == D.FAILED
    assert d.last_error.startswith("Mailjet mj-0013:")
    assert '"bad@example.com" is an invalid email address.' in d.last_error
    bad.refresh_from_db()
    assert bad.suppression_reason == Contact.SuppressionReason.REJECTED
    assert Enrollment.objects.get(contact=bad).status == Enrollment.Status.EXITED
    assert delivery(good).status == D.SENT


def test_sender_refused_send_0008_pauses_like_a_401_without_failing_the_batch(
    mailjet, settings, t0
):
    settings.WAGTAIL_MAILFLOW_PAUSE_SECONDS = 600
    workflow = start()
    contacts = join(workflow, "a@example.com", "b@example.com", "c@example.com", now=t0)
    mailjet.script(fake_mailjet.sender_refused())

    stats = run_due(now=t0)
    assert stats.paused and stats.failed == 0 and stats.sent == 0
    assert len(mailjet.received()) == 1  # the rest of the batch was not attempted
    assert [delivery(c).status for c in contacts] == [D.SCHEDULED] * 3
    assert [delivery(c).attempts for c in contacts] == [0, 0, 0]
    pause = SendingPause.objects.get()
    assert pause.until == t0 + timedelta(seconds=600)
    assert "send-0008" in pause.reason and "not an authorized sender" in pause.reason
    assert "send-0008" in delivery(contacts[0]).last_error

    assert run_due(now=pause.until + timedelta(seconds=1)).sent == 3


def test_an_inner_403_pauses(mailjet, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    mailjet.script(fake_mailjet.message_error("send-0099", 403, "Account blocked."))
    assert run_due(now=t0).paused
    assert delivery(ann).status == D.SCHEDULED and delivery(ann).attempts == 0


def test_other_per_message_errors_fail_with_mailjets_message(mailjet, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    mailjet.script(
        fake_mailjet.message_error(
            "send-0003", 400, 'At least "HTMLPart", "TextPart" or "TemplateID" must be provided.'
        )
    )
    assert run_due(now=t0).failed == 1
    d = delivery(ann)
    assert d.status == D.FAILED
    assert d.last_error.startswith("Mailjet send-0003: At least")
    assert "The ESP reported a failure" not in d.last_error
    ann.refresh_from_db()
    assert ann.suppressed_at is None


def test_a_401_pauses(mailjet, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    mailjet.script(fake_mailjet.unauthorized())
    assert run_due(now=t0).paused
    assert "API key authentication" in SendingPause.objects.get().reason


# -- item 8: a 429 says what happened ------------------------------------------------------------


def test_rate_limited_says_so_and_when_it_retries(mailjet, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    mailjet.script(fake_mailjet.rate_limited(retry_after=120))

    assert run_due(now=t0).retried == 1
    d = delivery(ann)
    assert d.status == D.SCHEDULED and d.due_at >= t0 + timedelta(seconds=120)
    assert d.last_error.startswith("Rate limited by the ESP (HTTP 429).")
    assert f"Retrying at {d.due_at.isoformat(timespec='seconds')}" in d.last_error
    assert "KeyError" not in d.last_error and "Invalid Mailjet API response" not in d.last_error

    assert run_due(now=d.due_at).sent == 1
    d.refresh_from_db()
    assert d.status == D.SENT and d.last_error == ""


# -- item 1: an outcome never overwrites what the ESP already told us ----------------------------


def test_event_arriving_while_the_call_waits_is_not_overwritten_by_the_timeout(
    hooked, mailjet, client, t0
):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    mailjet.script(fake_mailjet.ok(delay=TIMEOUT + 0.4))  # Mailjet takes it, answers too late
    posted = []

    def sent_event_during_the_call(message):
        (received,) = mailjet.received()
        # The request reached Mailjet: its "sent" event arrives before the worker records.
        while not received.message_id:
            pass
        response = post_events(client, event("sent", received, t0 + timedelta(seconds=1)))
        posted.append(response.status_code)

    hooked.after_post = sent_event_during_the_call
    stats = run_due(now=t0)
    assert posted == [200]
    d = delivery(ann)
    assert stats.unknown == 0
    assert d.status == D.SENT
    assert d.esp_message_id == mailjet.accepted()[0].message_id
    assert d.last_error == "" and d.delivered_at == t0 + timedelta(seconds=1)
    assert run_due(now=t0 + timedelta(days=1)).batches == 0
    assert len(mailjet.received()) == 1


def test_event_settling_an_unknown_delivery_clears_the_stale_error(mailjet, client, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    mailjet.script(fake_mailjet.ok(delay=TIMEOUT + 0.4))
    assert run_due(now=t0).unknown == 1
    d = delivery(ann)
    assert d.status == D.UNKNOWN and d.last_error

    (received,) = mailjet.accepted()
    # Mailjet's event carries the CustomID (and the payload): it finds the delivery.
    sent = event("sent", received, t0 + timedelta(seconds=2))
    sent["Payload"] = ""  # even without anymail's metadata
    assert post_events(client, sent).status_code == 200
    d.refresh_from_db()
    assert d.status == D.SENT and d.last_error == ""
    assert d.esp_message_id == received.message_id


# -- item 3: blocked events suppress and keep Mailjet's reason ------------------------------------


def test_blocked_preblocked_suppresses_and_keeps_the_reason(mailjet, client, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    run_due(now=t0)
    (received,) = mailjet.accepted()
    blocked = event(
        "blocked",
        received,
        t0 + timedelta(seconds=5),
        error_related_to="mailjet",
        error="preblocked",
    )
    assert post_events(client, blocked).status_code == 200
    ann.refresh_from_db()
    assert ann.suppression_reason == Contact.SuppressionReason.REJECTED
    recorded = DeliveryEvent.objects.get(event_type=DeliveryEvent.Type.REJECTED)
    assert recorded.description == "mailjet: preblocked"
    assert recorded.delivery == delivery(ann)


def test_bounce_keeps_error_and_error_related_to(mailjet, client, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    run_due(now=t0)
    (received,) = mailjet.accepted()
    bounce = event(
        "bounce",
        received,
        t0 + timedelta(seconds=5),
        blocked=False,
        hard_bounce=True,
        error_related_to="recipient",
        error="user unknown",
        comment="Host or domain name not found.",
    )
    assert post_events(client, bounce).status_code == 200
    recorded = DeliveryEvent.objects.get(event_type=DeliveryEvent.Type.BOUNCED)
    assert recorded.description == "recipient: user unknown"
    ann.refresh_from_db()
    assert ann.suppression_reason == Contact.SuppressionReason.HARD_BOUNCE


# -- item 7: a message Django refuses is failed, never sent ---------------------------------------


def test_a_line_break_in_the_subject_fails_the_email_with_a_clear_reason(mailjet, t0):
    workflow = start()
    ann, bob = join(workflow, "ann@example.com", "bob@example.com", now=t0)
    Contact.objects.filter(pk=ann.pk).update(first_name="Ann\nBcc: victim@example.com")

    stats = run_due(now=t0)
    d = delivery(ann)
    assert d.status == D.FAILED, d.last_error
    assert stats.unknown == 0 and stats.failed == 1 and stats.sent == 1
    assert "line break" in d.last_error
    assert [r.to for r in mailjet.received()] == ["bob@example.com"]


def test_an_expired_lease_does_not_write_unknown_over_a_recorded_event(mailjet, client, t0):
    from wagtail_mailflow.engine.claim import release_expired_claims

    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    d = delivery(ann)
    # A worker handed it to Mailjet and died; Mailjet's "sent" event was recorded meanwhile.
    Delivery.objects.filter(pk=d.pk).update(
        status=D.SENDING, claim_token="dead", claimed_until=t0, attempts=1
    )
    DeliveryEvent.objects.create(
        delivery=d,
        esp="mailjet",
        event_id="1:sent",
        message_id="288230376151711744",
        event_type=DeliveryEvent.Type.DELIVERED,
        timestamp=t0,
    )
    assert release_expired_claims(t0 + timedelta(seconds=1)) == 1
    d.refresh_from_db()
    assert d.status == D.SENT and d.last_error == ""
    assert d.esp_message_id == "288230376151711744"


def test_every_sent_email_keeps_its_own_mailjet_message_id(mailjet, t0, monkeypatch):
    from wagtail_mailflow.engine import outcomes

    monkeypatch.setattr(outcomes, "MESSAGE_IDS_PER_UPDATE", 2)  # three UPDATEs for five rows
    workflow = start()
    contacts = join(workflow, *[f"m{i}@example.com" for i in range(5)], now=t0)
    assert run_due(now=t0).sent == 5
    ids = {r.custom_id: r.message_id for r in mailjet.accepted()}
    assert len(set(ids.values())) == 5
    for contact in contacts:
        d = delivery(contact)
        assert d.esp_message_id == ids[f"mailflow-{d.pk}"]
