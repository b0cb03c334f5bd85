"""Leaving: unsubscribes, suppressions and engagement, applied to sets of contacts.

Each function is a handful of UPDATEs whatever the number of contacts (ids are
processed in chunks so SQLite's variable limit is never reached). Every UPDATE
is conditional (``left_at IS NULL``, ``status = 'active'``, ``status IN
(scheduled, claimed)``), so calling a function twice changes nothing the second
time, and a worker racing with an unsubscribe loses cleanly: a delivery it
claimed but has not handed to the ESP becomes ``suppressed`` here, and the
worker's own ``claimed → sending`` update then matches no row.

Deliveries already ``sending`` are left alone: they are in the ESP's hands.
"""

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .. import signals
from ..models import Contact, Delivery, Enrollment, ListMembership

logger = logging.getLogger(__name__)

#: Delivery statuses that have not reached the ESP and can still be stopped.
PENDING_STATUSES = (Delivery.Status.SCHEDULED, Delivery.Status.CLAIMED)

#: Ids per UPDATE ... WHERE id IN (...) (SQLite allows 32,766 variables, older builds 999).
CHUNK_SIZE = 900


@dataclass
class ExitResult:
    """How many rows one call changed (0 everywhere when it was already done)."""

    contacts: int = 0
    memberships: int = 0
    enrollments: int = 0
    deliveries: int = 0

    def __iadd__(self, other):
        self.contacts += other.contacts
        self.memberships += other.memberships
        self.enrollments += other.enrollments
        self.deliveries += other.deliveries
        return self


def _contact_id_chunks(contacts):
    """Turn a contact, an id, an iterable of either, or a queryset into chunks of ids."""
    if isinstance(contacts, Contact):
        yield [contacts.pk]
        return
    if isinstance(contacts, int):
        yield [contacts]
        return
    if isinstance(contacts, QuerySet):
        contacts = contacts.values_list("pk", flat=True).iterator(chunk_size=CHUNK_SIZE)
    if not isinstance(contacts, Iterable):
        raise TypeError(f"Expected a contact, an id or an iterable of ids, not {contacts!r}")
    chunk = []
    for item in contacts:
        if item is None:
            continue  # a delivery whose contact was erased while it was being sent
        chunk.append(item.pk if isinstance(item, Contact) else int(item))
        if len(chunk) >= CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def stop(
    enrollments: Q | None,
    deliveries: Q | None,
    *,
    reason: str,
    note: str,
    now: datetime.datetime,
) -> tuple[int, int]:
    """Stop contacts: THE way enrollments exit and unsent deliveries are withdrawn.

    Active enrollments matching ``enrollments`` exit with ``reason``; deliveries
    matching ``deliveries`` that have not reached the ESP become ``suppressed``
    with ``note`` as their last error, and leave any claim. ``None`` leaves that
    table alone. Both UPDATEs are conditional, so a second call changes nothing.
    Returns (enrollments exited, deliveries withdrawn).
    """
    exited = withdrawn = 0
    if enrollments is not None:
        exited = Enrollment.objects.filter(enrollments, status=Enrollment.Status.ACTIVE).update(
            status=Enrollment.Status.EXITED, exit_reason=reason, ended_at=now
        )
    if deliveries is not None:
        withdrawn = Delivery.objects.filter(deliveries, status__in=PENDING_STATUSES).update(
            status=Delivery.Status.SUPPRESSED,
            claim_token="",
            claimed_until=None,
            last_error=note,
        )
    return exited, withdrawn


def unsubscribe_from_list(
    contact: Contact | int,
    contact_list: object,
    source: str = "link",
    *,
    now: datetime.datetime | None = None,
) -> ExitResult:
    """Take ``contact`` off ``contact_list`` and stop the workflows that draw on that list.

    The membership is marked left, the contact's active enrollments in the
    list's workflows exit (``unsubscribed``) and their unsent deliveries become
    ``suppressed``. Other lists and workflows are untouched. Idempotent.
    """
    now = now or timezone.now()
    contact_id = getattr(contact, "pk", contact)
    list_id = getattr(contact_list, "pk", contact_list)
    with transaction.atomic():
        memberships = ListMembership.objects.filter(
            contact_id=contact_id, contact_list_id=list_id, left_at__isnull=True
        ).update(left_at=now)
        where = Q(contact_id=contact_id, workflow__contact_list_id=list_id)
        enrollments, deliveries = stop(
            where,
            where,
            reason=Enrollment.ExitReason.UNSUBSCRIBED,
            note="Not sent: the contact unsubscribed from the list.",
            now=now,
        )
        if memberships:
            signals.contact_unsubscribed.send(
                sender=Contact, contact_id=contact_id, contact_list_id=list_id, source=source
            )
    if memberships or enrollments or deliveries:
        logger.info(
            "Contact %s unsubscribed from list %s (%s): %d enrollments exited, "
            "%d deliveries suppressed",
            contact_id,
            list_id,
            source,
            enrollments,
            deliveries,
        )
    return ExitResult(0, memberships, enrollments, deliveries)


def unsubscribe_everywhere(
    contact: Contact | int, source: str = "link", *, now: datetime.datetime | None = None
) -> ExitResult:
    """Unsubscribe ``contact`` from all marketing email: every list, every workflow. Idempotent.

    ``unsubscribed_at`` keeps the time of the first request.
    """
    now = now or timezone.now()
    contact_id = getattr(contact, "pk", contact)
    with transaction.atomic():
        contacts = Contact.objects.filter(pk=contact_id, unsubscribed_at__isnull=True).update(
            unsubscribed_at=now, updated_at=now
        )
        memberships = ListMembership.objects.filter(
            contact_id=contact_id, left_at__isnull=True
        ).update(left_at=now)
        where = Q(contact_id=contact_id)
        enrollments, deliveries = stop(
            where,
            where,
            reason=Enrollment.ExitReason.UNSUBSCRIBED,
            note="Not sent: the contact unsubscribed from all emails.",
            now=now,
        )
        if contacts:
            signals.contact_unsubscribed.send(
                sender=Contact, contact_id=contact_id, contact_list_id=None, source=source
            )
    if contacts or enrollments or deliveries:
        logger.info(
            "Contact %s unsubscribed from all emails (%s): %d enrollments exited, "
            "%d deliveries suppressed",
            contact_id,
            source,
            enrollments,
            deliveries,
        )
    if isinstance(contact, Contact) and contact.unsubscribed_at is None:
        contact.unsubscribed_at = now
    return ExitResult(contacts, memberships, enrollments, deliveries)


def suppress(contacts: object, reason: str, *, now: datetime.datetime | None = None) -> ExitResult:
    """Suppress addresses (a contact, an id, ids or a queryset): nothing is ever sent to them again.

    ``suppressed_at`` and ``suppression_reason`` keep the first suppression;
    active enrollments exit (``suppressed``) and unsent deliveries become
    ``suppressed``. Memberships are kept: the contact did not ask to leave.
    """
    reason = Contact.SuppressionReason(reason)
    now = now or timezone.now()
    result = ExitResult()
    for ids in _contact_id_chunks(contacts):
        with transaction.atomic():
            fresh = Contact.objects.filter(pk__in=ids, suppressed_at__isnull=True)
            # Which contacts this call suppresses is read only when a site listens.
            listening = signals.contact_suppressed.has_listeners(Contact)
            if listening:
                newly = list(fresh.select_for_update().values_list("pk", flat=True))
                fresh = Contact.objects.filter(pk__in=newly, suppressed_at__isnull=True)
            changed = fresh.update(suppressed_at=now, suppression_reason=reason, updated_at=now)
            where = Q(contact_id__in=ids)
            enrollments, deliveries = stop(
                where,
                where,
                reason=Enrollment.ExitReason.SUPPRESSED,
                note=f"Not sent: the address is suppressed ({reason.label}).",
                now=now,
            )
            if listening and changed:
                signals.contact_suppressed.send(sender=Contact, contact_ids=newly, reason=reason)
        result += ExitResult(changed, 0, enrollments, deliveries)
    if result.contacts:
        logger.info("%d contacts suppressed (%s)", result.contacts, reason.value)
    if isinstance(contacts, Contact) and contacts.suppressed_at is None:
        contacts.suppressed_at, contacts.suppression_reason = now, reason.value
    return result


def record_engagement(contacts: object, when: datetime.datetime | None = None) -> int:
    """Set ``last_engaged_at`` to ``when`` where that is later than what is stored.

    An older event arriving late (ESPs retry) never moves the date backwards.
    Returns how many contacts changed.
    """
    when = when or timezone.now()
    changed = 0
    for ids in _contact_id_chunks(contacts):
        changed += (
            Contact.objects.filter(pk__in=ids)
            .filter(Q(last_engaged_at__isnull=True) | Q(last_engaged_at__lt=when))
            .update(last_engaged_at=when)
        )
    return changed
