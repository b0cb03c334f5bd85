"""Sending when things go wrong: a real HTTP fake of Postmark, anymail's real backend.

Every test counts what the ESP received and accepted, and checks the
deliveries' statuses, attempts and due times. Time moves through ``now=``;
the only real waits are the ESP replies that outlast the 0.5 s request timeout.
"""

import base64
import json
import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import fake_esp
from tests.factories import delivery, join, start
from tests.fake_esp import REQUESTS_TIMEOUT as TIMEOUT
from tests.fake_esp import FakePostmark, HookedPostmarkBackend
from wagtail_mailflow import api
from wagtail_mailflow.engine.claim import claim
from wagtail_mailflow.engine.dispatch import run_due
from wagtail_mailflow.models import Contact, Delivery, Enrollment, SendingPause
from wagtail_mailflow.tokens import unsubscribe_url

pytestmark = pytest.mark.django_db

D = Delivery.Status
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
ONE_CLICK = ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
ESP_LATENCY = 0.3  # a slow answer from a real ESP (longer than WAGTAIL_MAILFLOW_RECHECK_SECONDS)


@pytest.fixture(autouse=True, params=[1, 8], ids=["serial", "concurrency-8"])
def concurrency(request, settings):
    """Every case once with one ESP call at a time, once with up to eight in flight.

    The window of calls in flight starts at one and opens after two answered calls, so
    with eight the first calls of a test are alone and the later ones overlap.
    """
    settings.WAGTAIL_MAILFLOW_SEND_CONCURRENCY = request.param
    return request.param


@pytest.fixture
def esp(settings):
    server = FakePostmark()
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "test",
        "POSTMARK_API_URL": server.url,
        "REQUESTS_TIMEOUT": TIMEOUT,
        "WEBHOOK_SECRET": "user:pass",
    }
    yield server
    server.stop()


@pytest.fixture
def hooked(settings, esp):
    """The Postmark backend with a hook between one ESP call and the next."""
    settings.EMAIL_BACKEND = "tests.fake_esp.HookedPostmarkBackend"
    yield HookedPostmarkBackend
    HookedPostmarkBackend.after_post = None


def addresses(requests):
    return sorted(r.to for r in requests)


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0)


# -- a 429 is retried no earlier than Retry-After --------------------------------------------------


def test_rate_limited_waits_for_retry_after_then_sends_once(esp, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    esp.script(fake_esp.rate_limited(retry_after=120))

    stats = run_due(now=t0)
    assert stats.retried == 1 and stats.sent == 0
    d = delivery(ann)
    assert d.status == D.SCHEDULED and d.attempts == 1
    assert d.due_at >= t0 + timedelta(seconds=120)  # the backoff alone would be 45-75 s
    assert "429" in d.last_error

    assert run_due(now=t0 + timedelta(seconds=119)).sent == 0
    assert len(esp.received()) == 1

    assert run_due(now=d.due_at).sent == 1
    assert run_due(now=d.due_at + timedelta(days=1)).sent == 0
    d.refresh_from_db()
    assert d.status == D.SENT and d.attempts == 2 and d.last_error == ""
    assert len(esp.received()) == 2 and len(esp.accepted()) == 1
    assert d.esp_message_id == esp.accepted()[0].message_id


# -- a 5xx backs off with jitter, then fails with the reason ---------------------------------------


def test_server_errors_back_off_with_jitter_then_fail_with_reason(esp, settings, t0):
    settings.WAGTAIL_MAILFLOW_MAX_ATTEMPTS = 3
    settings.WAGTAIL_MAILFLOW_RETRY_BASE_SECONDS = 60
    workflow = start()
    contacts = join(workflow, "a@example.com", "b@example.com", "c@example.com", now=t0)
    esp.script(*[fake_esp.server_error(503)] * 9)

    now, delays = t0, []
    for attempt in (1, 2):
        stats = run_due(now=now)
        assert stats.retried == 3
        rows = [delivery(c) for c in contacts]
        assert all(d.status == D.SCHEDULED and d.attempts == attempt for d in rows)
        nominal = 60 * 2 ** (attempt - 1)
        waits = [(d.due_at - now).total_seconds() for d in rows]
        assert all(0.75 * nominal <= w <= 1.25 * nominal for w in waits), waits
        assert len(set(waits)) == 3  # jitter: one outage's retries do not come back together
        assert run_due(now=min(d.due_at for d in rows) - timedelta(seconds=1)).batches == 0
        delays.append(waits)
        now = max(d.due_at for d in rows)
    assert min(delays[1]) > max(delays[0])  # exponential

    stats = run_due(now=now)
    assert stats.failed == 3
    for contact in contacts:
        d = delivery(contact)
        assert d.status == D.FAILED and d.attempts == 3
        assert "503" in d.last_error and "Postmark" in d.last_error
    assert run_due(now=now + timedelta(days=30)).batches == 0
    assert len(esp.received()) == 9 and esp.accepted() == []


# -- a refused connection is retried, then sent once -----------------------------------------------


def test_connection_refused_is_retried_then_sent_once(esp, t0):
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    esp.stop()  # nothing listens on the ESP's port

    stats = run_due(now=t0)
    assert stats.retried == 1
    d = delivery(ann)
    assert d.status == D.SCHEDULED and d.attempts == 1 and d.due_at > t0
    assert "refused" in d.last_error.lower() or "NewConnectionError" in d.last_error

    esp.start()  # back, same port
    assert run_due(now=d.due_at).sent == 1
    assert run_due(now=d.due_at + timedelta(hours=1)).sent == 0
    d.refresh_from_db()
    assert d.status == D.SENT and d.attempts == 2
    assert addresses(esp.received()) == ["ann@example.com"]


def test_connection_refused_to_an_unused_port(settings, esp, t0):
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "POSTMARK_API_URL": f"http://127.0.0.1:{fake_esp.unused_port()}/",
    }
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    assert run_due(now=t0).retried == 1
    assert delivery(ann).status == D.SCHEDULED


# -- a timeout after the request left: unknown, never resent, settled by the webhook ---------------


def postmark_delivery_event(received, delivery_pk, at):
    """Postmark's Delivery webhook, as it posts it."""
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": received.message_id,
        "Recipient": received.to,
        "Tag": "mailflow",
        "DeliveredAt": at.isoformat().replace("+00:00", "Z"),
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {"mailflow_delivery": str(delivery_pk)},
    }


def test_timeout_after_sending_is_unknown_never_resent_and_reconciled_by_webhook(esp, client, t0):
    workflow = start(delays=((0, "days"), (2, "days")))
    (ann,) = join(workflow, "ann@example.com", now=t0)
    esp.script(fake_esp.ok(delay=TIMEOUT + 0.4))  # the ESP takes it, answers too late

    stats = run_due(now=t0)
    assert stats.unknown == 1 and stats.retried == 0
    d = delivery(ann)
    assert d.status == D.UNKNOWN and d.attempts == 1
    assert "timed out" in d.last_error.lower() or "timeout" in d.last_error.lower()
    assert len(esp.accepted()) == 1  # it did reach the ESP
    # The contact moves on: the next email counts its delay from this attempt.
    assert delivery(ann, step=1).due_at == t0 + timedelta(days=2)

    for later in (
        timedelta(minutes=10),
        timedelta(days=1),
        timedelta(days=2) - timedelta(seconds=1),
    ):
        assert run_due(now=t0 + later).batches == 0
    assert len(esp.received()) == 1

    received = esp.received()[0]
    auth = "Basic " + base64.b64encode(b"user:pass").decode()
    response = client.post(
        "/anymail/postmark/tracking/",
        json.dumps(postmark_delivery_event(received, d.pk, t0 + timedelta(seconds=3))),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 200
    d.refresh_from_db()
    assert d.status == D.SENT
    assert d.esp_message_id == received.message_id
    assert run_due(now=t0 + timedelta(days=2)).sent == 1  # the second email, once
    assert run_due(now=t0 + timedelta(days=11)).batches == 0
    assert len(esp.received()) == 2
    assert [r.json["Metadata"]["mailflow_delivery"] for r in esp.received()] == [
        str(d.pk),
        str(delivery(ann, step=1).pk),
    ]


# -- in a batch, only the failed message is retried ------------------------------------------------


def test_only_the_failed_message_of_a_batch_is_retried(esp, t0):
    workflow = start()
    contacts = join(workflow, *[f"p{i}@example.com" for i in range(5)], now=t0)
    esp.script(fake_esp.server_error(502), to="p2@example.com")

    stats = run_due(now=t0)
    assert (stats.sent, stats.retried, stats.batches) == (4, 1, 1)
    statuses = {c.email: delivery(c).status for c in contacts}
    assert statuses == {
        **{f"p{i}@example.com": D.SENT for i in (0, 1, 3, 4)},
        "p2@example.com": D.SCHEDULED,
    }
    retry_at = delivery(contacts[2]).due_at

    assert run_due(now=retry_at).sent == 1
    assert run_due(now=retry_at + timedelta(days=1)).batches == 0
    assert all(delivery(c).status == D.SENT for c in contacts)
    for contact in contacts:
        assert len(esp.accepted(contact.email)) == 1
    assert len(esp.received("p2@example.com")) == 2
    assert len(esp.received()) == 6


# -- a refused recipient fails for good and is suppressed; the batch goes on -----------------------


def test_refused_recipients_fail_for_good_are_suppressed_and_the_batch_goes_on(esp, t0):
    workflow = start(delays=((0, "days"), (1, "days")))
    contacts = join(
        workflow,
        "a@example.com",
        "gone@example.com",
        "b@example.com",
        "bad@example.com",
        "c@example.com",
        now=t0,
    )
    esp.script(fake_esp.inactive("gone@example.com"), to="gone@example.com")  # 422 / 406
    esp.script(fake_esp.invalid_to("bad@example.com"), to="bad@example.com")  # 422 / 300

    stats = run_due(now=t0)
    assert stats.sent == 3 and stats.failed == 2 and stats.retried == 0
    for contact in contacts:
        contact.refresh_from_db()
        enrollment = Enrollment.objects.get(contact=contact)
        if contact.email in ("gone@example.com", "bad@example.com"):
            d = delivery(contact)
            assert d.status == D.FAILED and d.attempts == 1
            assert "AnymailRecipientsRefused" in d.last_error
            assert contact.suppressed_at is not None
            assert contact.suppression_reason == Contact.SuppressionReason.REJECTED
            assert enrollment.status == Enrollment.Status.EXITED
            assert not Delivery.objects.filter(contact=contact, step__sort_order=1).exists()
        else:
            assert delivery(contact).status == D.SENT and contact.suppressed_at is None
            assert enrollment.status == Enrollment.Status.ACTIVE
            assert delivery(contact, step=1).status == D.SCHEDULED

    run_due(now=t0 + timedelta(days=2))  # the second emails: to the three good addresses only
    assert addresses(esp.accepted()) == sorted(
        ["a@example.com", "b@example.com", "c@example.com"] * 2
    )
    assert len(esp.received("gone@example.com")) == 1 and len(esp.received("bad@example.com")) == 1


# -- an account-level error pauses sending without using up attempts -------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        fake_esp.bad_token(),  # 401, ErrorCode 10
        fake_esp.error(403, 0, "Forbidden"),
        fake_esp.error(422, 405, "Not allowed to send: you have run out of credits."),
        fake_esp.error(422, 412, "Your account is pending approval."),
        fake_esp.error(422, 413, "This account may not send."),
    ],
    ids=["401", "403", "postmark-405-quota", "postmark-412-pending", "postmark-413-may-not-send"],
)
def test_account_errors_pause_sending_without_burning_attempts(esp, settings, t0, reply):
    settings.WAGTAIL_MAILFLOW_PAUSE_SECONDS = 900
    workflow = start()
    contacts = join(workflow, "a@example.com", "b@example.com", "c@example.com", now=t0)
    Delivery.objects.filter(contact=contacts[1]).update(attempts=2)  # an earlier transient failure
    esp.script(reply)

    stats = run_due(now=t0)
    assert stats.paused and stats.sent == 0 and stats.failed == 0
    assert len(esp.received()) == 1  # the rest of the batch was not attempted
    assert [delivery(c).attempts for c in contacts] == [0, 2, 0]
    assert all(delivery(c).status == D.SCHEDULED for c in contacts)
    assert all(delivery(c).due_at == t0 for c in contacts)
    pause = SendingPause.objects.get()
    assert pause.until == t0 + timedelta(seconds=900)

    assert run_due(now=t0 + timedelta(seconds=899)).paused
    assert len(esp.received()) == 1

    stats = run_due(now=pause.until + timedelta(seconds=1))
    assert stats.sent == 3 and not stats.paused
    assert [delivery(c).attempts for c in contacts] == [1, 3, 1]
    assert addresses(esp.accepted()) == ["a@example.com", "b@example.com", "c@example.com"]
    assert len(esp.received()) == 4


# -- a worker killed after claiming: sent once after the lease, or unknown if the call had left ----


def test_claim_abandoned_before_the_esp_call_is_sent_once_after_the_lease(esp, settings, t0):
    settings.WAGTAIL_MAILFLOW_LEASE_SECONDS = 300
    workflow = start()
    ann, bob = join(workflow, "ann@example.com", "bob@example.com", now=t0)
    _token, count = claim(t0, 10)  # the worker dies right after this
    assert count == 2

    assert run_due(now=t0 + timedelta(seconds=299)).batches == 0  # the lease still holds
    assert esp.received() == []

    stats = run_due(now=t0 + timedelta(seconds=301))
    assert stats.released == 2 and stats.sent == 2
    assert run_due(now=t0 + timedelta(days=1)).batches == 0
    for contact in (ann, bob):
        d = delivery(contact)
        assert d.status == D.SENT and d.attempts == 1 and d.claim_token == ""
        assert len(esp.accepted(contact.email)) == 1
    assert len(esp.received()) == 2


def test_worker_dead_during_the_esp_call_leaves_it_unknown_not_resent(esp, settings, t0):
    settings.WAGTAIL_MAILFLOW_LEASE_SECONDS = 300
    workflow = start()
    (ann,) = join(workflow, "ann@example.com", now=t0)
    token, _count = claim(t0, 10)
    # What the worker does just before the ESP call; it dies during that call.
    Delivery.objects.filter(claim_token=token).update(status=D.SENDING, attempts=F("attempts") + 1)

    assert run_due(now=t0 + timedelta(seconds=299)).batches == 0
    stats = run_due(now=t0 + timedelta(seconds=301))
    assert stats.released == 1 and stats.sent == 0
    d = delivery(ann)
    assert d.status == D.UNKNOWN and d.attempts == 1 and "ESP" in d.last_error
    assert run_due(now=t0 + timedelta(days=5)).batches == 0
    assert esp.received() == []


# -- workers down for days: the backlog waits for the sending period and goes once -----------------


def paris(*args):
    return datetime(*args, tzinfo=PARIS)


def test_backlog_after_days_down_waits_for_the_sending_period_and_goes_once(esp):
    workflow = start(
        timezone="Europe/Paris",
        sending_days=[0, 1, 2, 3, 4],
        sending_start=time(9),
        sending_end=time(17),
    )
    # Monday 4 to Friday 8 January 2027: people join; nobody is sending.
    entries = [
        paris(2027, 1, 4, 10, 0),
        paris(2027, 1, 5, 11, 30),
        paris(2027, 1, 6, 20, 0),  # after hours: due Thursday 09:00
        paris(2027, 1, 7, 12, 0),
        paris(2027, 1, 8, 16, 59),
        paris(2027, 1, 9, 10, 0),  # Saturday: due Monday 09:00
    ]
    contacts = [join(workflow, f"t{i}@example.com", now=at)[0] for i, at in enumerate(entries)]
    monday = paris(2027, 1, 11, 9, 0)

    # The workers come back on Saturday night, then on Sunday: the period is closed.
    for at in (paris(2027, 1, 9, 3, 0), paris(2027, 1, 10, 12, 0), paris(2027, 1, 11, 8, 59, 59)):
        assert run_due(now=at).sent == 0
    assert esp.received() == []
    for contact in contacts:
        d = delivery(contact)
        assert d.status == D.SCHEDULED and d.attempts == 0 and d.due_at <= monday

    stats = run_due(now=monday)
    assert stats.sent == 6
    for later in (monday + timedelta(minutes=1), monday + timedelta(days=3)):
        assert run_due(now=later).batches == 0
    assert addresses(esp.accepted()) == sorted(c.email for c in contacts)
    assert len(esp.received()) == 6
    assert all(delivery(c).sent_at == monday for c in contacts)


def test_retry_falling_outside_the_period_waits_for_the_opening(esp, settings):
    settings.WAGTAIL_MAILFLOW_RETRY_BASE_SECONDS = 600
    workflow = start(
        timezone="Europe/Paris",
        sending_days=[0, 1, 2, 3, 4],
        sending_start=time(9),
        sending_end=time(17),
    )
    friday = paris(2027, 1, 8, 16, 55)
    (ann,) = join(workflow, "ann@example.com", now=friday)
    esp.script(fake_esp.server_error(503))
    assert run_due(now=friday).retried == 1
    retry_at = delivery(ann).due_at  # around 17:05, after hours
    assert run_due(now=retry_at).sent == 0
    assert run_due(now=paris(2027, 1, 11, 9, 0)).sent == 1
    assert len(esp.received()) == 2 and len(esp.accepted()) == 1


# -- a clock that jumps back resends nothing -------------------------------------------------------


def test_clock_jumping_back_resends_nothing(esp, t0):
    workflow = start(delays=((0, "days"), (2, "days")))
    ann, bob = join(workflow, "ann@example.com", "bob@example.com", now=t0)
    esp.script(fake_esp.server_error(500), to="bob@example.com")
    assert run_due(now=t0).sent == 1
    bob_retry = delivery(bob).due_at

    for earlier in (timedelta(seconds=1), timedelta(hours=1), timedelta(days=3)):
        assert run_due(now=t0 - earlier).batches == 0
    assert run_due(now=bob_retry).sent == 1
    for earlier in (timedelta(minutes=5), timedelta(days=1)):
        assert run_due(now=bob_retry - earlier).batches == 0
    assert len(esp.received()) == 3
    assert addresses(esp.accepted()) == ["ann@example.com", "bob@example.com"]
    assert delivery(ann, step=1).status == D.SCHEDULED


# -- a due time in a DST gap moves forward; a repeated hour means its first occurrence -------------


@pytest.mark.parametrize(
    "first_send, expected_due_utc, not_before_utc, also_local_utc",
    [
        # 28 March 2027: 02:00 → 03:00 in Paris. 02:30 does not exist: it moves forward by
        # the gap, to 03:30 CEST = 01:30 UTC.
        (
            datetime(2027, 3, 27, 1, 30, tzinfo=UTC),  # 02:30 CET on the 27th
            datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
            datetime(2027, 3, 28, 1, 29, 59, tzinfo=UTC),
            None,
        ),
        # 31 October 2027: 03:00 → 02:00 in Paris. 02:30 happens twice: the first one,
        # 02:30 CEST = 00:30 UTC (the second is 01:30 UTC).
        (
            datetime(2027, 10, 30, 0, 30, tzinfo=UTC),  # 02:30 CEST on the 30th
            datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
            datetime(2027, 10, 31, 0, 29, 59, tzinfo=UTC),
            datetime(2027, 10, 31, 1, 30, tzinfo=UTC),
        ),
    ],
    ids=["t3-gap", "t4-repeated-hour"],
)
def test_calendar_delay_into_a_dst_change(
    esp, first_send, expected_due_utc, not_before_utc, also_local_utc
):
    workflow = start(delays=((0, "days"), (1, "days")), timezone="Europe/Paris")
    (ann,) = join(workflow, "ann@example.com", now=first_send)
    assert run_due(now=first_send).sent == 1
    second = delivery(ann, step=1)
    assert second.due_at == expected_due_utc
    assert second.due_at.astimezone(PARIS).strftime("%H:%M") in ("03:30", "02:30")

    assert run_due(now=not_before_utc).sent == 0
    assert run_due(now=expected_due_utc).sent == 1
    if also_local_utc:  # the second 02:30 sends nothing more
        assert run_due(now=also_local_utc).batches == 0
    assert run_due(now=expected_due_utc + timedelta(days=1)).batches == 0
    assert len(esp.received()) == 2 and len(esp.accepted("ann@example.com")) == 2
    assert delivery(ann, step=1).sent_at == expected_due_utc


# -- the sending period on 23 h / 25 h days and with an odd UTC offset -----------------------------


@pytest.mark.parametrize(
    "tz, opens, closes, opens_next",
    [
        # 23-hour day in Paris: 09:00 CEST = 07:00 UTC, 17:00 CEST = 15:00 UTC.
        (
            "Europe/Paris",
            datetime(2027, 3, 28, 7, 0, tzinfo=UTC),
            datetime(2027, 3, 28, 15, 0, tzinfo=UTC),
            datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
        ),
        # 25-hour day in Paris (CEST until 03:00): 09:00 CET = 08:00 UTC, 17:00 CET = 16:00 UTC.
        (
            "Europe/Paris",
            datetime(2027, 10, 31, 8, 0, tzinfo=UTC),
            datetime(2027, 10, 31, 16, 0, tzinfo=UTC),
            datetime(2027, 11, 1, 8, 0, tzinfo=UTC),
        ),
        # Kathmandu, UTC+05:45: 09:00 = 03:15 UTC, 17:00 = 11:15 UTC.
        (
            "Asia/Kathmandu",
            datetime(2027, 3, 28, 3, 15, tzinfo=UTC),
            datetime(2027, 3, 28, 11, 15, tzinfo=UTC),
            datetime(2027, 3, 29, 3, 15, tzinfo=UTC),
        ),
    ],
    ids=["paris-23h", "paris-25h", "kathmandu"],
)
def test_sending_period_edges_through_the_engine(esp, tz, opens, closes, opens_next):
    workflow = start(timezone=tz, sending_start=time(9), sending_end=time(17))
    (early,) = join(workflow, "early@example.com", now=opens - timedelta(minutes=30))
    (late,) = join(workflow, "late@example.com", now=closes - timedelta(minutes=1))
    assert delivery(early).due_at == opens
    assert delivery(late).due_at == closes - timedelta(minutes=1)

    assert run_due(now=opens - timedelta(seconds=1)).batches == 0
    assert run_due(now=opens).sent == 1
    assert delivery(early).sent_at == opens
    # The workers miss the last minute: at closing time the period is shut.
    assert run_due(now=closes).sent == 0
    assert run_due(now=opens_next - timedelta(seconds=1)).sent == 0
    assert delivery(late).status == D.SCHEDULED and delivery(late).due_at == opens_next
    assert run_due(now=opens_next).sent == 1
    assert addresses(esp.accepted()) == ["early@example.com", "late@example.com"]
    assert len(esp.received()) == 2


# -- an unsubscribe or suppression during a batch stops the rest of that batch ---------------------


def test_unsubscribe_during_a_batch_stops_the_rest_of_that_batch(hooked, esp, t0):
    workflow = start()
    ann, bob, cat = join(workflow, "ann@example.com", "bob@example.com", "cat@example.com", now=t0)
    unsubscribed = []

    def bob_unsubscribes(message):
        if not unsubscribed:  # while the batch is at the ESP, Bob clicks "unsubscribe"
            unsubscribed.append(api.unsubscribe(bob, workflow.contact_list, source="link"))

    hooked.after_post = bob_unsubscribes
    esp.script(fake_esp.ok(delay=ESP_LATENCY))
    stats = run_due(now=t0)
    assert unsubscribed and unsubscribed[0].memberships == 1
    assert stats.sent == 2 and stats.suppressed == 1 and stats.batches == 1
    assert esp.received("bob@example.com") == []
    assert addresses(esp.accepted()) == ["ann@example.com", "cat@example.com"]
    d = delivery(bob)
    assert d.status == D.SUPPRESSED and d.attempts == 0 and "unsubscribed" in d.last_error
    assert Enrollment.objects.get(contact=bob).status == Enrollment.Status.EXITED
    assert run_due(now=t0 + timedelta(days=1)).batches == 0
    assert len(esp.received()) == 2


def test_suppression_during_a_batch_also_stops_it(hooked, esp, t0):
    from wagtail_mailflow.engine.exits import suppress

    workflow = start()
    contacts = join(workflow, *[f"s{i}@example.com" for i in range(4)], now=t0)
    suppressed = []

    def suppress_once(message):  # the hook runs after every call; the contact is suppressed once
        if not suppressed:
            suppressed.append(suppress(contacts[3], Contact.SuppressionReason.COMPLAINT))

    hooked.after_post = suppress_once
    esp.script(fake_esp.ok(delay=ESP_LATENCY))
    stats = run_due(now=t0)
    assert stats.sent == 3 and stats.suppressed == 1
    assert esp.received("s3@example.com") == []


def test_recheck_costs_no_query_while_the_esp_answers_fast(settings, t0):
    """Through a local backend a whole batch goes out without re-checking: constant queries."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.WAGTAIL_MAILFLOW_HANDOVER_SECONDS = 3600  # one hand-over group per batch
    # Django 6 builds each message with Python's slower email API: 30 of them can take longer
    # than the default 0.25 s on a loaded machine, and the timer would then re-check.
    settings.WAGTAIL_MAILFLOW_RECHECK_SECONDS = 5
    workflow = start()
    join(workflow, "warm@example.com", now=t0 - timedelta(hours=1))
    join(workflow, *[f"q{i}@example.com" for i in range(3)], now=t0)
    join(workflow, *[f"r{i}@example.com" for i in range(30)], now=t0 + timedelta(hours=1))
    assert run_due(now=t0 - timedelta(hours=1)).sent == 1  # compiles the template once
    counts = []
    for at, sent in ((t0, 3), (t0 + timedelta(hours=1), 30)):
        with CaptureQueriesContext(connection) as captured:
            assert run_due(now=at).sent == sent
        counts.append(len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]))
    assert counts[0] == counts[1]


# -- every message has its own one-click List-Unsubscribe and metadata -----------------------------


def test_every_message_has_its_own_one_click_unsubscribe_headers_and_metadata(esp, t0):
    workflow = start()
    contacts = join(workflow, "ann@example.com", "bob@example.com", now=t0)
    assert run_due(now=t0).sent == 2

    urls = set()
    for contact in contacts:
        (received,) = esp.received(contact.email)
        headers = received.message_headers
        url = unsubscribe_url(contact.pk, workflow.contact_list_id)
        assert url.startswith("https://")
        assert headers["List-Unsubscribe"] == f"<{url}>"
        assert (ONE_CLICK[0], headers[ONE_CLICK[0]]) == ONE_CLICK
        urls.add(url)
        d = delivery(contact)
        assert received.json["Metadata"] == {
            "mailflow_delivery": str(d.pk),
            "mailflow_workflow": str(workflow.pk),
        }
        assert received.json["To"] == contact.email
        assert received.headers["X-Postmark-Server-Token"] == "test"
        assert d.esp_message_id == received.message_id
    assert len(urls) == 2
