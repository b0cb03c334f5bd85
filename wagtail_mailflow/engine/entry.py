"""Entering a workflow: who may enter, and creating the enrollment with its first delivery.

One rule decides eligibility, expressed once as a queryset: the single-contact
path asks the same queryset about one primary key, so a form post and a nightly
scan can never disagree. The database is the referee for duplicates: the
enrollment's unique constraints make a second trigger (a double submit, two
saves, two workers) a no-op.
"""

import datetime
import logging

from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Exists, F, OuterRef, QuerySet, Value
from django.utils import timezone

from .. import signals
from ..conditions import ConditionError, compile_q
from ..models import Contact, Delivery, EmailWorkflow, Enrollment, ListMembership
from .timing import SendingPeriod, due_time

logger = logging.getLogger(__name__)

#: How many contacts a bulk entry writes per transaction.
CHUNK_SIZE = 2000
#: After a bulk entry of at least this many contacts, PostgreSQL's statistics of the
#: enrollments and deliveries are refreshed (see :func:`_refresh_statistics`).
ANALYZE_AFTER = 10_000
#: The range of a 64-bit primary key, for an open end of an id window.
_SMALLEST_ID, _LARGEST_ID = -(2**63), 2**63 - 1


def eligible_contacts(
    workflow: EmailWorkflow,
    today: datetime.date | None = None,
    *,
    after: int | None = None,
    upto: int | None = None,
) -> QuerySet:
    """Contacts who may enter ``workflow`` now, whatever their previous entries.

    Subscribed to the workflow's list (confirmed where the list uses double
    opt-in), not unsubscribed or suppressed, and matching the segment.
    ``after`` (excluded) and ``upto`` (included) bound the contact ids, in the
    memberships looked up too, so that PostgreSQL reads only that range of them.
    """
    subscribed = ListMembership.objects.subscribed().filter(
        contact=OuterRef("pk"), contact_list_id=workflow.contact_list_id
    )
    contacts = Contact.objects.reachable()
    if after is not None:
        contacts = contacts.filter(pk__gt=after)
        subscribed = subscribed.filter(contact_id__gt=after)
    if upto is not None:
        contacts = contacts.filter(pk__lte=upto)
        subscribed = subscribed.filter(contact_id__lte=upto)
    contacts = contacts.filter(Exists(subscribed))
    if workflow.segment_id:
        contacts = contacts.filter(compile_q(workflow.segment.conditions, today=today))
    return contacts


def segment_usable(workflow: EmailWorkflow) -> bool:
    """Whether the workflow's segment can be evaluated; if not, say so in the log.

    A property its conditions read may have been deleted or changed type: then
    nobody enters the workflow (whoever triggered the entry is stored all the
    same) and the workflow's page shows the problem (``condition_problems``).
    """
    if not workflow.segment_id:
        return True
    try:
        compile_q(workflow.segment.conditions)
    except ConditionError as exc:
        logger.warning("Workflow %s skipped: its segment cannot be evaluated: %s", workflow.pk, exc)
        return False
    return True


def ordered_steps(workflow: EmailWorkflow) -> list:
    """The workflow's steps in order (cached on the instance for a batch)."""
    cache = getattr(workflow, "_mailflow_steps", None)
    if cache is None:
        cache = list(workflow.steps.order_by("sort_order", "pk"))
        workflow._mailflow_steps = cache
    return cache


def enter(
    workflow: EmailWorkflow,
    contact: Contact,
    *,
    entry_key: str = "",
    now: datetime.datetime | None = None,
) -> Enrollment | None:
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
        if status != EmailWorkflow.Status.ACTIVE or not segment_usable(workflow):
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
        signals.workflow_entered.send(
            sender=EmailWorkflow, workflow=workflow, contact_ids=[contact.pk]
        )
    if due <= now:
        signals.deliveries_due.send(sender=EmailWorkflow, workflow=workflow)
    logger.info("Contact %s entered workflow %s", contact.pk, workflow.pk)
    return enrollment


def enter_many(
    workflow: EmailWorkflow,
    contacts: QuerySet,
    *,
    entry_key: str = "",
    key_expression=None,
    now: datetime.datetime | None = None,
    today: datetime.date | None = None,
) -> int:
    """Enter every eligible contact of the ``contacts`` queryset; returns how many entered.

    Set-based: the contacts are taken in windows of CHUNK_SIZE ids, and each
    window is written by two INSERT … SELECT statements in its own transaction;
    nothing is loaded all at once. ``key_expression`` (an
    expression on Contact) gives a per-contact entry key instead of the
    constant ``entry_key``.
    """
    now = now or timezone.now()
    if not EmailWorkflow.objects.filter(
        pk=workflow.pk, status=EmailWorkflow.Status.ACTIVE
    ).exists() or not segment_usable(workflow):
        return 0
    steps = ordered_steps(workflow)
    if not steps:
        return 0
    first = steps[0]
    due = due_time(now, first, workflow, SendingPeriod.for_workflow(workflow))

    def fresh(after=None, upto=None):
        """Eligible contacts of ``contacts`` in the id range, not in the workflow already."""
        candidates = eligible_contacts(workflow, today=today, after=after, upto=upto).filter(
            pk__in=contacts.values("pk")
        )
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
        else:
            previous = Enrollment.objects.filter(workflow=workflow, contact=OuterRef("pk"))
            if workflow.allow_reentry or entry_key:
                previous = previous.filter(entry_key=entry_key)
            candidates = candidates.annotate(_entry_key=Value(entry_key, output_field=CharField()))
        return candidates.exclude(Exists(previous)).order_by()

    entered = 0
    # Windows of CHUNK_SIZE contact ids, each bounded on both sides in every table it
    # reads (memberships included), so each costs what its window holds whatever the
    # size of the tables. (One query streaming the eligible ids was planned by PostgreSQL
    # as a cursor, for its first rows: nested loops rescanning the memberships per contact.)
    ids = contacts.order_by("pk").values_list("pk", flat=True)
    last = None
    while True:
        window = ids if last is None else ids.filter(pk__gt=last)
        ends = list(window[CHUNK_SIZE - 1 : CHUNK_SIZE])
        upto = ends[0] if ends else None
        id_range = (
            _SMALLEST_ID if last is None else last + 1,
            _LARGEST_ID if upto is None else upto,
        )
        rows = fresh(after=last, upto=upto)
        entered += _enter_chunk(workflow, first, rows, id_range, due, now)
        if upto is None:
            break
        last = upto
    if entered >= ANALYZE_AFTER:
        _refresh_statistics()
    if entered and due <= now:
        signals.deliveries_due.send(sender=EmailWorkflow, workflow=workflow, count=entered)
    return entered


def _refresh_statistics():
    """ANALYZE the enrollments and deliveries on PostgreSQL after a large bulk entry.

    The claim reads due deliveries through the ``(status, due_at)`` index, a few
    hundred rows a batch. With statistics taken before thousands of deliveries
    were added at once, PostgreSQL estimates the workflow's scheduled rows at
    next to none and reads all of them through the ``(workflow, status)`` index
    instead, sorting them for every batch: 40 ms a claim at 100,000 rather than
    3 ms, until autovacuum analyzes the table. ANALYZE samples a fixed number
    of rows, so it costs a fraction of a second however large the table is.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Enrollment, Delivery):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _enter_chunk(workflow, first_step, contacts, id_range, due, now):
    """Enroll the ``contacts`` (annotated with ``_entry_key``) and write their first deliveries.

    Two INSERT … SELECT statements, whatever the size of the chunk: the rows are
    never built in Python, and SQLite's limit on query variables never splits them.
    """
    ops = connection.ops
    # The new contacts' ids are read back only when a site listens for entries.
    listening = signals.workflow_entered.has_listeners(EmailWorkflow)
    enrollments = ops.quote_name(Enrollment._meta.db_table)
    deliveries = ops.quote_name(Delivery._meta.db_table)
    at = ops.adapt_datetimefield_value(now)
    select, select_params = (
        contacts.annotate(_contact=F("pk")).values_list("_contact", "_entry_key").query
    ).sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {enrollments} "
            f"(workflow_id, contact_id, entry_key, status, exit_reason, entered_at) "
            f"SELECT %s, chunk._contact, COALESCE(chunk._entry_key, ''), %s, '', %s "
            f"FROM ({select}) chunk WHERE 1 = 1 ON CONFLICT DO NOTHING"
            + (" RETURNING contact_id" if listening else ""),
            [workflow.pk, Enrollment.Status.ACTIVE, at, *select_params],
        )
        entered_ids = [row[0] for row in cursor.fetchall()] if listening else []
        # The enrollments this chunk created are the active ones still without a delivery.
        cursor.execute(
            f"INSERT INTO {deliveries} (enrollment_id, step_id, workflow_id, contact_id, status, "
            f"due_at, claim_token, attempts, last_error, esp_message_id, created_at) "
            f"SELECT e.id, %s, e.workflow_id, e.contact_id, %s, %s, '', 0, '', '', %s "
            f"FROM {enrollments} e WHERE e.workflow_id = %s "
            f"AND e.contact_id >= %s AND e.contact_id <= %s "
            f"AND e.status = %s AND e.entered_at = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {deliveries} d WHERE d.enrollment_id = e.id) "
            f"ON CONFLICT DO NOTHING",
            [
                first_step.pk,
                Delivery.Status.SCHEDULED,
                ops.adapt_datetimefield_value(due),
                at,
                workflow.pk,
                *id_range,
                Enrollment.Status.ACTIVE,
                at,
            ],
        )
        if entered_ids:
            signals.workflow_entered.send(
                sender=EmailWorkflow, workflow=workflow, contact_ids=entered_ids
            )
        return cursor.rowcount
