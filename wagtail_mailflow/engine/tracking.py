"""Acting on the ESP's tracking events (anymail's ``tracking`` signal, received in
``signal_handlers``).

Authentication is anymail's: its webhook views refuse a request without the
``ANYMAIL["WEBHOOK_SECRET"]`` basic auth (400) before any signal is sent.

Each event is recorded once as a :class:`DeliveryEvent`. The ESP's event id
deduplicates where there is one; Mailjet (through anymail) has none and retries
for 24 hours, so the key is then ``<message id>:<event type>:<timestamp>`` (plus
a hash of the URL for clicks, so two links clicked in the same second stay two
events). The insert runs in a savepoint and the unique constraint on
``(esp, event_id)`` is the referee: a retried webhook records nothing and has no
effect.

Effects, each a few conditional UPDATEs (see ``engine.exits``):

* **hard bounce** → the address is suppressed (``bounced``), enrollments exit.
  A bounce is hard when the ESP says so (``sending.esp.is_hard_bounce``:
  Mailjet's ``hard_bounce: true``, Postmark's ``Type`` ``HardBounce``, SES's
  ``Permanent``, Mailgun's ``permanent`` severity, SendGrid's ``bounce`` type,
  Brevo's ``hard_bounce``); otherwise when anymail's ``reject_reason`` is
  ``bounced`` or ``invalid``.
* **soft bounce** (``deferred``, or ``bounced`` and not hard) → once
  ``WAGTAIL_MAILFLOW_SOFT_BOUNCE_LIMIT`` different emails to the contact
  soft-bounced within ``WAGTAIL_MAILFLOW_SOFT_BOUNCE_DAYS``, suppressed
  (``bounced``). Emails, not events, are counted: one message deferred five
  times by a greylisting server is one soft bounce, and an email that was
  deferred and then delivered (or opened, clicked) does not count.
* **complaint** → suppressed (``complained``).
* **rejected** by the ESP with ``reject_reason`` ``invalid`` or ``bounced``, or
  a refusal the ESP says is about the address (Mailjet's ``blocked`` with
  ``preblocked``, its block list) → suppressed (``rejected``); other rejections
  are only recorded.
* the ESP's reason for a bounce, block, deferral or failure (Mailjet's
  ``error_related_to: error``, each ESP's equivalent: ``sending.esp.event_description``)
  is kept as the event's description, shown in the contact's and the email's history.
* **unsubscribed** (the ESP's own unsubscribe link or list) → unsubscribed from
  every email.
* **opened / clicked** → ``last_engaged_at`` moves forward.
* on the delivery, the time of the first event of each type the statistics
  count (``delivered_at``, ``opened_at``, ``clicked_at``, ``bounced_at``,
  ``rejected_at``, ``complained_at``, ``unsubscribed_at``) is set, once: a
  later event of the same type, or a retried webhook, leaves it alone.
* any event but a rejection on a delivery whose outcome is ``unknown`` (the
  request may have reached the ESP, no answer was recorded) confirms it was
  sent: it becomes ``sent`` and its stale error is cleared; a rejection or
  failure makes it ``failed``. An event that arrives while the worker still
  waits for the ESP's answer is recorded; when the answer then times out the
  worker settles the delivery from it (:func:`settle_unknown`) instead of
  writing ``unknown`` over what the ESP already said.

The delivery is found by the ``mailflow_delivery`` metadata the message
carried, or the custom id the ESP echoes (Mailjet's ``CustomID``),
cross-checked against the ESP message id when both are known (two
sites sharing one ESP account must not act on each other's deliveries), else
by ``Delivery.esp_message_id``. An event for no known delivery is recorded with
no delivery; bounces, complaints and unsubscribes for it still act on the
contact with that address, since they are about the address, not the email.

Payloads anymail cannot classify are recorded as ``other``. The receiver never
raises on a payload; only a database error propagates (anymail answers 500 and
the ESP retries later, when the event is still new).
"""

import hashlib
import json
import logging
from datetime import UTC, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from .. import conf, signals
from ..models import Contact, Delivery, DeliveryEvent
from ..models.deliveries import EVENT_TYPES, FIRST_EVENT_FIELDS
from ..sending import esp
from ..sending.messages import DELIVERY_METADATA_KEY
from .exits import record_engagement, suppress, unsubscribe_everywhere

logger = logging.getLogger(__name__)

Type = DeliveryEvent.Type
Reason = Contact.SuppressionReason

#: anymail reject reasons that mean the address itself does not work.
BAD_ADDRESS_REASONS = frozenset({"bounced", "invalid"})

MAX_KEY = 255


def _esp_fields(event):
    esp_event = getattr(event, "esp_event", None)
    return esp_event if isinstance(esp_event, dict) else {}


def is_hard_bounce(event, esp_name=None):
    """Whether a ``bounced`` event means the address is permanently undeliverable."""
    said = esp.is_hard_bounce(esp_name, _esp_fields(event))
    if said is not None:
        return said
    return (getattr(event, "reject_reason", None) or "") in BAD_ADDRESS_REASONS


def _fit(key):
    """Keep a dedup key within the column; long keys are replaced by their hash."""
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def event_key(event, message_id, event_type):
    """The deduplication key: the ESP's event id, else one derived from what a retry repeats."""
    if getattr(event, "event_id", None):
        return _fit(str(event.event_id))
    timestamp = getattr(event, "timestamp", None)
    if timestamp is not None and message_id:
        key = f"{message_id}:{event_type}:{timestamp.isoformat()}"
        url = getattr(event, "click_url", None)
        if url:
            key += ":" + hashlib.sha256(url.encode()).hexdigest()[:16]
        return _fit(key)
    # No id, no time or no message id: the raw payload is what a retry repeats.
    raw = json.dumps(getattr(event, "esp_event", None), sort_keys=True, default=str)
    return "raw:" + hashlib.sha256(f"{event_type}:{raw}".encode()).hexdigest()


def _metadata_delivery_id(event, esp_name=None):
    """The delivery id the event carries: anymail's metadata, else the ESP's custom id."""
    metadata = getattr(event, "metadata", None)
    value = metadata.get(DELIVERY_METADATA_KEY) if isinstance(metadata, dict) else None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return esp.event_custom_id(esp_name, _esp_fields(event))


def find_delivery(event, message_id, esp_name=None):
    """The delivery an event is about, or None (one or two queries)."""
    delivery_id = _metadata_delivery_id(event, esp_name)
    if delivery_id is not None:
        delivery = Delivery.objects.filter(pk=delivery_id).first()
        if delivery is not None:
            if not (
                message_id and delivery.esp_message_id and delivery.esp_message_id != message_id
            ):
                return delivery
            logger.warning(
                "Tracking event names delivery %s but message id %s is not its %s; "
                "ignoring the metadata",
                delivery_id,
                message_id,
                delivery.esp_message_id,
            )
    if not message_id:
        return None
    candidates = list(Delivery.objects.filter(esp_message_id=message_id).order_by("pk")[:2])
    if len(candidates) > 1:
        # Some ESPs share one message id among a batch's recipients.
        recipient = getattr(event, "recipient", None) or ""
        candidates = [
            d
            for d in Delivery.objects.filter(
                esp_message_id=message_id, contact__email__iexact=recipient
            )[:1]
        ]
    return candidates[0] if candidates else None


def _text(value, limit=None):
    text = "" if value is None else str(value)
    return text[:limit] if limit else text


def handle_event(event, esp_name: str) -> DeliveryEvent | None:
    """Record an anymail tracking event once and apply its effects; returns the new record.

    None when the event was already recorded (a retried webhook) or cannot be read.
    """
    try:
        prepared = _prepare(event, esp_name)
    except Exception:  # a payload we cannot read must not make the ESP retry forever
        logger.exception("Unreadable %s tracking event ignored", esp_name)
        return None
    with transaction.atomic():
        delivery = find_delivery(event, prepared["message_id"], esp_name)
        try:
            with transaction.atomic():
                record = DeliveryEvent.objects.create(delivery=delivery, **prepared)
        except IntegrityError:
            logger.debug("Duplicate %s event %s ignored", prepared["esp"], prepared["event_id"])
            return None
        if delivery is not None:
            mark_first_event(delivery.pk, record.event_type, record.timestamp)
        if delivery is None:
            logger.info(
                "%s %s event for unknown message %r recorded without a delivery",
                esp_name,
                prepared["event_type"],
                prepared["message_id"],
            )
        try:
            with transaction.atomic():
                apply_effects(record, event, delivery, esp_name)
        except DatabaseError:
            raise  # rolls the event back too: the ESP's retry will find it new
        except Exception:
            logger.exception(
                "Could not act on %s %s event %s", esp_name, record.event_type, record.pk
            )
        signals.event_recorded.send(sender=DeliveryEvent, event=record, delivery=delivery)
    return record


def mark_first_event(delivery_id: int, event_type: str, timestamp) -> int:
    """Keep on the delivery when the ESP first reported ``event_type`` (one UPDATE, or none).

    The earliest event wins: a later one leaves the time alone, and one the ESP
    sent late but that happened earlier moves it back. Event types the statistics
    do not count (deferred, other) change nothing.
    """
    name = FIRST_EVENT_FIELDS.get(event_type)
    if name is None:
        return 0
    earlier = Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gt": timestamp})
    return Delivery.objects.filter(earlier, pk=delivery_id).update(**{name: timestamp})


def _prepare(event, esp_name):
    """The DeliveryEvent fields for an anymail event, read defensively."""
    raw_type = _text(getattr(event, "event_type", None)) or "unknown"
    event_type = EVENT_TYPES.get(raw_type, Type.OTHER)
    message_id = _text(getattr(event, "message_id", None), MAX_KEY)
    timestamp = getattr(event, "timestamp", None) or timezone.now()
    if timezone.is_naive(timestamp):
        timestamp = timezone.make_aware(timestamp, UTC)
    description = esp.event_description(
        esp_name,
        _esp_fields(event),
        fallback=_text(getattr(event, "description", None) or getattr(event, "mta_response", None)),
    )
    if event_type == Type.OTHER:
        description = f"{raw_type}: {description}" if description else raw_type
    url = _text(getattr(event, "click_url", None))
    return {
        "esp": _text(esp_name, 50).lower() or "unknown",
        "event_id": event_key(event, message_id, raw_type),
        "message_id": message_id,
        "event_type": event_type,
        "timestamp": timestamp,
        "url": url if len(url) <= 2048 else "",
        "description": description,
    }


def _contact_id(event, delivery, event_type):
    """The contact an event acts on: the delivery's, else (address-level events) by address."""
    if delivery is not None:
        return delivery.contact_id
    if event_type not in (Type.BOUNCED, Type.COMPLAINED, Type.REJECTED, Type.UNSUBSCRIBED):
        return None
    recipient = _text(getattr(event, "recipient", None)).strip()
    if not recipient:
        return None
    return Contact.objects.filter(email__iexact=recipient).values_list("pk", flat=True).first()


def apply_effects(record, event, delivery, esp_name=None):
    """What a newly recorded event changes: suppression, unsubscribe, engagement, reconciliation."""
    event_type = record.event_type
    if delivery is not None and delivery.status == Delivery.Status.UNKNOWN:
        _settle(delivery.pk, [record])

    contact_id = _contact_id(event, delivery, event_type)
    if contact_id is None:
        return
    reject_reason = getattr(event, "reject_reason", None) or ""
    if event_type == Type.COMPLAINED:
        suppress(contact_id, Reason.COMPLAINT)
    elif event_type == Type.BOUNCED and is_hard_bounce(event, esp_name):
        suppress(contact_id, Reason.HARD_BOUNCE)
    elif event_type in (Type.BOUNCED, Type.DEFERRED):
        _count_soft_bounces(contact_id, record.timestamp)
    elif event_type == Type.REJECTED:
        if reject_reason in BAD_ADDRESS_REASONS or esp.blocks_address(esp_name, _esp_fields(event)):
            suppress(contact_id, Reason.REJECTED)
    elif event_type == Type.UNSUBSCRIBED:
        unsubscribe_everywhere(contact_id, source=f"esp:{record.esp}")
    elif event_type in (Type.OPENED, Type.CLICKED):
        record_engagement([contact_id], record.timestamp)


def _refuses(record) -> bool:
    """Whether a recorded event says the ESP refused the email (never sent it)."""
    return record.event_type == Type.REJECTED or (
        record.event_type == Type.OTHER and record.description.split(":")[0] == "failed"
    )


def _settle(delivery_id, records) -> bool:
    """Settle a delivery whose send outcome was unknown from what the ESP reported.

    A refusal among ``records`` makes it ``failed`` with the ESP's reason; any
    other event confirms it was sent: ``sent``, the stale error cleared, the
    ESP's message id kept. Compare-and-set: only an ``unknown`` row is settled,
    once. Returns whether it was.
    """
    refusal = next((r for r in records if _refuses(r)), None)
    decisive = refusal or records[0]
    changes = {}
    message_id = next((r.message_id for r in records if r.message_id), "")
    if message_id:
        changes["esp_message_id"] = Coalesce(NullIf("esp_message_id", Value("")), Value(message_id))
    if refusal is not None:
        changes.update(
            status=Delivery.Status.FAILED,
            last_error=f"The ESP refused this email ({refusal.description or refusal.event_type}).",
        )
    else:
        changes.update(
            status=Delivery.Status.SENT,
            last_error="",
            sent_at=Coalesce("sent_at", Value(decisive.timestamp)),
        )
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.UNKNOWN).update(**changes)
    )


def settle_unknown(delivery_ids) -> list[int]:
    """Settle the ``unknown`` deliveries among ``delivery_ids`` from events already recorded.

    The worker calls it right after writing ``unknown`` outcomes: an event that
    arrived while it still waited for the ESP's answer is what the ESP said.
    Returns the ids settled as ``sent``.
    """
    if not delivery_ids:
        return []
    by_delivery = {}
    for record in DeliveryEvent.objects.filter(
        delivery_id__in=list(delivery_ids), delivery__status=Delivery.Status.UNKNOWN
    ).order_by("timestamp", "pk"):
        by_delivery.setdefault(record.delivery_id, []).append(record)
    sent = []
    for delivery_id, records in by_delivery.items():
        if _settle(delivery_id, records) and not any(_refuses(r) for r in records):
            sent.append(delivery_id)
    return sent


def _count_soft_bounces(contact_id, when):
    """Suppress a contact once enough different emails to it soft-bounced within the window."""
    limit = conf.get("SOFT_BOUNCE_LIMIT")
    if not limit:
        return
    since = when - timedelta(days=conf.get("SOFT_BOUNCE_DAYS"))
    # An email deferred and then delivered (greylisting) is not a bounce.
    arrived = DeliveryEvent.objects.filter(
        delivery_id=OuterRef("delivery_id"),
        event_type__in=[Type.DELIVERED, Type.OPENED, Type.CLICKED],
    )
    bounced_emails = (
        DeliveryEvent.objects.filter(
            event_type__in=[Type.BOUNCED, Type.DEFERRED],
            delivery__contact_id=contact_id,
            timestamp__gte=since,
        )
        .exclude(Exists(arrived))
        .values("delivery_id")
        .distinct()
        .count()
    )
    if bounced_emails >= limit:
        suppress(contact_id, Reason.SOFT_BOUNCES)
