"""Deliveries (one email of one step to one contact) and what the ESP reported about them."""

import datetime
from typing import NamedTuple

from django.db import models
from django.db.models.functions import TruncHour
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from .contacts import Contact
from .enrollments import Enrollment
from .workflows import EmailWorkflow, WorkflowStep


class UTCHour(TruncHour):
    """The hour (UTC) of a datetime; an index expression with nothing to serialize but the field."""

    def __init__(self, expression, **extra):
        super().__init__(expression, tzinfo=datetime.UTC, **extra)


class Delivery(models.Model):
    """One email of one workflow step for one contact; the source of truth for sending."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        # Claimed by a worker that has not yet talked to the ESP: safe to re-claim
        # when the lease expires.
        CLAIMED = "claimed", _("Claimed")
        # Handed to the ESP: if the lease expires here the outcome is unknown.
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")
        UNKNOWN = "unknown", _("Outcome unknown")

    enrollment = models.ForeignKey(
        Enrollment,
        verbose_name=_("enrollment"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    step = models.ForeignKey(
        WorkflowStep, verbose_name=_("email"), on_delete=models.CASCADE, related_name="deliveries"
    )
    # Denormalised from the enrollment so listings and statistics need no joins.
    workflow = models.ForeignKey(
        EmailWorkflow,
        verbose_name=_("workflow"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED
    )
    due_at = models.DateTimeField(_("due"))
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    claim_token = models.CharField(_("claim"), max_length=32, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    esp_message_id = models.CharField(_("ESP message id"), max_length=255, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)
    # When the ESP first reported each outcome (the earliest event of that type),
    # set by the tracking receiver: the statistics count them without reading events.
    # No personal data: an erasure keeps them, like the delivery's status.
    delivered_at = models.DateTimeField(_("Delivered"), null=True, blank=True, editable=False)
    opened_at = models.DateTimeField(_("Opened"), null=True, blank=True, editable=False)
    clicked_at = models.DateTimeField(_("Clicked"), null=True, blank=True, editable=False)
    bounced_at = models.DateTimeField(_("Bounced"), null=True, blank=True, editable=False)
    rejected_at = models.DateTimeField(_("Rejected"), null=True, blank=True, editable=False)
    complained_at = models.DateTimeField(_("Spam complaint"), null=True, blank=True, editable=False)
    unsubscribed_at = models.DateTimeField(_("Unsubscribed"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-due_at"]
        verbose_name = _("sent email")
        verbose_name_plural = _("sent emails")
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step"], name="mailflow_delivery_once_per_step"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="mailflow_delivery_due"),
            models.Index(fields=["workflow", "status"], name="mailflow_delivery_wf_status"),
            models.Index(fields=["esp_message_id"], name="mailflow_delivery_msgid"),
            # Statistics: a workflow's emails sent in a period.
            models.Index(fields=["workflow", "sent_at"], name="mailflow_delivery_wf_sent"),
            # Statistics: the hour (UTC) each email was sent, the chart's unit. Its
            # statistics tell PostgreSQL's planner how few (email, hour) groups a
            # period has, so it aggregates them in parallel hash tables.
            models.Index(
                models.F("workflow"),
                UTCHour("sent_at"),
                name="mailflow_delivery_wf_hour",
            ),
        ]

    def __str__(self):
        return f"{self.step} → {self.contact or '—'} ({self.get_status_display()})"


class DeliveryEvent(models.Model):
    """Something the ESP reported about a sent email, recorded once per ESP event."""

    class Type(models.TextChoices):
        DELIVERED = "delivered", _("Delivered")
        OPENED = "opened", _("Opened")
        CLICKED = "clicked", _("Clicked")
        BOUNCED = "bounced", _("Bounced")
        DEFERRED = "deferred", _("Deferred")
        REJECTED = "rejected", _("Rejected")
        COMPLAINED = "complained", _("Spam complaint")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        OTHER = "other", _("Other")

    delivery = models.ForeignKey(
        Delivery,
        verbose_name=_("delivery"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
    )
    esp = models.CharField(_("ESP"), max_length=50)
    #: The ESP's own event id, or message id + type + timestamp where it has none.
    event_id = models.CharField(_("event id"), max_length=255)
    message_id = models.CharField(_("message id"), max_length=255, blank=True)
    event_type = models.CharField(_("event"), max_length=20, choices=Type.choices)
    timestamp = models.DateTimeField(_("time"), default=now)
    url = models.URLField(_("clicked URL"), max_length=2048, blank=True)
    description = models.TextField(_("description"), blank=True)
    received_at = models.DateTimeField(_("received"), default=now, editable=False)

    class Meta:
        ordering = ["-timestamp"]
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        constraints = [
            models.UniqueConstraint(fields=["esp", "event_id"], name="mailflow_event_once"),
        ]
        indexes = [models.Index(fields=["delivery", "event_type"], name="mailflow_event_type")]

    def __str__(self):
        return f"{self.get_event_type_display()} ({self.esp})"


class EspEvent(NamedTuple):
    """One kind of ESP event: how it is stored, and what the statistics make of it."""

    #: anymail's normalised event type (``AnymailTrackingEvent.event_type``).
    anymail: str
    #: The type recorded on the :class:`DeliveryEvent`.
    type: str
    #: The delivery field keeping the time of the first such event, or None (not counted).
    first_field: str | None
    #: The statistics column the event counts towards, or None.
    statistic: str | None


#: THE ESP event vocabulary: every other table of event types derives from this one.
#: anymail's types not listed here are recorded as ``other``.
ESP_EVENTS = (
    EspEvent("delivered", DeliveryEvent.Type.DELIVERED, "delivered_at", "delivered"),
    EspEvent("opened", DeliveryEvent.Type.OPENED, "opened_at", "opened"),
    EspEvent("clicked", DeliveryEvent.Type.CLICKED, "clicked_at", "clicked"),
    EspEvent("bounced", DeliveryEvent.Type.BOUNCED, "bounced_at", "bounced"),
    EspEvent("deferred", DeliveryEvent.Type.DEFERRED, None, None),
    EspEvent("rejected", DeliveryEvent.Type.REJECTED, "rejected_at", "blocked"),
    EspEvent("complained", DeliveryEvent.Type.COMPLAINED, "complained_at", "spam"),
    EspEvent("unsubscribed", DeliveryEvent.Type.UNSUBSCRIBED, "unsubscribed_at", "unsubscribed"),
)

#: anymail's event type → the type recorded.
EVENT_TYPES = {event.anymail: event.type for event in ESP_EVENTS}
#: The delivery field holding the time of the first event of each type the statistics count.
FIRST_EVENT_FIELDS = {event.type: event.first_field for event in ESP_EVENTS if event.first_field}
#: The statistics column each counted event type counts towards.
EVENT_STATISTICS = {event.type: event.statistic for event in ESP_EVENTS if event.statistic}


class SendingPause(models.Model):
    """Sending waits until ``until`` after the ESP refused the account itself (401/403, quota).

    Attempts are not burned while paused: the deliveries simply stay scheduled.
    """

    key = models.CharField(_("key"), max_length=50, unique=True, default="default")
    until = models.DateTimeField(_("paused until"))
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("sending pause")
        verbose_name_plural = _("sending pauses")

    def __str__(self):
        return f"{self.key} until {self.until:%Y-%m-%d %H:%M}"


class SendingRate(models.Model):
    """The shared send-rate bucket when the cache is not Redis (see ``sending/rate.py``).

    ``next_at`` is when the next email may go, in microseconds since the epoch: every
    worker reserves its turns by moving it forward with a conditional UPDATE.
    """

    key = models.CharField(_("key"), max_length=50, unique=True, default="default")
    next_at = models.BigIntegerField(_("next email at (µs since the epoch)"), default=0)

    class Meta:
        verbose_name = _("sending rate")
        verbose_name_plural = _("sending rates")

    def __str__(self):
        return f"{self.key}: {self.next_at}"
