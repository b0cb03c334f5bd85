"""Tracking webhooks through anymail's real views, as sites include them
(``wagtail_mailflow.urls.anymail_urls``): a malformed body of an authenticated webhook is
answered 400 and logged, not 500 from inside anymail's parser."""

import base64
import json
import logging

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_world
from wagtail_mailflow.models import DeliveryEvent

pytestmark = pytest.mark.django_db

MAILJET = "/anymail/mailjet/tracking/"
POSTMARK = "/anymail/postmark/tracking/"
AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"user:pass").decode()}


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}


@pytest.fixture
def logged():
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect(level=logging.DEBUG)
    logger = logging.getLogger("wagtail_mailflow.views.webhooks")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    "url, body",
    [
        (MAILJET, "this is not json"),
        (MAILJET, json.dumps([{"event": "sent", "time": "soon"}])),  # not a timestamp
        (MAILJET, json.dumps("a string")),
        (POSTMARK, "{"),
        (POSTMARK, json.dumps([1])),
        (POSTMARK, json.dumps({"RecordType": "Delivery", "DeliveredAt": 12})),
    ],
)
def test_a_malformed_body_is_answered_400_and_logged(logged, url, body):
    client = Client(raise_request_exception=False)
    response = client.post(url, body, content_type="application/json", **AUTH)
    assert response.status_code == 400
    assert not DeliveryEvent.objects.exists()
    (record,) = logged
    assert record.levelno == logging.WARNING
    assert url in record.getMessage() and "malformed body" in record.getMessage()


def test_without_credentials_it_is_still_anymails_400_and_nothing_parsed(logged):
    client = Client(raise_request_exception=False)
    response = client.post(MAILJET, "this is not json", content_type="application/json")
    assert response.status_code == 400
    assert logged == []  # refused before the body is read


def test_a_good_body_is_recorded_and_the_names_are_anymails():
    assert reverse("anymail:mailjet_tracking_webhook") == MAILJET
    world = make_world()
    delivery = next(iter(world.deliveries.values()))
    delivery.esp_message_id = "19421777835146490"
    delivery.save(update_fields=["esp_message_id"])
    event = {
        "event": "open",
        "time": 1700000000,
        "MessageID": 19421777835146490,
        "email": "ann@example.com",
    }
    response = Client().post(MAILJET, json.dumps([event]), content_type="application/json", **AUTH)
    assert response.status_code == 200
    assert DeliveryEvent.objects.filter(event_type="opened").count() == 1
