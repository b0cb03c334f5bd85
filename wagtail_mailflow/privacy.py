"""Data rights: export everything stored about a contact, and erase it.

Erasing keeps the numbers right. A contact's enrollments and deliveries are
what workflow statistics count, so they stay, detached from the contact
(``contact`` becomes NULL) and stripped of anything personal: active
enrollments exit with the reason ``erased``, deliveries not yet handed to the
ESP are withdrawn (``suppressed``), clicked URLs and ESP descriptions (which
can carry personal tokens or the address itself) are blanked. The contact row
is then deleted, and with it its memberships and properties.

Deliveries already ``sending`` are left alone: they are in the ESP's hands,
and their outcome is still counted when the ESP reports it.
"""

import logging
from dataclasses import asdict, dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Replace
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from .engine.exits import stop
from .models import Contact, Delivery, DeliveryEvent, Enrollment

logger = logging.getLogger(__name__)

#: What replaces the address where it appears inside free text (ESP error messages).
ERASED_PLACEHOLDER = "[erased]"

#: The action recorded in Wagtail's history when a contact is erased.
ERASE_ACTION = "wagtail_mailflow.erase_contact"


def _iso(value):
    return value.isoformat() if value is not None else None


def export_contact(contact) -> dict:
    """Everything stored about ``contact`` as a JSON-ready dict (fields, consent, history).

    A fixed number of queries whatever the contact's history.
    """
    contact = Contact.objects.select_related("user").get(pk=contact.pk)
    memberships = contact.memberships.select_related("contact_list").order_by("joined_at", "pk")
    enrollments = contact.enrollments.select_related("workflow").order_by("entered_at", "pk")
    deliveries = (
        Delivery.objects.filter(contact=contact)
        .select_related("workflow", "step", "step__template")
        .prefetch_related("events")
        .order_by("due_at", "pk")
    )
    user = contact.user
    return {
        "exported_at": _iso(timezone.now()),
        "contact": {
            "id": contact.pk,
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "language": contact.language,
            "timezone": contact.timezone,
            "created_at": _iso(contact.created_at),
            "updated_at": _iso(contact.updated_at),
            "last_engaged_at": _iso(contact.last_engaged_at),
            "site_user": (
                {"id": user.pk, "username": user.get_username()} if user is not None else None
            ),
        },
        "properties": dict(contact.properties or {}),
        "consent": {
            "given_at": _iso(contact.consent_at),
            "source": contact.consent_source,
        },
        "unsubscribed_at": _iso(contact.unsubscribed_at),
        "suppression": {
            "suppressed_at": _iso(contact.suppressed_at),
            "reason": contact.suppression_reason,
        },
        "memberships": [
            {
                "list": m.contact_list.name,
                "source": m.source,
                "source_detail": m.source_detail,
                "joined_at": _iso(m.joined_at),
                "confirmed_at": _iso(m.confirmed_at),
                "left_at": _iso(m.left_at),
            }
            for m in memberships
        ],
        "enrollments": [
            {
                "id": e.pk,
                "workflow": e.workflow.title,
                "workflow_id": e.workflow_id,
                "status": e.status,
                "exit_reason": e.exit_reason,
                "entered_at": _iso(e.entered_at),
                "ended_at": _iso(e.ended_at),
            }
            for e in enrollments
        ],
        "deliveries": [
            {
                "id": d.pk,
                "enrollment_id": d.enrollment_id,
                "workflow": d.workflow.title,
                "email": str(d.step.template) if d.step.template_id else "",
                "step_position": d.step.sort_order,
                "status": d.status,
                "due_at": _iso(d.due_at),
                "sent_at": _iso(d.sent_at),
                "attempts": d.attempts,
                "last_error": d.last_error,
                "esp_message_id": d.esp_message_id,
                "events": [
                    {
                        "type": ev.event_type,
                        "esp": ev.esp,
                        "timestamp": _iso(ev.timestamp),
                        "url": ev.url,
                        "description": ev.description,
                    }
                    for ev in sorted(d.events.all(), key=lambda ev: (ev.timestamp, ev.pk))
                ],
            }
            for d in deliveries
        ],
    }


@dataclass
class ErasureResult:
    """What one :func:`erase_contact` call changed (all zero when there was nothing left)."""

    erased: bool = False
    enrollments_kept: int = 0
    enrollments_exited: int = 0
    deliveries_kept: int = 0
    deliveries_withdrawn: int = 0
    events_scrubbed: int = 0
    memberships_deleted: int = 0

    def as_dict(self):
        """The counts as a plain dict (the management command prints it as JSON)."""
        return asdict(self)


def anonymous_label(contact_id):
    """How an erased contact is named in history: its former id, never its address."""
    return f"Contact #{contact_id} (erased)"


def erase_contact(contact, *, user=None, now=None) -> "ErasureResult":
    """Delete ``contact``'s personal data, keeping anonymous enrollments and deliveries.

    Idempotent: erasing a contact that is already gone changes nothing and
    returns ``ErasureResult(erased=False)``. The erase is recorded in Wagtail's
    history under the contact's id, without the address, and the labels of its
    earlier history entries (which Wagtail sets to the address) are replaced.
    """
    now = now or timezone.now()
    pk = getattr(contact, "pk", contact)
    result = ErasureResult()
    if pk is None:
        return result
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(pk=pk).first()
        if contact is None:
            return result
        emails = {contact.email, contact.email.lower()}
        deliveries = Delivery.objects.filter(contact_id=pk)
        where = Q(contact_id=pk)
        result.enrollments_exited, result.deliveries_withdrawn = stop(
            where,
            where,
            reason=Enrollment.ExitReason.ERASED,
            note="Not sent: the contact was erased.",
            now=now,
        )
        # Status, times sent and first delivered / opened / clicked / … stay: they
        # carry no personal data and keep the workflow's statistics right.
        # ESP error texts often quote the recipient.
        last_error = F("last_error")
        for email in emails:
            last_error = Replace(last_error, Value(email), Value(ERASED_PLACEHOLDER))
        deliveries.exclude(last_error="").update(last_error=last_error)
        # Clicked URLs can carry personal tokens; ESP descriptions can quote the address.
        mentions = Q()
        for email in emails:
            mentions |= Q(description__icontains=email) | Q(url__icontains=email)
        result.events_scrubbed = (
            DeliveryEvent.objects.filter(
                Q(delivery__contact_id=pk) | (Q(delivery__isnull=True) & mentions)
            )
            .exclude(url="", description="")
            .update(url="", description="")
        )
        result.enrollments_kept = Enrollment.objects.filter(contact_id=pk).count()
        result.deliveries_kept = deliveries.count()
        result.memberships_deleted = contact.memberships.count()

        label = anonymous_label(pk)
        content_type = ContentType.objects.get_for_model(Contact)
        ModelLogEntry.objects.filter(content_type=content_type, object_id=str(pk)).update(
            label=label, data={}
        )
        log(
            contact,
            ERASE_ACTION,
            user=user,
            title=label,
            deleted=True,
            data={
                "enrollments_kept": result.enrollments_kept,
                "deliveries_kept": result.deliveries_kept,
            },
        )
        contact.delete()  # enrollments and deliveries: SET_NULL; memberships: CASCADE
        result.erased = True
    logger.info(
        "Contact %s erased: %d enrollments and %d deliveries kept anonymously",
        pk,
        result.enrollments_kept,
        result.deliveries_kept,
    )
    return result
