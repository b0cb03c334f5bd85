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

Erasing forgets the person, not their wish: a contact who was suppressed or had
unsubscribed from everything leaves a :class:`DoNotContact` record holding only a
keyed hash of the lowercased address, the reason and the date. Imports skip such
an address and a signup for it waits for a confirmation from the mailbox
(:func:`is_do_not_contact`). The address is also replaced in the problems the
contact imports kept (on the record and in the problems file).
"""

import csv
import io
import logging
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Replace
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from .contact_import.csv_output import writer as csv_writer
from .engine.exits import stop
from .integrations.form_submissions import erase_submissions
from .models import Contact, ContactImport, Delivery, DeliveryEvent, DoNotContact, Enrollment

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
    form_submissions_deleted: int = 0


def is_do_not_contact(email: str) -> "DoNotContact | None":
    """The do-not-contact record of an erased address (any case), or None.

    An address with a record was erased after it unsubscribed from everything or
    was suppressed: it must not be mailed again until its mailbox confirms a new
    signup. Imports skip it; ``api.subscribe`` keeps a new contact for it
    unsubscribed, so nothing is sent before that confirmation.
    """
    return DoNotContact.objects.for_address(email)


def forget_do_not_contact(email: str) -> int:
    """Delete the do-not-contact record of ``email`` (its mailbox confirmed a signup)."""
    return DoNotContact.objects.forget(email)


def _do_not_contact_reason(contact):
    if contact.suppressed_at is not None:
        return DoNotContact.Reason.SUPPRESSED
    if contact.unsubscribed_at is not None:
        return DoNotContact.Reason.UNSUBSCRIBED
    return None


def _scrub_text(text, emails):
    lowered = text.lower()
    for email in emails:
        start = lowered.find(email)
        while start != -1:
            text = text[:start] + ERASED_PLACEHOLDER + text[start + len(email) :]
            lowered = text.lower()
            start = lowered.find(email, start + len(ERASED_PLACEHOLDER))
    return text


def scrub_imports(email: str) -> int:
    """Replace ``email`` (any case) in every import's problems and problems file; how many.

    Reads the problem records of the imports that have any (imports are few);
    a problems file is rewritten only when it mentions the address.
    """
    emails = {email.lower()}
    changed = 0
    jobs = ContactImport.objects.exclude(issues=[], errors_file="").only(
        "pk", "issues", "errors_file"
    )
    for job in jobs.iterator():
        touched = []
        issues = [
            {key: _scrub_text(value, emails) if isinstance(value, str) else value
             for key, value in issue.items()}
            for issue in job.issues or []
        ]  # fmt: skip
        if issues != job.issues:
            job.issues = issues
            touched.append("issues")
        if job.errors_file:
            try:
                with job.errors_file.open("rb") as stored:
                    text = stored.read().decode("utf-8-sig")
            except FileNotFoundError:
                text = ""
            if email.lower() in text.lower():
                out = io.StringIO()
                writer = csv_writer(out)
                for row in csv.reader(io.StringIO(text, newline="")):
                    writer.writerow([_scrub_text(cell, emails) for cell in row])
                name = job.errors_file.name.rsplit("/", 1)[-1]
                job.errors_file.delete(save=False)
                job.errors_file.save(
                    name, ContentFile(("\ufeff" + out.getvalue()).encode("utf-8")), save=False
                )
                touched.append("errors_file")
        if touched:
            job.save(update_fields=touched)
            changed += 1
    return changed


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
        # Submissions of signup form pages repeat the address (and the answers).
        result.form_submissions_deleted = erase_submissions(emails)

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
        reason = _do_not_contact_reason(contact)
        if reason:
            DoNotContact.objects.record(contact.email, reason, now=now)
        scrub_imports(contact.email)
        contact.delete()  # enrollments and deliveries: SET_NULL; memberships: CASCADE
        result.erased = True
    logger.info(
        "Contact %s erased: %d enrollments and %d deliveries kept anonymously",
        pk,
        result.enrollments_kept,
        result.deliveries_kept,
    )
    return result
