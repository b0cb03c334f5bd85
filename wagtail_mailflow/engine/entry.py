"""Entering a workflow: who may enter, and creating the enrollment with its first delivery.

One rule decides eligibility, expressed once as a queryset: the single-contact
path asks the same queryset about one primary key, so a form post and a nightly
scan can never disagree. The database is the referee for duplicates: the
enrollment's unique constraints make a second trigger (a double submit, two
saves, two workers) a no-op.
"""

import itertools
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import Contact, Delivery, EmailWorkflow, Enrollment, ListMembership
from .timing import SendingPeriod, due_time

logger = logging.getLogger(__name__)

#: How many contacts a bulk entry writes per transaction.
CHUNK_SIZE = 2000


def eligible_contacts(workflow, today=None):
    """Contacts who may enter ``workflow`` now, whatever their previous entries.

    Subscribed to the workflow's list (confirmed where the list uses double
    opt-in), not unsubscribed or suppressed, and matching the segment.
    """
    subscribed = ListMembership.objects.subscribed().filter(
        contact=OuterRef("pk"), contact_list_id=workflow.contact_list_id
    )
    contacts = Contact.objects.reachable().filter(Exists(subscribed))
    if workflow.segment_id:
        from ..conditions import compile_q

        contacts = contacts.filter(compile_q(workflow.segment.conditions, today=today))
    return contacts


def ordered_steps(workflow):
    """The workflow's steps in order (cached on the instance for a batch)."""
    cache = getattr(workflow, "_mailflow_steps", None)
    if cache is None:
        cache = list(workflow.steps.order_by("sort_order", "pk"))
        workflow._mailflow_steps = cache
    return cache


def enter(workflow, contact, *, entry_key="", now=None):
    """Enter one contact into ``workflow``; returns the enrollment, or None if it may not enter.

    The enrollment and its first delivery are written in one transaction (the
    caller's, when there is one). When the first email is due at once, the
    workers are woken as soon as that transaction commits.
    """
    now = now or timezone.now()
    with transaction.atomic():
        status = (
            EmailWorkflow.objects.filter(pk=workflow.pk).values_list("status", flat=True).first()
        )
        if status != EmailWorkflow.Status.ACTIVE:
            return None
        if not eligible_contacts(workflow).filter(pk=contact.pk).exists():
            return None
        steps = ordered_steps(workflow)
        if not steps:
            return None
        try:
            with transaction.atomic():
                enrollment = Enrollment.objects.create(
                    workflow=workflow, contact=contact, entry_key=entry_key, entered_at=now
                )
        except IntegrityError:
            return None  # already in (or already entered under this key)
        due = due_time(now, steps[0], workflow)
        Delivery.objects.create(
            enrollment=enrollment,
            step=steps[0],
            workflow=workflow,
            contact=contact,
            due_at=due,
            created_at=now,
        )
    if due <= now:
        from .tasks import wake_on_commit

        wake_on_commit()
    logger.info("Contact %s entered workflow %s", contact.pk, workflow.pk)
    return enrollment


def enter_many(workflow, contacts, *, entry_key="", key_expression=None, now=None, today=None):
    """Enter every eligible contact of the ``contacts`` queryset; returns how many entered.

    Set-based: eligible ids are streamed from the database and written with
    ``bulk_create`` in chunks of CHUNK_SIZE (three queries a chunk), never
    loaded all at once. ``key_expression`` (an expression on Contact) gives a
    per-contact entry key instead of the constant ``entry_key``.
    """
    now = now or timezone.now()
    if not EmailWorkflow.objects.filter(
        pk=workflow.pk, status=EmailWorkflow.Status.ACTIVE
    ).exists():
        return 0
    steps = ordered_steps(workflow)
    if not steps:
        return 0
    first = steps[0]
    due = due_time(now, first, workflow, SendingPeriod.for_workflow(workflow))

    candidates = eligible_contacts(workflow, today=today).filter(pk__in=contacts.values("pk"))
    # Already in the workflow now: never twice at once.
    candidates = candidates.exclude(
        Exists(
            Enrollment.objects.filter(
                workflow=workflow, contact=OuterRef("pk"), status=Enrollment.Status.ACTIVE
            )
        )
    )
    if key_expression is not None:
        candidates = candidates.annotate(_entry_key=key_expression)
        previous = Enrollment.objects.filter(
            workflow=workflow, contact=OuterRef("pk"), entry_key=OuterRef("_entry_key")
        )
        rows = candidates.exclude(Exists(previous)).values_list("pk", "_entry_key")
    else:
        previous = Enrollment.objects.filter(workflow=workflow, contact=OuterRef("pk"))
        if workflow.allow_reentry or entry_key:
            previous = previous.filter(entry_key=entry_key)
        rows = candidates.exclude(Exists(previous)).values_list("pk")
        rows = ((row[0], entry_key) for row in rows.iterator(chunk_size=CHUNK_SIZE))

    entered = 0
    iterator = rows.iterator(chunk_size=CHUNK_SIZE) if hasattr(rows, "iterator") else rows
    for chunk in batched(iterator, CHUNK_SIZE):
        entered += _enter_chunk(workflow, first, chunk, due, now)
    if entered and due <= now:
        from .tasks import wake_on_commit

        wake_on_commit()
    return entered


def batched(iterable, size):
    """Tuples of up to ``size`` items (itertools.batched is Python 3.12+)."""
    iterator = iter(iterable)
    while chunk := tuple(itertools.islice(iterator, size)):
        yield chunk


def _enter_chunk(workflow, first_step, rows, due, now):
    with transaction.atomic():
        Enrollment.objects.bulk_create(
            [
                Enrollment(workflow=workflow, contact_id=pk, entry_key=key or "", entered_at=now)
                for pk, key in rows
            ],
            ignore_conflicts=True,
        )
        # The enrollments this chunk created are the active ones still without a delivery.
        created = Enrollment.objects.filter(
            workflow=workflow,
            contact_id__in=[pk for pk, _key in rows],
            status=Enrollment.Status.ACTIVE,
            entered_at=now,
        ).exclude(Exists(Delivery.objects.filter(enrollment=OuterRef("pk"))))
        deliveries = [
            Delivery(
                enrollment_id=enrollment_id,
                step=first_step,
                workflow=workflow,
                contact_id=contact_id,
                due_at=due,
                created_at=now,
            )
            for enrollment_id, contact_id in created.values_list("pk", "contact_id")
        ]
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return len(deliveries)
