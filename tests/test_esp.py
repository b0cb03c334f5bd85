"""Every ESP's quirks (``sending.esp``), from each ESP's documented answers and payloads.

Send errors go through anymail's real SendGrid, Mailgun and Brevo backends to a scripted
HTTP ESP (Mailjet and Postmark have their own fakes: tests/engine/); tracking payloads are
posted through anymail's real webhook views. Amazon SES's client (boto3) is not installed
here: its documented error answers and notifications are read directly.
"""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection

from tests.fake_http_esp import ScriptedESP
from wagtail_mailflow.models import Contact, DeliveryEvent
from wagtail_mailflow.sending import esp
from wagtail_mailflow.sending.batch import Kind, send_batch
from wagtail_mailflow.sending.esp import Refusal

BACKENDS = {
    "sendgrid": ("anymail.backends.sendgrid.EmailBackend", {"SENDGRID_API_KEY": "k"}, "SENDGRID"),
    "mailgun": ("anymail.backends.mailgun.EmailBackend", {"MAILGUN_API_KEY": "k"}, "MAILGUN"),
    "brevo": ("anymail.backends.brevo.EmailBackend", {"BREVO_API_KEY": "k"}, "BREVO"),
}


@pytest.fixture
def scripted():
    server = ScriptedESP()
    yield server
    server.stop()


def send_through(settings, scripted, name, status, body):
    backend, keys, prefix = BACKENDS[name]
    settings.ANYMAIL = {**keys, f"{prefix}_API_URL": scripted.url, "REQUESTS_TIMEOUT": 2}
    scripted.script(status, body)
    message = EmailMultiAlternatives(
        "Hello", "Hi", "news@example.com", ["ann@example.com"], connection=None
    )
    (outcome,) = send_batch([message], connection=get_connection(backend))
    assert len(scripted.paths) == 1
    return outcome


# -- send errors through anymail's real backends -----------------------------------------------


@pytest.mark.parametrize(
    "name, status, body, kind, words",
    [
        (
            "sendgrid",
            403,
            {
                "errors": [
                    {
                        "message": "The from address does not match a verified Sender Identity.",
                        "field": "from",
                        "help": None,
                    }
                ]
            },
            Kind.PAUSE,
            "SendGrid: The from address does not match a verified Sender Identity. (from)",
        ),
        (
            "sendgrid",
            400,
            {
                "errors": [
                    {
                        "message": "Does not contain a valid address.",
                        "field": "personalizations.0.to.0.email",
                    }
                ]
            },
            Kind.FAILED,
            "SendGrid: Does not contain a valid address. (personalizations.0.to.0.email) "
            "(HTTP 400)",
        ),
        (
            "sendgrid",
            429,
            {"errors": [{"field": None, "message": "too many requests"}]},
            Kind.RETRY,
            "Rate limited by the ESP (HTTP 429). SendGrid: too many requests",
        ),
        (
            "mailgun",
            400,
            {"message": "'to' parameter is not a valid address. please check documentation"},
            Kind.FAILED,
            "Mailgun: 'to' parameter is not a valid address.",
        ),
        (
            "mailgun",
            404,
            {"message": "Domain not found: example.com"},
            Kind.PAUSE,
            "Mailgun: Domain not found: example.com",
        ),
        ("mailgun", 401, {"message": "Invalid private key"}, Kind.PAUSE, "Invalid private key"),
        (
            "brevo",
            402,
            {"code": "not_enough_credits", "message": "Not enough credits"},
            Kind.PAUSE,
            "Brevo not_enough_credits: Not enough credits",
        ),
        (
            "brevo",
            401,
            {"code": "unauthorized", "message": "Key not found"},
            Kind.PAUSE,
            "Brevo unauthorized: Key not found",
        ),
        (
            "brevo",
            400,
            {"code": "invalid_parameter", "message": "email is not valid in to"},
            Kind.FAILED,
            "Brevo invalid_parameter: email is not valid in to (HTTP 400)",
        ),
        (
            "brevo",
            429,
            {"code": "too_many_requests", "message": "Too many requests"},
            Kind.RETRY,
            "Rate limited by the ESP (HTTP 429).",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 12 else None,
)
def test_send_errors_are_read_from_the_esps_answer(
    settings, scripted, name, status, body, kind, words
):
    outcome = send_through(settings, scripted, name, status, body)
    assert outcome.kind == kind
    assert words in outcome.error


def test_brevo_and_mailgun_success_records_their_message_id(settings, scripted):
    outcome = send_through(settings, scripted, "brevo", 201, {"messageId": "<abc@smtp-relay>"})
    assert outcome.kind == Kind.SENT and outcome.message_id == "<abc@smtp-relay>"


# -- Amazon SES (documented ClientError answers) and Postmark codes ------------------------------


@pytest.mark.parametrize(
    "code, message, refusal",
    [
        (
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in "
            "region EU-WEST-1: news@example.com",
            Refusal.ACCOUNT,
        ),
        ("AccountSuspendedException", "Account suspended", Refusal.ACCOUNT),
        ("SendingPausedException", "Sending paused for this account", Refusal.ACCOUNT),
        ("TooManyRequestsException", "Maximum sending rate exceeded.", Refusal.RATE_LIMITED),
        ("LimitExceededException", "Daily message quota exceeded.", Refusal.ACCOUNT),
        ("MessageRejected", "Illegal address", Refusal.MESSAGE),
        ("InternalFailure", "Internal failure", Refusal.TRANSIENT),
    ],
)
def test_amazon_ses_client_errors(code, message, refusal):
    answer = esp.send_refusal(
        "Amazon SES",
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
    )
    assert answer.refusal == refusal
    assert answer.message == f"Amazon SES {code}: {message}"


def test_postmark_codes():
    assert esp.send_refusal("Postmark", {"ErrorCode": 405, "Message": "No credits"}).refusal == (
        Refusal.ACCOUNT
    )
    assert esp.send_refusal("Postmark", {"ErrorCode": 406, "Message": "Inactive"}).refusal == (
        Refusal.RECIPIENT
    )
    other = esp.send_refusal("Postmark", {"ErrorCode": 300, "Message": "Invalid email request"})
    assert other.refusal is None and other.message == "Postmark 300: Invalid email request"


def test_mailjet_recipient_refusal_without_errors_is_never_silent():
    answer = esp.recipient_refusal("Mailjet", {"Messages": [{"Status": "error"}]})
    assert answer.refusal == Refusal.MESSAGE
    assert answer.message == "Mailjet reported a failure with no reason."


def test_batch_caps_and_keys():
    assert esp.batch_cap("anymail.backends.mailjet.EmailBackend") == 50
    assert esp.batch_cap("anymail.backends.amazon_ses.EmailBackend") == 50
    assert esp.batch_cap("anymail.backends.sendinblue.EmailBackend") == 1000
    assert esp.batch_cap("django.core.mail.backends.smtp.EmailBackend") is None
    assert esp.esp_key("SendinBlue") == "brevo" and esp.esp_key("Amazon SES") == "amazon_ses"


# -- tracking quirks, through anymail's real webhook views --------------------------------------

AUTH = "Basic " + base64.b64encode(b"user:pass").decode()


@pytest.fixture
def webhooks(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}


def post(client, esp_path, payload):
    return client.post(
        f"/anymail/{esp_path}/tracking/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=AUTH,
    )


@pytest.mark.django_db
def test_postmark_hard_bounce_keeps_its_description(client, webhooks):
    ann = Contact.objects.create(email="ann@example.com")
    payload = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "ann@example.com",
        "BouncedAt": "2025-03-02T10:00:00Z",
        "Inactive": True,
        "CanActivate": True,
    }
    assert post(client, "postmark", payload).status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.description.startswith("The server was unable to deliver your message")
    assert "550 5.1.1" in event.description
    ann.refresh_from_db()
    assert ann.suppression_reason == Contact.SuppressionReason.HARD_BOUNCE


@pytest.mark.django_db
def test_sendgrid_blocked_bounce_is_soft_and_keeps_the_reason(client, webhooks):
    ann = Contact.objects.create(email="ann@example.com")
    payload = [
        {
            "email": "ann@example.com",
            "timestamp": int(time.time()),
            "event": "bounce",
            "type": "blocked",
            "reason": "550 5.7.1 Message rejected due to local policy",
            "status": "5.7.1",
            "sg_event_id": "c2VuZGdyaWQtZXZlbnQ",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        }
    ]
    assert post(client, "sendgrid", payload).status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.description == "blocked 550 5.7.1 Message rejected due to local policy"
    ann.refresh_from_db()
    assert ann.suppressed_at is None  # one soft bounce


@pytest.mark.django_db
def test_brevo_soft_bounce_is_soft_and_hard_bounce_suppresses(client, webhooks):
    ann = Contact.objects.create(email="ann@example.com")
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    soft = {
        "event": "soft_bounce",
        "email": "ann@example.com",
        "id": 1,
        "message-id": "<soft@smtp-relay.mailin.fr>",
        "reason": "mailbox full",
        "ts_epoch": now_ms,
    }
    assert post(client, "brevo", soft).status_code == 200
    ann.refresh_from_db()
    assert ann.suppressed_at is None
    hard = {**soft, "event": "hard_bounce", "reason": "unknown user", "ts_epoch": now_ms + 1}
    hard["message-id"] = "<hard@smtp-relay.mailin.fr>"
    assert post(client, "brevo", hard).status_code == 200
    ann.refresh_from_db()
    assert ann.suppression_reason == Contact.SuppressionReason.HARD_BOUNCE
    assert sorted(DeliveryEvent.objects.values_list("description", flat=True)) == [
        "mailbox full",
        "unknown user",
    ]


def test_mailgun_and_ses_bounce_payloads():
    mailgun = {
        "event-data": {
            "event": "failed",
            "severity": "permanent",
            "reason": "bounce",
            "delivery-status": {"code": 550, "description": "No such user"},
        }
    }
    assert esp.is_hard_bounce("Mailgun", mailgun) is True
    assert esp.event_description("Mailgun", mailgun) == "bounce No such user"
    temporary = {"event-data": {**mailgun["event-data"], "severity": "temporary"}}
    assert esp.is_hard_bounce("Mailgun", temporary) is False

    ses = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "ann@example.com",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
        },
    }
    assert esp.is_hard_bounce("Amazon SES", ses) is True
    assert esp.event_description("Amazon SES", ses) == (
        "Permanent General — smtp; 550 5.1.1 user unknown"
    )
    transient = {"bounce": {**ses["bounce"], "bounceType": "Transient"}}
    assert esp.is_hard_bounce("Amazon SES", transient) is False


def test_mailjet_events_quirks():
    assert esp.event_custom_id("Mailjet", {"CustomID": "mailflow-42"}) == 42
    assert esp.event_custom_id("Mailjet", {"CustomID": "someone-else-42"}) is None
    assert esp.event_custom_id("Postmark", {"CustomID": "mailflow-42"}) is None
    assert esp.blocks_address("Mailjet", {"error": "preblocked"})
    assert not esp.blocks_address("Mailjet", {"error": "content blocked"})
    assert esp.custom_id_extra("Mailjet", 7) == {"Globals": {"CustomID": "mailflow-7"}}
    assert esp.custom_id_extra("Postmark", 7) is None
