"""Tracking webhooks through anymail's real views, with the ESPs' own payloads."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from tests.factories import make_world, statuses
from wagtail_mailflow.models import Contact, Delivery, DeliveryEvent, Enrollment, ListMembership

pytestmark = pytest.mark.django_db

S = Delivery.Status

MAILJET = "/anymail/mailjet/tracking/"
POSTMARK = "/anymail/postmark/tracking/"
NOW = int(time.time())


def basic(credentials):
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}


@pytest.fixture
def world():
    """Ann with deliveries sent (msg-0, msg-1, msg-2), one in the ESP's hands, one scheduled."""
    world = make_world()
    for key, number in ((S.SCHEDULED, 1), (S.CLAIMED, 2)):
        Delivery.objects.filter(pk=world.deliveries[key].pk).update(
            status=S.SENT, esp_message_id=f"{1942177783514649 * 10 + number}", claim_token=""
        )
    Delivery.objects.filter(pk=world.deliveries[S.SENT].pk).update(
        esp_message_id="19421777835146490"
    )
    for delivery in world.deliveries.values():
        delivery.refresh_from_db()
    return world


def post(client, url, payload, auth="user:pass"):
    headers = {"HTTP_AUTHORIZATION": basic(auth)} if auth else {}
    return client.post(url, json.dumps(payload), content_type="application/json", **headers)


def mailjet_event(event, delivery=None, message_id=19421777835146490, at=NOW, **fields):
    """One Mailjet event object as Mailjet posts it (grouped events: a list of these)."""
    payload = {
        "event": event,
        "time": at,
        "MessageID": message_id,
        "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
        "email": "ann@example.com",
        "mj_campaign_id": 7257,
        "mj_contact_id": 4,
        "customcampaign": "",
        "mj_message_id": str(message_id),
        "smtp_reply": "",
        "CustomID": "",
        "Payload": json.dumps({"mailflow_delivery": str(delivery.pk)}) if delivery else "",
    }
    payload.update(fields)
    return payload


def postmark_event(record_type, message_id, delivery=None, **fields):
    payload = {
        "RecordType": record_type,
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Tag": "mailflow",
        "Metadata": {"mailflow_delivery": str(delivery.pk)} if delivery else {},
    }
    payload.update(fields)
    return payload


def events(**filters):
    return DeliveryEvent.objects.filter(**filters)


def contact_of(world):
    return Contact.objects.get(pk=world.contact.pk)


# -- recording ----------------------------------------------------------------


def test_mailjet_open_is_recorded_linked_and_counts_as_engagement(client, world):
    sent = world.deliveries[S.SENT]
    response = post(client, MAILJET, [mailjet_event("open", sent, ip="127.0.0.1", agent="Mozilla")])
    assert response.status_code == 200
    event = DeliveryEvent.objects.get()
    assert (event.delivery_id, event.event_type, event.esp) == (sent.pk, "opened", "mailjet")
    assert event.message_id == "19421777835146490"
    assert event.timestamp == datetime.fromtimestamp(NOW, tz=UTC)
    assert contact_of(world).last_engaged_at == event.timestamp


def test_same_webhook_twice_is_recorded_once(client, world):
    sent = world.deliveries[S.SENT]
    batch = [
        mailjet_event("sent", sent, smtp_reply="250 OK"),
        mailjet_event("open", sent, at=NOW + 60),
        mailjet_event("click", sent, at=NOW + 90, url="https://example.com/a"),
        mailjet_event("click", sent, at=NOW + 90, url="https://example.com/b"),
    ]
    for _ in range(3):  # Mailjet retries every 30 s for 24 h until it gets a 200
        assert post(client, MAILJET, batch).status_code == 200
    assert events().count() == 4
    assert sorted(events().values_list("event_type", flat=True)) == [
        "clicked",
        "clicked",
        "delivered",
        "opened",
    ]
    assert set(events(event_type="clicked").values_list("url", flat=True)) == {
        "https://example.com/a",
        "https://example.com/b",
    }


def test_postmark_events_with_ids_are_deduplicated_by_id(client, world):
    sent = world.deliveries[S.SENT]
    bounce = postmark_event(
        "Bounce",
        sent.esp_message_id,
        sent,
        ID=4323372036854775807,
        Type="Transient",
        TypeCode=2,
        Email="ann@example.com",
        BouncedAt="2026-01-05T16:34:52Z",
        Description="The server could not temporarily deliver your message.",
    )
    assert post(client, POSTMARK, bounce).status_code == 200
    assert post(client, POSTMARK, bounce).status_code == 200
    event = events().get()
    assert (event.event_id, event.event_type) == ("4323372036854775807", "deferred")
    assert "temporarily" in event.description


@pytest.mark.parametrize("url", [MAILJET, POSTMARK])
@pytest.mark.parametrize("auth", [None, "user:wrong", "someone:pass"])
def test_webhook_without_or_with_wrong_auth_is_refused(client, world, url, auth):
    sent = world.deliveries[S.SENT]
    payload = (
        [mailjet_event("spam", sent)]
        if url == MAILJET
        else postmark_event("SpamComplaint", sent.esp_message_id, sent, Type="SpamComplaint")
    )
    assert post(client, url, payload, auth=auth).status_code == 400
    assert not events().exists()
    assert contact_of(world).suppressed_at is None


def test_unknown_event_type_and_unknown_message_do_not_crash(client, world):
    response = post(
        client,
        MAILJET,
        [
            mailjet_event("newfangled", message_id=1),
            mailjet_event("open", message_id=99999999, email="stranger@example.org"),
        ],
    )
    assert response.status_code == 200
    other = events().get(message_id="1")
    assert (other.event_type, other.delivery) == ("other", None)
    assert other.description.startswith("unknown")
    stray = events().get(message_id="99999999")
    assert (stray.event_type, stray.delivery) == ("opened", None)
    # Postmark events anymail cannot classify either.
    assert (
        post(client, POSTMARK, {"RecordType": "SomethingNew", "MessageID": "x"}).status_code == 200
    )
    assert events(esp="postmark", event_type="other").count() == 1


def test_receiver_survives_odd_events_sent_directly():
    from anymail.signals import AnymailTrackingEvent
    from anymail.signals import tracking as signal

    odd = AnymailTrackingEvent(event_type=None, timestamp=None, esp_event=None, metadata=None)
    signal.send(sender=object, event=odd, esp_name="Acme")
    signal.send(sender=object, event=odd, esp_name="Acme")
    naive = AnymailTrackingEvent(
        event_type="opened",
        timestamp=datetime(2026, 1, 1, 12, 0),
        message_id="m" * 400,
        metadata={"mailflow_delivery": "not-a-number"},
    )
    signal.send(sender=object, event=naive, esp_name="Acme")
    assert DeliveryEvent.objects.filter(esp="acme").count() == 2
    assert all(len(e.event_id) <= 255 for e in DeliveryEvent.objects.all())


def test_lookup_by_message_id_when_metadata_is_missing(client, world):
    sent = world.deliveries[S.CLAIMED]  # now sent, message id ...492
    payload = postmark_event(
        "Open",
        sent.esp_message_id,
        Recipient="ann@example.com",
        ReceivedAt="2026-01-05T16:34:52Z",
        FirstOpen=True,
    )
    payload.pop("Metadata")
    assert post(client, POSTMARK, payload).status_code == 200
    assert events().get().delivery_id == sent.pk


def test_metadata_of_another_site_is_not_trusted(client, world):
    """Two sites on one ESP account both send ``mailflow_delivery``: the message id decides."""
    sent = world.deliveries[S.SENT]
    post(client, MAILJET, [mailjet_event("open", sent, message_id=5550001)])
    event = events().get()
    assert event.delivery is None
    assert contact_of(world).last_engaged_at is None


def test_events_cost_a_constant_number_of_queries(client, world, django_assert_max_num_queries):
    sent = world.deliveries[S.SENT]
    with django_assert_max_num_queries(12):
        post(client, MAILJET, [mailjet_event("open", sent)])
    with django_assert_max_num_queries(12):
        post(client, MAILJET, [mailjet_event("open", sent)])  # duplicate


# -- effects --------------------------------------------------------------------


def assert_suppressed(world, reason):
    contact = contact_of(world)
    assert contact.suppressed_at is not None
    assert contact.suppression_reason == reason
    assert set(Enrollment.objects.filter(contact=contact).values_list("status", "exit_reason")) == {
        ("exited", "suppressed")
    }
    assert statuses(world)["other"] == S.SUPPRESSED  # pending deliveries everywhere
    assert statuses(world)[S.SENDING] == S.SENDING  # already in the ESP's hands
    # Suppression is not an unsubscribe: the memberships stay.
    assert ListMembership.objects.filter(contact=contact, left_at__isnull=True).count() == 2


def test_mailjet_hard_bounce_suppresses(client, world):
    sent = world.deliveries[S.SENT]
    bounce = mailjet_event(
        "bounce",
        sent,
        blocked=False,
        hard_bounce=True,
        error_related_to="recipient",
        error="user unknown",
    )
    assert post(client, MAILJET, [bounce]).status_code == 200
    assert events().get().event_type == "bounced"
    assert_suppressed(world, "bounced")


def test_mailjet_spam_complaint_suppresses(client, world):
    spam = mailjet_event("spam", world.deliveries[S.SENT], source="JMRPP")
    assert post(client, MAILJET, [spam]).status_code == 200
    assert_suppressed(world, "complained")


def test_postmark_hard_bounce_and_complaint_suppress(client, world):
    sent = world.deliveries[S.SENT]
    bounce = postmark_event(
        "Bounce",
        sent.esp_message_id,
        sent,
        ID=1,
        Type="HardBounce",
        TypeCode=1,
        Name="Hard bounce",
        Email="ann@example.com",
        BouncedAt="2026-01-05T16:34:52Z",
        Description="The server was unable to deliver your message (ex: unknown user).",
        Inactive=True,
    )
    assert post(client, POSTMARK, bounce).status_code == 200
    assert_suppressed(world, "bounced")

    bob = make_world(email="bob@example.com")
    complaint = postmark_event(
        "SpamComplaint",
        "bob-message",
        bob.deliveries[S.SENT],
        ID=2,
        Type="SpamComplaint",
        TypeCode=512,
        Email="bob@example.com",
        BouncedAt="2026-01-05T16:34:52Z",
    )
    Delivery.objects.filter(pk=bob.deliveries[S.SENT].pk).update(esp_message_id="bob-message")
    assert post(client, POSTMARK, complaint).status_code == 200
    assert contact_of(bob).suppression_reason == "complained"


def soft_bounce(delivery, at):
    return mailjet_event(
        "bounce",
        delivery,
        message_id=int(delivery.esp_message_id),
        at=at,
        blocked=False,
        hard_bounce=False,
        error_related_to="recipient",
        error="quota exceeded",
    )


def test_three_soft_bounces_on_three_emails_suppress(client, world):
    sent = [world.deliveries[k] for k in (S.SENT, S.SCHEDULED)]
    third = world.deliveries[S.CLAIMED]
    # The same email bouncing softly again and again is one soft bounce.
    post(client, MAILJET, [soft_bounce(sent[0], NOW - 300), soft_bounce(sent[0], NOW - 200)])
    post(client, MAILJET, [soft_bounce(sent[1], NOW - 100)])
    assert contact_of(world).suppressed_at is None
    post(client, MAILJET, [soft_bounce(third, NOW)])
    assert_suppressed(world, "soft_bounced")


def test_soft_bounces_outside_the_window_or_then_delivered_do_not_count(client, world):
    first, second, third = (world.deliveries[k] for k in (S.SENT, S.SCHEDULED, S.CLAIMED))
    post(client, MAILJET, [soft_bounce(first, NOW - 40 * 86400)])  # too old
    greylisted = mailjet_event(
        "bounce",
        second,
        message_id=int(second.esp_message_id),
        at=NOW - 50,
        error="greylisted",
        hard_bounce=False,
    )
    delivered = mailjet_event("sent", second, message_id=int(second.esp_message_id), at=NOW - 40)
    post(client, MAILJET, [greylisted, delivered])
    assert events(event_type="deferred").count() == 1
    post(client, MAILJET, [soft_bounce(third, NOW)])
    assert contact_of(world).suppressed_at is None
    with override_settings(WAGTAIL_MAILFLOW_SOFT_BOUNCE_LIMIT=1):
        post(client, MAILJET, [soft_bounce(third, NOW + 1)])
    assert contact_of(world).suppressed_at is not None


def test_postmark_soft_bounces_are_soft(client, world):
    sent = world.deliveries[S.SENT]
    payload = postmark_event(
        "Bounce",
        sent.esp_message_id,
        sent,
        ID=7,
        Type="SoftBounce",
        Email="ann@example.com",
        BouncedAt="2026-01-05T16:34:52Z",
    )
    post(client, POSTMARK, payload)
    assert events().get().event_type == "bounced"
    assert contact_of(world).suppressed_at is None


def test_rejected_invalid_address_suppresses_other_rejections_do_not(client, world):
    sent = world.deliveries[S.SENT]
    post(client, MAILJET, [mailjet_event("blocked", sent, error="duplicate in campaign")])
    assert events().get().event_type == "rejected"
    assert contact_of(world).suppressed_at is None
    post(client, MAILJET, [mailjet_event("blocked", sent, at=NOW + 1, error="user unknown")])
    assert_suppressed(world, "rejected")


def test_esp_unsubscribe_unsubscribes_everywhere(client, world):
    post(client, MAILJET, [mailjet_event("unsub", world.deliveries[S.SENT], mj_list_id=1)])
    contact = contact_of(world)
    assert contact.unsubscribed_at is not None
    assert not ListMembership.objects.filter(contact=contact, left_at__isnull=True).exists()
    assert not Enrollment.objects.filter(contact=contact, status="active").exists()
    assert statuses(world)["other"] == S.SUPPRESSED


def test_bounce_for_an_unknown_message_still_suppresses_the_address(client, world):
    post(
        client,
        MAILJET,
        [mailjet_event("spam", message_id=123, email="ANN@example.com")],
    )
    assert events().get().delivery is None
    assert contact_of(world).suppression_reason == "complained"


def test_opens_never_move_engagement_backwards(client, world):
    sent = world.deliveries[S.SENT]
    post(client, MAILJET, [mailjet_event("click", sent, url="https://example.com")])
    post(client, MAILJET, [mailjet_event("open", sent, at=NOW - 3600)])
    assert contact_of(world).last_engaged_at == datetime.fromtimestamp(NOW, tz=UTC)


# -- reconciliation of ambiguous sends ------------------------------------------


def make_unknown(world, key=S.SENDING):
    delivery = world.deliveries[key]
    Delivery.objects.filter(pk=delivery.pk).update(
        status=S.UNKNOWN, esp_message_id="", claim_token="", claimed_until=None, sent_at=None
    )
    return delivery


def test_delivered_event_settles_an_unknown_delivery_as_sent(client, world):
    delivery = make_unknown(world)
    post(client, MAILJET, [mailjet_event("sent", delivery, message_id=777)])
    delivery.refresh_from_db()
    assert delivery.status == S.SENT
    assert delivery.esp_message_id == "777"
    assert delivery.sent_at == datetime.fromtimestamp(NOW, tz=UTC)
    assert events().get().delivery_id == delivery.pk


def test_open_also_settles_an_unknown_delivery(client, world):
    delivery = make_unknown(world)
    post(
        client,
        POSTMARK,
        postmark_event(
            "Open", "pm-1", delivery, Recipient="ann@example.com", ReceivedAt="2026-01-05T16:34:52Z"
        ),
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.esp_message_id) == (S.SENT, "pm-1")


def test_rejection_settles_an_unknown_delivery_as_failed(client, world):
    delivery = make_unknown(world)
    post(client, MAILJET, [mailjet_event("blocked", delivery, message_id=778, error="preblocked")])
    delivery.refresh_from_db()
    assert delivery.status == S.FAILED
    assert "refused" in delivery.last_error


def test_events_do_not_touch_deliveries_in_other_states(client, world):
    sending = world.deliveries[S.SENDING]
    Delivery.objects.filter(pk=sending.pk).update(esp_message_id="888")
    post(client, MAILJET, [mailjet_event("sent", sending, message_id=888)])
    assert statuses(world)[S.SENDING] == S.SENDING  # the worker records its own outcome


# -- first-event times on the delivery (the statistics count them) -------------------


def first_times(delivery):
    delivery.refresh_from_db()
    return {
        name: getattr(delivery, name)
        for name in ("delivered_at", "opened_at", "clicked_at", "bounced_at", "unsubscribed_at")
    }


def test_first_event_of_each_type_is_kept_on_the_delivery(client, world):
    sent = world.deliveries[S.SENT]
    post(
        client,
        MAILJET,
        [
            mailjet_event("sent", sent),
            mailjet_event("open", sent, at=NOW + 60),
            mailjet_event("click", sent, at=NOW + 90, url="https://example.com/a"),
        ],
    )
    assert first_times(sent) == {
        "delivered_at": datetime.fromtimestamp(NOW, tz=UTC),
        "opened_at": datetime.fromtimestamp(NOW + 60, tz=UTC),
        "clicked_at": datetime.fromtimestamp(NOW + 90, tz=UTC),
        "bounced_at": None,
        "unsubscribed_at": None,
    }
    other = world.deliveries[S.SCHEDULED]  # sent too (see the fixture): untouched
    assert set(first_times(other).values()) == {None}


def test_a_later_open_does_not_move_the_first_open(client, world):
    sent = world.deliveries[S.SENT]
    post(client, MAILJET, [mailjet_event("open", sent, at=NOW)])
    post(client, MAILJET, [mailjet_event("open", sent, at=NOW + 3600)])
    assert events(event_type="opened").count() == 2
    sent.refresh_from_db()
    assert sent.opened_at == datetime.fromtimestamp(NOW, tz=UTC)


def test_an_earlier_open_reported_late_becomes_the_first(client, world):
    sent = world.deliveries[S.SENT]
    post(client, MAILJET, [mailjet_event("open", sent, at=NOW)])
    post(client, MAILJET, [mailjet_event("open", sent, at=NOW - 3600)])
    sent.refresh_from_db()
    assert sent.opened_at == datetime.fromtimestamp(NOW - 3600, tz=UTC)


def test_a_duplicate_webhook_does_not_touch_the_first_event_time(client, world):
    sent = world.deliveries[S.SENT]
    opened = [mailjet_event("open", sent, at=NOW)]
    post(client, MAILJET, opened)
    # Were the retry applied again, it would move this back to NOW.
    later = datetime.fromtimestamp(NOW + 600, tz=UTC)
    Delivery.objects.filter(pk=sent.pk).update(opened_at=later)
    assert post(client, MAILJET, opened).status_code == 200
    assert events().count() == 1
    sent.refresh_from_db()
    assert sent.opened_at == later


def test_events_the_statistics_do_not_count_set_no_time(client, world):
    sent = world.deliveries[S.SENT]
    post(client, MAILJET, [mailjet_event("queued", sent, smtp_reply="451 greylisted")])
    assert events().get().event_type == "other"
    assert set(first_times(sent).values()) == {None}


def test_first_event_times_survive_erasure(client, world):
    from wagtail_mailflow.privacy import erase_contact

    sent = world.deliveries[S.SENT]
    post(client, MAILJET, [mailjet_event("open", sent, at=NOW)])
    erase_contact(world.contact)
    sent.refresh_from_db()
    assert sent.contact_id is None
    assert sent.opened_at == datetime.fromtimestamp(NOW, tz=UTC)
