"""Every ESP's quirks, in one place, keyed by anymail's ``esp_name``.

anymail gives one vocabulary for sending and tracking, but what an ESP means by
an error, a bounce or a missing id is its own. This module reads the ESP's own
answer (the JSON body of a refused call, ``anymail_status.esp_response`` of a
call that reported a per-message failure, the raw payload of a tracking event)
and says what it means, in the ESP's own words:

* :func:`send_refusal` — a send call's error → a :class:`Refusal` (the address,
  the account or sender, a rate limit, a transient failure, this message) and
  the ESP's message, which becomes the delivery's ``last_error``;
* :func:`recipient_refusal` — a per-message failure in an accepted call
  (Mailjet's ``Messages[].Errors[]``, Amazon SES's bulk results);
* :func:`is_hard_bounce`, :func:`event_description`, :func:`event_custom_id` —
  what a tracking event means for the address, the ESP's reason kept on the
  event, and the id we sent that it echoes;
* :func:`custom_id_extra` — the ``esp_extra`` that makes the ESP echo our id
  (Mailjet's ``CustomID``; the others echo anymail's metadata);
* :data:`BATCH_CAPS` — recipients per ESP call.

Documented payloads: Mailjet Send API v3.1 and event API; Postmark's email API
and webhooks; Amazon SES v2 (``ClientError`` codes) and its SNS notifications;
SendGrid v3 mail send and event webhook; Mailgun messages API and webhooks;
Brevo transactional email API and webhooks. An ESP not listed here falls back
to the HTTP status and anymail's normalised fields.
"""

from dataclasses import dataclass
from enum import StrEnum

#: Recipients per ESP API call, by ESP key.
BATCH_CAPS = {
    "mailjet": 50,
    "amazon_ses": 50,
    "postmark": 500,
    "sendgrid": 1000,
    "mailgun": 1000,
    "brevo": 1000,
}

#: anymail's ``esp_name`` (and backend module names) → our ESP key.
_KEYS = {
    "mailjet": "mailjet",
    "postmark": "postmark",
    "amazon ses": "amazon_ses",
    "amazon_ses": "amazon_ses",
    "sendgrid": "sendgrid",
    "mailgun": "mailgun",
    "brevo": "brevo",
    "sendinblue": "brevo",
}


def esp_key(esp_name) -> str:
    """Our key for anymail's ``esp_name`` ("Amazon SES" → ``amazon_ses``; Sendinblue is Brevo)."""
    name = str(esp_name or "").strip().lower()
    return _KEYS.get(name, name.replace(" ", "_"))


def batch_cap(backend_path: str) -> int | None:
    """The per-call cap of the ESP behind an EMAIL_BACKEND path, or None."""
    parts = backend_path.lower().split(".")
    for part in parts:
        key = _KEYS.get(part)
        if key in BATCH_CAPS:
            return BATCH_CAPS[key]
    return None


class Refusal(StrEnum):
    """What an ESP's refusal is about, which decides what the engine does."""

    #: The recipient address does not work: suppress it, never retry.
    RECIPIENT = "recipient"
    #: The account or the sender is refused: pause all sending, burn no attempt.
    ACCOUNT = "account"
    #: Too many requests: retry later (after ``Retry-After`` when given).
    RATE_LIMITED = "rate_limited"
    #: A failure on the ESP's side: retry later.
    TRANSIENT = "transient"
    #: This message is refused for good (content, parameters).
    MESSAGE = "message"


@dataclass(frozen=True, slots=True)
class EspAnswer:
    """An ESP's refusal: what it is about (None: decide by the HTTP status) and its words."""

    refusal: Refusal | None
    message: str
    code: str = ""


RATE_LIMITED_MESSAGE = "Rate limited by the ESP (HTTP 429)."


def _json(response):
    """The JSON body of a requests response (or the dict SES's client returned), or None."""
    if response is None:
        return None
    if isinstance(response, dict | list):
        return response
    try:
        return response.json()
    except Exception:  # not JSON, no body
        return None


def _words(*parts) -> str:
    return " ".join(str(p).strip() for p in parts if p not in (None, "", [], {})).strip()


# -- Mailjet ------------------------------------------------------------------------------------

#: Mailjet error codes about the recipient (``mj-0013``: "… is an invalid email address").
MAILJET_RECIPIENT = frozenset({"mj-0013"})
#: Mailjet error codes refusing the sender or the account (not validated, blocked).
MAILJET_ACCOUNT = frozenset({"send-0007", "send-0008"})


def _mailjet_error(error: dict) -> EspAnswer:
    code = str(error.get("ErrorCode") or "")
    status = error.get("StatusCode")
    related = error.get("ErrorRelatedTo") or []
    if isinstance(related, str):
        related = [related]
    message = _words(
        f"Mailjet {code}:" if code else "Mailjet:",
        error.get("ErrorMessage") or "",
        f"({', '.join(map(str, related))})" if related else "",
    )
    if code in MAILJET_RECIPIENT:
        return EspAnswer(Refusal.RECIPIENT, message, code)
    if code in MAILJET_ACCOUNT or status in (401, 403, "401", "403"):
        return EspAnswer(Refusal.ACCOUNT, message, code)
    if status in (429, "429"):
        return EspAnswer(Refusal.RATE_LIMITED, message, code)
    try:
        server_side = int(status) >= 500
    except (TypeError, ValueError):
        server_side = False
    return EspAnswer(Refusal.TRANSIENT if server_side else Refusal.MESSAGE, message, code)


def _mailjet_errors(body) -> list[EspAnswer]:
    if not isinstance(body, dict):
        return []
    if "ErrorCode" in body or "ErrorMessage" in body:  # a global error: nothing was sent
        return [_mailjet_error(body)]
    answers = []
    for result in body.get("Messages") or []:
        if isinstance(result, dict) and result.get("Status") != "success":
            answers.extend(
                _mailjet_error(e) for e in result.get("Errors") or [] if isinstance(e, dict)
            )
    return answers


# -- Postmark -----------------------------------------------------------------------------------

#: Postmark ``ErrorCode`` values that refuse the account, not the message (10 bad token,
#: 405 out of credits, 412 account pending approval, 413 may not send).
POSTMARK_ACCOUNT = frozenset({10, 405, 412, 413})
#: Postmark codes about the recipient (406 inactive recipient, 300 invalid email request).
POSTMARK_RECIPIENT = frozenset({406})


def _postmark_errors(body) -> list[EspAnswer]:
    bodies = body if isinstance(body, list) else [body]
    answers = []
    for one in bodies:
        if not isinstance(one, dict):
            continue
        try:
            code = int(one.get("ErrorCode") or 0)
        except (TypeError, ValueError):
            code = 0
        if not code:
            continue
        message = _words(f"Postmark {code}:", one.get("Message") or "")
        if code in POSTMARK_ACCOUNT:
            answers.append(EspAnswer(Refusal.ACCOUNT, message, str(code)))
        elif code in POSTMARK_RECIPIENT:
            answers.append(EspAnswer(Refusal.RECIPIENT, message, str(code)))
        elif code == 429:
            answers.append(EspAnswer(Refusal.RATE_LIMITED, message, str(code)))
        else:
            answers.append(EspAnswer(None, message, str(code)))
    return answers


# -- Amazon SES ---------------------------------------------------------------------------------

SES_ACCOUNT = frozenset(
    {
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
    }
)
SES_RATE = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
SES_TRANSIENT = frozenset({"InternalFailure", "ServiceUnavailable", "InternalServiceError"})


def _ses_errors(body) -> list[EspAnswer]:
    if not isinstance(body, dict):
        return []
    answers = []
    error = body.get("Error")
    if isinstance(error, dict):
        answers.append(_ses_error(error.get("Code"), error.get("Message")))
    for result in body.get("BulkEmailEntryResults") or []:
        if isinstance(result, dict) and result.get("Status") not in (None, "SUCCESS"):
            answers.append(_ses_error(result.get("Status"), result.get("Error")))
    return answers


def _ses_error(code, text) -> EspAnswer:
    code = str(code or "")
    message = _words(f"Amazon SES {code}:", text or "")
    lowered = str(text or "").lower()
    if code in SES_ACCOUNT or "not verified" in lowered or code == "ACCOUNT_SUSPENDED":
        return EspAnswer(Refusal.ACCOUNT, message, code)
    if code in SES_RATE or code == "LimitExceededException" and "rate" in lowered:
        return EspAnswer(Refusal.RATE_LIMITED, message, code)
    if code == "LimitExceededException" or code in (
        "SENDING_PAUSED",
        "ACCOUNT_DAILY_QUOTA_EXCEEDED",
    ):
        return EspAnswer(Refusal.ACCOUNT, message, code)  # the daily quota: no use retrying now
    if code in SES_TRANSIENT or code == "TRANSIENT_FAILURE":
        return EspAnswer(Refusal.TRANSIENT, message, code)
    if code in ("MessageRejected", "MESSAGE_REJECTED", "INVALID_PARAMETER", "BadRequestException"):
        return EspAnswer(Refusal.MESSAGE, message, code)
    return EspAnswer(None, message, code)


# -- SendGrid, Mailgun, Brevo -------------------------------------------------------------------


def _sendgrid_errors(body) -> list[EspAnswer]:
    if not isinstance(body, dict):
        return []
    texts = [
        _words(e.get("message") or "", f"({e['field']})" if e.get("field") else "")
        for e in body.get("errors") or []
        if isinstance(e, dict)
    ]
    if not texts:
        return []
    message = _words("SendGrid:", "; ".join(texts))
    lowered = message.lower()
    if "sender identity" in lowered or "authorization grant" in lowered:
        return [EspAnswer(Refusal.ACCOUNT, message)]  # 403: the sender is not verified
    return [EspAnswer(None, message)]


def _mailgun_errors(body) -> list[EspAnswer]:
    if not isinstance(body, dict) or not body.get("message") or body.get("id"):
        return []
    message = _words("Mailgun:", body["message"])
    if "domain" in message.lower() and "not" in message.lower() and "found" in message.lower():
        return [EspAnswer(Refusal.ACCOUNT, message)]  # the sending domain is unknown
    return [EspAnswer(None, message)]


#: Brevo error ``code`` values that refuse the account (credits, validation, key, IP).
BREVO_ACCOUNT = frozenset(
    {"unauthorized", "not_enough_credits", "account_under_validation", "permission_denied"}
)


def _brevo_errors(body) -> list[EspAnswer]:
    if not isinstance(body, dict) or "code" not in body:
        return []
    code = str(body.get("code") or "")
    message = _words(f"Brevo {code}:", body.get("message") or "")
    if code in BREVO_ACCOUNT:
        return [EspAnswer(Refusal.ACCOUNT, message, code)]
    if code == "too_many_requests":
        return [EspAnswer(Refusal.RATE_LIMITED, message, code)]
    return [EspAnswer(None, message, code)]


_ERROR_READERS = {
    "mailjet": _mailjet_errors,
    "postmark": _postmark_errors,
    "amazon_ses": _ses_errors,
    "sendgrid": _sendgrid_errors,
    "mailgun": _mailgun_errors,
    "brevo": _brevo_errors,
}

#: When an answer holds several errors, the one that decides: the account first.
_PRECEDENCE = (
    Refusal.ACCOUNT,
    Refusal.RATE_LIMITED,
    Refusal.TRANSIENT,
    Refusal.RECIPIENT,
    Refusal.MESSAGE,
    None,
)


def _decisive(answers: list[EspAnswer]) -> EspAnswer | None:
    if not answers:
        return None
    first = min(answers, key=lambda a: _PRECEDENCE.index(a.refusal))
    words = "; ".join(dict.fromkeys(a.message for a in answers if a.message))
    return EspAnswer(first.refusal, words or first.message, first.code)


def send_refusal(esp_name, body, http_status: int | None = None) -> EspAnswer | None:
    """What the ESP's answer to a refused send call says, or None when it says nothing we read.

    ``body`` is the response (requests' or SES client's dict) or its parsed JSON.
    A 429 is a rate limit whatever the body says.
    """
    reader = _ERROR_READERS.get(esp_key(esp_name))
    answer = _decisive(reader(_json(body))) if reader else None
    if http_status == 429:
        return EspAnswer(
            Refusal.RATE_LIMITED,
            RATE_LIMITED_MESSAGE if answer is None else f"{RATE_LIMITED_MESSAGE} {answer.message}",
            answer.code if answer else "",
        )
    return answer


def recipient_refusal(esp_name, esp_response) -> EspAnswer:
    """Why the ESP reported one message as failed in an accepted call (never None)."""
    reader = _ERROR_READERS.get(esp_key(esp_name))
    answer = _decisive(reader(_json(esp_response))) if reader else None
    if answer is None:
        return EspAnswer(
            Refusal.MESSAGE, f"{esp_name or 'The ESP'} reported a failure with no reason."
        )
    if answer.refusal is None:
        return EspAnswer(Refusal.MESSAGE, answer.message, answer.code)
    return answer


# -- Tracking events ----------------------------------------------------------------------------

#: Postmark bounce ``Type`` values (or ``SuppressionReason``) that are hard, and soft.
POSTMARK_HARD = frozenset({"HardBounce", "BadEmailAddress", "ManualSuppression"})
POSTMARK_SOFT = frozenset({"SoftBounce", "Transient", "DnsError", "OpenRelayTest", "Unknown"})
#: Mailjet ``error`` values of a ``blocked`` event that are about the address.
MAILJET_BLOCKED_ADDRESS = frozenset({"preblocked", "user unknown", "invalid domain", "typofix"})


def _truthy(value) -> bool:
    return value in (True, "true", "True", 1, "1")


def is_hard_bounce(esp_name, raw: dict) -> bool | None:
    """Whether a bounce means the address is permanently undeliverable, per the ESP's payload.

    None when the payload does not say (anymail's ``reject_reason`` decides then).
    """
    key = esp_key(esp_name)
    if key == "mailjet" and "hard_bounce" in raw:
        return _truthy(raw.get("hard_bounce"))
    if key == "postmark":
        kind = raw.get("Type") or raw.get("SuppressionReason")
        if kind in POSTMARK_HARD:
            return True
        if kind in POSTMARK_SOFT:
            return False
    if key == "amazon_ses":
        bounce = (raw.get("bounce") or {}) if isinstance(raw.get("bounce"), dict) else {}
        if bounce.get("bounceType"):
            return bounce["bounceType"] == "Permanent"
    if key == "sendgrid" and raw.get("event") == "bounce":
        return raw.get("type", "bounce") == "bounce"  # "blocked" is the soft kind
    if key == "mailgun":
        severity = raw.get("severity") or (raw.get("event-data") or {}).get("severity")
        if severity:
            return severity == "permanent"
    if key == "brevo" and raw.get("event") in ("hard_bounce", "soft_bounce"):
        return raw["event"] == "hard_bounce"
    return None


def blocks_address(esp_name, raw: dict) -> bool:
    """Whether an ESP's refusal event (``rejected``) says the address must not be mailed.

    Mailjet's ``blocked`` with ``error`` ``preblocked`` (the address is on its
    block list after earlier bounces or complaints) and its recipient errors.
    """
    if esp_key(esp_name) == "mailjet":
        return str(raw.get("error") or "").lower() in MAILJET_BLOCKED_ADDRESS
    return False


def event_description(esp_name, raw: dict, fallback: str = "") -> str:
    """The ESP's own reason for a bounce, block, deferral or failure, kept on the event."""
    key = esp_key(esp_name)
    text = ""
    if key == "mailjet" and raw.get("error"):
        related = raw.get("error_related_to")
        text = f"{related}: {raw['error']}" if related else str(raw["error"])
    elif key == "postmark":
        text = _words(raw.get("Description") or "", raw.get("Details") or "")
    elif key == "amazon_ses":
        bounce = raw.get("bounce") if isinstance(raw.get("bounce"), dict) else {}
        recipients = bounce.get("bouncedRecipients") or []
        diagnostic = next(
            (
                r.get("diagnosticCode")
                for r in recipients
                if isinstance(r, dict) and r.get("diagnosticCode")
            ),
            "",
        )
        text = _words(
            bounce.get("bounceType"), bounce.get("bounceSubType"), diagnostic and f"— {diagnostic}"
        )
    elif key == "sendgrid":
        text = _words(
            raw.get("type") if raw.get("event") == "bounce" else "",
            raw.get("reason") or raw.get("response") or "",
        )
    elif key == "mailgun":
        data = raw.get("event-data") if isinstance(raw.get("event-data"), dict) else raw
        status = (
            data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
        )
        text = _words(
            data.get("reason") or "", status.get("description") or status.get("message") or ""
        )
    elif key == "brevo":
        text = _words(raw.get("reason") or "")
    return (text or fallback or "").strip()


#: Prefix of the id we send and the ESP echoes in its events.
CUSTOM_ID_PREFIX = "mailflow-"


def custom_id(delivery_id) -> str:
    return f"{CUSTOM_ID_PREFIX}{delivery_id}"


def custom_id_extra(esp_name, delivery_id) -> dict | None:
    """The ``esp_extra`` making the ESP echo our id in its events, or None (metadata does).

    Mailjet echoes ``CustomID`` in every event and lets the message be looked
    up by it; the others echo anymail's metadata (Postmark ``Metadata``,
    SendGrid ``custom_args``, Mailgun ``v:`` variables, SES tags, Brevo headers).
    """
    if esp_key(esp_name) == "mailjet":
        return {"Globals": {"CustomID": custom_id(delivery_id)}}
    return None


def event_custom_id(esp_name, raw: dict) -> int | None:
    """The delivery id an event echoes through the ESP's custom id, or None."""
    value = raw.get("CustomID") if esp_key(esp_name) == "mailjet" else None
    if not isinstance(value, str) or not value.startswith(CUSTOM_ID_PREFIX):
        return None
    try:
        return int(value[len(CUSTOM_ID_PREFIX) :])
    except ValueError:
        return None
