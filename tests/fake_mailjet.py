"""A fake Mailjet: a real HTTP server speaking Mailjet's Send API v3.1, failing on demand.

anymail's real Mailjet backend talks to it over real sockets (``ANYMAIL["MAILJET_API_URL"]``
is :attr:`FakeMailjet.api_url`). Scripting, recording and stopping work as for
:class:`tests.fake_esp.FakePostmark`; the answers are Mailjet's:

* success: 200 ``{"Messages": [{"Status": "success", "CustomID": ..., "To": [{"Email",
  "MessageUUID", "MessageID", "MessageHref"}]}]}``;
* a per-message error: 400 ``{"Messages": [{"Status": "error", "Errors": [{"ErrorIdentifier",
  "ErrorCode", "StatusCode", "ErrorMessage", "ErrorRelatedTo"}]}]}`` (anymail reports it
  as recipient status ``failed``);
* a global error: ``{"ErrorIdentifier", "StatusCode", "ErrorMessage"}`` (401, 429...).

:func:`event` builds the webhook payloads Mailjet posts (one event object each, as
with "group events" off), with the ``Payload`` anymail's metadata travels in and the
``CustomID`` the message carried.
"""

import base64
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from anymail.backends.mailjet import EmailBackend as MailjetBackend

from tests.fake_esp import FakePostmark, Received, Reply

_ids = itertools.count(288230376151711744)


@dataclass
class MailjetReceived(Received):
    """One send request as Mailjet received it."""

    @property
    def to(self):
        try:
            return self.json["Messages"][0]["To"][0]["Email"]
        except (KeyError, IndexError, TypeError):
            return ""

    @property
    def globals(self):
        return self.json.get("Globals", {}) if isinstance(self.json, dict) else {}

    @property
    def custom_id(self):
        return self.globals.get("CustomID", "")

    @property
    def metadata(self):
        return json.loads(self.globals.get("EventPayload") or "{}")

    @property
    def message_headers(self):
        return self.globals.get("Headers", {})


# -- Mailjet's answers --------------------------------------------------------------------------


def ok(delay=0.0):
    return Reply(200, None, delay=delay)


def _error(code, status, message, related=None):
    return {
        "ErrorIdentifier": str(uuid.uuid4()),
        "ErrorCode": code,
        "StatusCode": status,
        "ErrorMessage": message,
        "ErrorRelatedTo": related or [],
    }


def message_error(code, status, message, related=None, delay=0.0):
    """A per-message error: HTTP ``status`` with the error in ``Messages[0].Errors``."""
    body = {"Messages": [{"Status": "error", "Errors": [_error(code, status, message, related)]}]}
    return Reply(status, body, delay=delay)


def invalid_recipient(address):
    """Mailjet's mj-0013: the To address is not a valid email address."""
    return message_error(
        "mj-0013", 400, f'"{address}" is an invalid email address.', ["To[0].Email"]
    )


def sender_refused():
    """Mailjet's send-0008: the sender address is not validated on the account."""
    return message_error(
        "send-0008",
        403,
        '"news@example.com" is not an authorized sender email address for your account.',
        ["From"],
    )


def global_error(status, message):
    """An error about the whole request (no ``Messages``): Mailjet's 401, 429, 500 bodies."""
    return Reply(
        status,
        {"ErrorIdentifier": str(uuid.uuid4()), "StatusCode": status, "ErrorMessage": message},
    )


def unauthorized():
    return global_error(
        401,
        "API key authentication/authorization failure. You may be unauthorized to access "
        "the API or your API key may be expired. Visit API keys management section to check "
        "your keys.",
    )


def rate_limited(retry_after=None):
    reply = global_error(429, "Too many requests, please retry later.")
    if retry_after is not None:
        reply.headers = {"Retry-After": str(retry_after)}
    return reply


class FakeMailjet(FakePostmark):
    """The fake Mailjet Send API v3.1."""

    @property
    def api_url(self):
        return f"{self.url}v3.1/"

    def _handler(self):
        esp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = None
                record = MailjetReceived(self.path, dict(self.headers), payload)
                with esp._lock:
                    esp.requests.append(record)
                reply = record.reply = esp._next_reply(record.to)
                body = reply.body
                if self.path != "/v3.1/send" or not self.headers.get(
                    "Authorization", ""
                ).startswith("Basic "):
                    reply = record.reply = unauthorized()
                    body = reply.body
                elif reply.status == 200 and body is None:
                    record.message_id = str(next(_ids))
                    body = {
                        "Messages": [
                            {
                                "Status": "success",
                                "CustomID": record.custom_id,
                                "To": [
                                    {
                                        "Email": record.to,
                                        "MessageUUID": str(uuid.uuid4()),
                                        "MessageID": int(record.message_id),
                                        "MessageHref": "https://api.mailjet.com/v3/REST/message/"
                                        + record.message_id,
                                    }
                                ],
                                "Cc": [],
                                "Bcc": [],
                            }
                        ]
                    }
                if reply.delay:
                    time.sleep(reply.delay)
                data = json.dumps(body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (read timeout)
                    pass

        return Handler


def event(kind, received, at, **fields):
    """A Mailjet event for a message the fake received (``sent``, ``bounce``, ``blocked``...).

    Mailjet echoes the message's ``CustomID`` and ``EventPayload`` (as ``Payload``).
    """
    payload = {
        "event": kind,
        "time": int(at.timestamp()),
        "MessageID": int(received.message_id) if received.message_id else 0,
        "Message_GUID": str(uuid.uuid4()),
        "email": received.to,
        "mj_campaign_id": 0,
        "mj_contact_id": 1,
        "customcampaign": received.globals.get("CustomCampaign", ""),
        "CustomID": received.custom_id,
        "Payload": received.globals.get("EventPayload", ""),
    }
    payload.update(fields)
    return payload


def post_events(client, *events, auth="user:pass"):
    """Post events to anymail's real Mailjet tracking view; returns the response."""
    token = base64.b64encode(auth.encode()).decode()
    return client.post(
        "/anymail/mailjet/tracking/",
        json.dumps(list(events) if len(events) != 1 else events[0]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {token}",
    )


class HookedMailjetBackend(MailjetBackend):
    """anymail's Mailjet backend with a hook run after each ESP call returns or fails.

    ``after_post(message)`` runs in the sending thread (it shares the test's database
    connection), while the worker still waits to record the outcome: what arrives
    there arrives "during the call".
    """

    after_post = None

    def post_to_esp(self, payload, message):
        try:
            return super().post_to_esp(payload, message)
        finally:
            hook = type(self).after_post
            if hook is not None:
                hook(message)
