"""Sending a batch of messages over one connection, and classifying each outcome.

Each message is sent on its own call so that one refused recipient never
holds back the rest of the batch (and a batch never mixes recipients in one
ESP call). The outcome of every message is one of:

``sent``      the ESP accepted it (message id recorded);
``retry``     a transient failure before the ESP took it (429, 5xx, connection refused);
``failed``    refused for good (4xx other than 401/403/429);
``suppress``  refused because of the recipient (invalid address, rejected): never retry;
``unknown``   it may have reached the ESP (timeout after sending): never resend blindly;
``pause``     the account itself was refused (401/403, authentication): stop the batch;
``withdrawn`` not attempted: the contact became unreachable while the batch was being sent.

Where the ESP's own answer says more than the HTTP status (Mailjet's
per-message ``Errors``, Postmark's ``ErrorCode``, SES's error codes...), it
decides, and its words become the reason: see :mod:`.esp`, which holds every
ESP's quirks. A message Django refuses to build (a line break in a header)
was never sent: ``failed``.
"""

import contextlib
import email.utils
import gc
import logging
import smtplib
import socket
from dataclasses import dataclass
from enum import StrEnum

import requests
from django.core.mail import BadHeaderError, get_connection

from . import esp
from .esp import Refusal
from .messages import DELIVERY_METADATA_KEY

logger = logging.getLogger(__name__)

#: The reason of a message Django refused to build (a line break in a header).
BAD_HEADER = (
    "Not sent: a header of this email (its subject, sender or recipient name) "
    "contains a line break, which email does not allow ({error})."
)


WITHDRAWN = (
    "Not sent: the contact unsubscribed, was suppressed or left the list "
    "while the batch was being sent."
)


class Kind(StrEnum):
    """The outcome of one message (see the module's docstring)."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SUPPRESS = "suppress"
    UNKNOWN = "unknown"
    PAUSE = "pause"
    WITHDRAWN = "withdrawn"
    #: Not attempted: the workflow's sending period was closed (set by the engine).
    WAIT = "wait"


#: What each kind of ESP refusal (read in ``esp``) makes of the message.
REFUSAL_KINDS = {
    Refusal.RECIPIENT: Kind.SUPPRESS,
    Refusal.ACCOUNT: Kind.PAUSE,
    Refusal.RATE_LIMITED: Kind.RETRY,
    Refusal.TRANSIENT: Kind.RETRY,
    Refusal.MESSAGE: Kind.FAILED,
}


@dataclass(slots=True)
class Outcome:
    """What happened to one message."""

    kind: Kind
    message_id: str = ""
    error: str = ""
    retry_after: float | None = None


@contextlib.contextmanager
def collection_paused():
    """Python's cyclic garbage collector paused for the length of one batch.

    Building and sending a message allocates thousands of short-lived objects;
    each 700 of them start a collection that walks every young object, and now
    and then every object of the process (a Django site holds hundreds of
    thousands). Reference counting frees the messages as soon as they are sent
    either way; the collector resumes after the batch and finds any cycle left
    then. Measured in ``bench/dispatch.py``: about a quarter of the CPU time
    per email.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def send_batch(messages: list, connection=None, should_send=None) -> list[Outcome]:
    """Send ``messages`` over one connection; returns one Outcome per message, in order.

    After a ``pause`` outcome the remaining messages are not attempted and get
    ``pause`` too, so no attempts are burned while the account is refused.
    ``should_send(index)``, when given, is asked just before each message;
    False withdraws it.
    """
    outcomes = []
    connection = connection or get_connection()
    refused = open_connection(connection)
    if refused is not None:
        return [
            Outcome(refused.kind, error=refused.error, retry_after=refused.retry_after)
            for _message in messages
        ]
    try:
        for index, message in enumerate(messages):
            if should_send is not None and not should_send(index):
                outcomes.append(Outcome(Kind.WITHDRAWN, error=WITHDRAWN))
                continue
            outcome = send_message(connection, message)
            outcomes.append(outcome)
            if outcome.kind == Kind.PAUSE:
                outcomes.extend(
                    Outcome(Kind.PAUSE, error=outcome.error) for _ in messages[index + 1 :]
                )
                break
    finally:
        close_connection(connection)
    return outcomes


def open_connection(connection) -> Outcome | None:
    """Open an email connection; None, or the outcome of every message when it cannot open.

    Opening sends no message: a failure there is ``retry``, never ``unknown``.
    """
    try:
        connection.open()
    except Exception as exc:  # the connection itself: nothing was sent
        outcome = classify(exc)
        if outcome.kind == Kind.UNKNOWN:
            outcome.kind = Kind.RETRY
        return outcome
    read_environment_once(connection)
    return None


def read_environment_once(connection) -> None:
    """Read the proxies and CA bundle of an anymail session's environment once, at open.

    ``requests`` reads them from ``os.environ`` again on every call (a fair share
    of an API call's CPU); the ESP's address is the same for every call of a
    connection, so the answer is too. A ``.netrc`` entry for the ESP's host is
    also read per call: such a session is left as it is.
    """
    session = getattr(connection, "session", None)
    api_url = getattr(connection, "api_url", None)
    if not isinstance(session, requests.Session) or not api_url or not session.trust_env:
        return
    if requests.utils.get_netrc_auth(api_url):
        return
    environment = session.merge_environment_settings(api_url, {}, None, None, None)
    session.proxies = environment["proxies"]
    session.verify = environment["verify"]
    session.trust_env = False


def send_message(connection, message) -> Outcome:
    """Send one message over an open connection and classify what the ESP answered.

    Safe to call from several threads at once, each with its own connection.
    """
    esp_name = getattr(connection, "esp_name", None)
    message.connection = connection
    _echo_custom_id(message, esp_name)
    try:
        refuse_line_breaks(message)
        sent = connection.send_messages([message])
    except Exception as exc:
        outcome = classify(exc)
        logger.warning("Sending to %s failed (%s): %s", message.to, outcome.kind, exc)
    else:
        outcome = _accepted(message, sent, esp_name)
    return outcome


def close_connection(connection) -> None:
    """Close an email connection; a failure is logged, never raised (the outcomes are kept)."""
    try:
        connection.close()
    except Exception:  # closing a broken connection must not lose the outcomes
        logger.exception("Closing the email connection failed")


def refuse_line_breaks(message) -> None:
    """Raise Django's ``BadHeaderError`` for a header holding a line break, as Django's SMTP
    path does; an API backend would otherwise pass it on to the ESP (a header injection).
    """
    headers = {
        "Subject": message.subject,
        "From": message.from_email,
        "To": ", ".join(message.to),
        "Reply-To": ", ".join(message.reply_to),
    }
    for name, value in headers.items():
        if value and ("\n" in value or "\r" in value):
            raise BadHeaderError(
                f"Header values can't contain newlines (got {value!r} for header {name!r})"
            )


def _echo_custom_id(message, esp_name):
    """Make the ESP echo the delivery's id in its events where metadata is not enough."""
    delivery_id = (getattr(message, "metadata", None) or {}).get(DELIVERY_METADATA_KEY)
    extra = esp.custom_id_extra(esp_name, delivery_id) if delivery_id else None
    if extra:
        current = getattr(message, "esp_extra", None) or {}
        message.esp_extra = {**current, **extra}


def _from_refusal(answer, message_id="", retry_after=None) -> Outcome:
    return Outcome(
        REFUSAL_KINDS[answer.refusal],
        message_id=str(message_id or ""),
        error=answer.message[:2000],
        retry_after=retry_after,
    )


def _accepted(message, sent, esp_name=None):
    status = getattr(message, "anymail_status", None)
    if status is None:
        # A non-anymail backend (SMTP, console, locmem): accepted if it says so.
        if sent == 0:
            return Outcome(Kind.FAILED, error="The email backend did not send the message.")
        return Outcome(Kind.SENT, message_id=_header_message_id(message))
    recipient = next(iter(status.recipients.values()), None) if status.recipients else None
    recipient_status = recipient.status if recipient else status.status
    if isinstance(recipient_status, set):
        recipient_status = next(iter(recipient_status), None)
    message_id = (recipient.message_id if recipient else status.message_id) or ""
    if recipient_status in ("rejected", "invalid"):
        return Outcome(
            Kind.SUPPRESS, message_id=str(message_id), error=f"Recipient {recipient_status}"
        )
    if recipient_status == "failed":
        # anymail flattens every per-message error to "failed": the ESP's answer says why.
        return _from_refusal(esp.recipient_refusal(esp_name, status.esp_response), message_id)
    return Outcome(Kind.SENT, message_id=str(message_id))


def _header_message_id(message):
    return str(message.extra_headers.get("Message-ID", "")) if message.extra_headers else ""


def classify(exc: BaseException) -> Outcome:
    """Map an exception raised while sending to an Outcome kind, with a readable reason."""
    from anymail.exceptions import (
        AnymailAPIError,
        AnymailInvalidAddress,
        AnymailRecipientsRefused,
        AnymailSerializationError,
        AnymailUnsupportedFeature,
    )

    error = f"{type(exc).__name__}: {exc}"[:2000]
    if isinstance(exc, BadHeaderError):  # refused by Django before any request
        return Outcome(Kind.FAILED, error=BAD_HEADER.format(error=exc))
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return Outcome(Kind.SUPPRESS, error=error)
    if isinstance(exc, AnymailUnsupportedFeature | AnymailSerializationError):
        return Outcome(Kind.FAILED, error=error)  # refused before any request: nothing was sent
    if isinstance(exc, AnymailAPIError):
        requests_kind = _requests_failure(exc)
        if requests_kind:
            return Outcome(requests_kind, error=error)
        code = getattr(exc, "status_code", None)
        answer = esp.send_refusal(getattr(exc, "esp_name", None), exc.response, code)
        if answer is not None and answer.refusal is not None:
            return _from_refusal(answer, retry_after=_retry_after(exc))
        if answer is not None:
            error = f"{answer.message} (HTTP {code})" if code else answer.message
        if code in (401, 403):
            return Outcome(Kind.PAUSE, error=error)
        if code is not None and code >= 500:
            return Outcome(Kind.RETRY, error=error, retry_after=_retry_after(exc))
        if code is not None and 400 <= code < 500:
            return Outcome(Kind.FAILED, error=error)
        return Outcome(Kind.UNKNOWN, error=error)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return Outcome(Kind.SUPPRESS, error=error)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Outcome(Kind.PAUSE, error=error)
    if isinstance(exc, smtplib.SMTPConnectError | ConnectionRefusedError | socket.gaierror):
        return Outcome(Kind.RETRY, error=error)
    if isinstance(exc, smtplib.SMTPResponseException):
        return Outcome(Kind.RETRY if 400 <= exc.smtp_code < 500 else Kind.FAILED, error=error)
    if isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError | socket.timeout):
        return Outcome(Kind.UNKNOWN, error=error)
    return Outcome(Kind.UNKNOWN, error=error)


def _requests_failure(exc):
    """For a network error from requests: 'retry' if nothing was sent, else 'unknown'."""
    if getattr(exc, "response", None) is not None:
        # The ESP answered (anymail's errors are requests.HTTPError): its status decides.
        return None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Kind.RETRY
    if isinstance(exc, requests.exceptions.ConnectionError):
        # anymail re-raises requests' error as its own, the original as the cause.
        text = f"{exc!r} {exc.__cause__!r}"
        if "NewConnectionError" in text or "Connection refused" in text or "NameResolution" in text:
            return Kind.RETRY
        return Kind.UNKNOWN
    if isinstance(exc, requests.exceptions.Timeout):
        return Kind.UNKNOWN
    if isinstance(exc, requests.exceptions.RequestException):
        return Kind.UNKNOWN
    return None


def _retry_after(exc):
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed is None:
            return None
        from django.utils import timezone

        return max((parsed - timezone.now()).total_seconds(), 0.0)
