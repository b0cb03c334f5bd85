"""Claiming due deliveries for one batch, reading them back, and releasing abandoned claims.

One UPDATE takes up to a batch of due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two clusters never take the same row; SQLite serialises
writers) and stamps them with a claim token and a lease. A lease that expires
on a ``claimed`` row (the worker died before the ESP call) returns it to
``scheduled``; on a ``sending`` row (it may have reached the ESP) it becomes
``unknown`` and waits for the ESP's webhook instead of being sent twice.
"""

import datetime
import logging
import secrets
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from .. import conf
from ..models import Delivery, EmailWorkflow
from .advance import advance
from .steps import StepCache
from .tracking import settle_unknown

logger = logging.getLogger(__name__)

S = Delivery.Status
SENDABLE_WORKFLOWS = (EmailWorkflow.Status.ACTIVE, EmailWorkflow.Status.LOCKED)
SKIPPING_WORKFLOWS = (EmailWorkflow.Status.STOPPED, EmailWorkflow.Status.ARCHIVED)


def release_expired_claims(now: datetime.datetime | None = None) -> int:
    """Return abandoned claims: never handed to the ESP → scheduled; maybe handed → unknown.

    An ``unknown`` delivery is never resent, so its contact moves on to the next
    email as after a failure.
    """
    now = now or timezone.now()
    released = Delivery.objects.filter(status=S.CLAIMED, claimed_until__lt=now).update(
        status=S.SCHEDULED, claim_token="", claimed_until=None
    )
    ambiguous = list(Delivery.objects.filter(status=S.SENDING, claimed_until__lt=now))
    if ambiguous:
        with transaction.atomic():
            Delivery.objects.filter(pk__in=[d.pk for d in ambiguous], status=S.SENDING).update(
                status=S.UNKNOWN,
                claim_token="",
                claimed_until=None,
                last_error="The worker stopped while the ESP call was in progress; "
                "waiting for the ESP's events instead of sending again.",
            )
            # Events the ESP reported meanwhile settle them now (never ``unknown`` over them).
            settle_unknown([d.pk for d in ambiguous])
            steps = StepCache()
            steps.attach(ambiguous)
            advance(ambiguous, now, steps)
    if released or ambiguous:
        logger.warning("Released %s expired claims, %s outcomes unknown", released, len(ambiguous))
    return released + len(ambiguous)


def claim(
    now: datetime.datetime, limit: int, workflow_statuses: tuple = SENDABLE_WORKFLOWS
) -> tuple[str, int]:
    """Claim up to ``limit`` due deliveries of workflows in ``workflow_statuses``; returns the token."""
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=int(conf.get("LEASE_SECONDS")))
    d = connection.ops.quote_name(Delivery._meta.db_table)
    w = connection.ops.quote_name(EmailWorkflow._meta.db_table)
    placeholders = ", ".join(["%s"] * len(workflow_statuses))
    select = (
        f"SELECT dd.id FROM {d} dd INNER JOIN {w} ww ON ww.id = dd.workflow_id "
        f"WHERE dd.status = %s AND dd.due_at <= %s AND ww.status IN ({placeholders}) "
        f"ORDER BY dd.due_at LIMIT %s"
    )
    if connection.vendor == "postgresql":
        select += " FOR UPDATE OF dd SKIP LOCKED"
    sql = f"UPDATE {d} SET status = %s, claim_token = %s, claimed_until = %s WHERE id IN ({select})"
    params = [S.CLAIMED, token, lease, S.SCHEDULED, now, *workflow_statuses, limit]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        count = cursor.rowcount
    return token, count


class Recipient:
    """The contact of a claimed delivery: what rendering reads, nothing more."""

    __slots__ = ("pk", "email", "first_name", "last_name", "properties")

    def __init__(self, pk, email, first_name, last_name, properties):
        self.pk = pk
        self.email = email
        self.first_name = first_name
        self.last_name = last_name
        self.properties = properties


class ClaimedDelivery:
    """A claimed delivery as the dispatcher handles it: plain attributes, read in one query.

    Model instances of a delivery and its contact cost about four times as much
    to build as these rows, for columns the dispatcher never reads; outcomes
    are written back with UPDATEs, never ``save()``.
    """

    #: The columns read, in the order of ``__init__``'s arguments.
    COLUMNS = (
        "pk",
        "enrollment_id",
        "step_id",
        "workflow_id",
        "contact_id",
        "due_at",
        "attempts",
        "contact__email",
        "contact__first_name",
        "contact__last_name",
        "contact__properties",
    )
    __slots__ = (
        *(column for column in COLUMNS if "__" not in column),
        "contact",
        "status",
        "esp_message_id",
        "last_error",
        "workflow",
        "step",
        "handed",
    )

    def __init__(
        self, pk, enrollment_id, step_id, workflow_id, contact_id, due_at, attempts, *contact
    ):
        self.pk = pk
        self.enrollment_id = enrollment_id
        self.step_id = step_id
        self.workflow_id = workflow_id
        self.contact_id = contact_id
        self.due_at = due_at
        self.attempts = attempts
        self.contact = None if contact_id is None else Recipient(contact_id, *contact)
        self.status = S.CLAIMED
        self.esp_message_id = ""
        self.last_error = ""
        self.workflow = None
        self.step = None
        #: Handed over to the ESP (moved to ``sending``, the attempt counted).
        self.handed = False


def claimed_rows(token: str, steps: StepCache) -> list[ClaimedDelivery]:
    """The deliveries claimed under ``token``, in due order, with their workflow and step."""
    # claim_token has no index: the status narrows the search to the in-flight rows
    # (the (status, due_at) index) instead of scanning every delivery ever made.
    rows = [
        ClaimedDelivery(*values)
        for values in Delivery.objects.filter(status=S.CLAIMED, claim_token=token)
        .order_by("due_at", "pk")
        .values_list(*ClaimedDelivery.COLUMNS)
    ]
    steps.attach(rows)
    return rows
