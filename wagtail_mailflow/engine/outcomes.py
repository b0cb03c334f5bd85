"""Recording a batch's outcomes: every row's new status in bulk, then the enrollments moved on.

Each outcome (a :class:`~wagtail_mailflow.sending.batch.Kind`) decides what
becomes of the delivery: sent, retried later with a backoff, failed, put back
to wait for the sending period or the end of a pause, withdrawn, or unknown
(never resent: its contact moves on as after a failure).
"""

import datetime
import logging
import random
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q

from .. import conf, signals
from ..models import Contact, Delivery, Enrollment, SendingPause
from ..sending.batch import Kind
from .advance import advance
from .exits import stop, suppress
from .steps import StepCache
from .tracking import settle_unknown

logger = logging.getLogger(__name__)

S = Delivery.Status


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait before retrying: exponential, jittered, at least ``retry_after``."""
    base = float(conf.get("RETRY_BASE_SECONDS"))
    ceiling = float(conf.get("RETRY_MAX_SECONDS"))
    delay = min(ceiling, base * (2 ** max(attempts - 1, 0)))
    delay *= random.uniform(0.75, 1.25)  # jitter: retries from one outage don't arrive together
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def record(rows: list, outcomes: dict, now: datetime.datetime, steps: StepCache, stats) -> bool:
    """Write every outcome of a batch in one bulk UPDATE, then advance the enrollments."""
    max_attempts = int(conf.get("MAX_ATTEMPTS"))
    moving_on, suppress_contacts, pause_reason, withdrawn = [], set(), None, []
    for index, delivery in enumerate(rows):
        outcome = outcomes[index]
        kind = outcome.kind
        if kind == Kind.SENT:
            delivery.status = S.SENT
            delivery.esp_message_id = outcome.message_id[:255]
            delivery.last_error = ""
            moving_on.append(delivery)
            stats.sent += 1
        elif kind == Kind.RETRY and delivery.attempts < max_attempts:
            delivery.status = S.SCHEDULED
            delivery.due_at = now + backoff(delivery.attempts, outcome.retry_after)
            retry_at = delivery.due_at.astimezone(datetime.UTC).isoformat(timespec="seconds")
            delivery.last_error = f"{outcome.error} Retrying at {retry_at}."
            stats.retried += 1
        elif kind == Kind.PAUSE:
            delivery.status = S.SCHEDULED
            if delivery.handed:
                delivery.attempts = max(delivery.attempts - 1, 0)  # not burned
            delivery.last_error = outcome.error
            pause_reason = pause_reason or outcome.error
        elif kind == Kind.WAIT:  # the period is closed, or the send rate holds it: no attempt
            delivery.status = S.SCHEDULED
            later = now + timedelta(seconds=outcome.retry_after or 0)
            delivery.due_at = steps.period(delivery.workflow).next_opening(later)
            if delivery.handed:
                delivery.attempts = max(delivery.attempts - 1, 0)
        elif kind == Kind.WITHDRAWN:  # unreachable since the claim: as if set aside then
            delivery.status = S.SUPPRESSED
            if delivery.handed:
                delivery.attempts = max(delivery.attempts - 1, 0)
            delivery.last_error = outcome.error
            withdrawn.append(delivery.enrollment_id)
            stats.suppressed += 1
        elif kind == Kind.UNKNOWN:
            delivery.status = S.UNKNOWN
            delivery.last_error = outcome.error
            moving_on.append(delivery)  # never resent: the contact moves on, as after a failure
            stats.unknown += 1
        elif kind == Kind.SUPPRESS:
            delivery.status = S.FAILED
            delivery.last_error = outcome.error
            suppress_contacts.add(delivery.contact_id)
            stats.failed += 1
        else:  # failed, or retries exhausted
            delivery.status = S.FAILED
            delivery.last_error = outcome.error or "Failed"
            moving_on.append(delivery)
            stats.failed += 1
        stats.outcomes[kind] = stats.outcomes.get(kind, 0) + 1
    with transaction.atomic():
        write(rows, now)
        # An event that arrived while the ESP call was still waiting is what the ESP said:
        # the ``unknown`` just written is settled from it, never left over it.
        settled = settle_unknown([d.pk for d in rows if d.status == S.UNKNOWN])
        if settled:
            stats.unknown -= len(settled)
            stats.sent += len(settled)
            settled_set = set(settled)
            for delivery in rows:
                if delivery.pk in settled_set:
                    delivery.status = S.SENT
        due_now = advance(moving_on, now, steps)
        if withdrawn:
            # The deliveries were written above: only their enrollments exit.
            stop(
                Q(pk__in=withdrawn),
                None,
                reason=Enrollment.ExitReason.SUPPRESSED,
                note="",
                now=now,
            )
    sent_ids = [d.pk for d in rows if d.status == S.SENT]
    if sent_ids:
        signals.email_sent.send(sender=Delivery, delivery_ids=sent_ids)
    if suppress_contacts:
        suppress(list(suppress_contacts), Contact.SuppressionReason.REJECTED)
    if pause_reason:
        until = now + timedelta(seconds=int(conf.get("PAUSE_SECONDS")))
        SendingPause.objects.update_or_create(
            key="default",
            defaults={"until": until, "reason": pause_reason[:2000], "created_at": now},
        )
        stats.paused = True
        logger.error("Sending paused until %s: %s", until, pause_reason)
    return due_now


#: Rows per UPDATE of ESP message ids (three parameters a row, well under every database's limit).
MESSAGE_IDS_PER_UPDATE = 500


def _write_message_ids(pairs: list) -> None:
    """``esp_message_id`` of each (pk, id) pair, in one ``UPDATE … SET … = CASE pk WHEN …``.

    What ``bulk_update`` writes, without building a Django expression per row
    (which cost more CPU than the ESP call's own work).
    """
    meta = Delivery._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    column = quote(meta.get_field("esp_message_id").column)
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), MESSAGE_IDS_PER_UPDATE):
            chunk = pairs[start : start + MESSAGE_IDS_PER_UPDATE]
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            places = ", ".join(["%s"] * len(chunk))
            params = [value for pair in chunk for value in pair] + [key for key, _id in chunk]
            cursor.execute(
                f"UPDATE {table} SET {column} = CASE {pk} {cases} END WHERE {pk} IN ({places})",
                params,
            )


def write(rows: list, now: datetime.datetime) -> None:
    """Store a batch's outcomes: one UPDATE for the sent rows, bulk updates only where needed.

    Every row leaves the claim: its token and lease are cleared.
    """
    sent = [d for d in rows if d.status == S.SENT]
    if sent:
        Delivery.objects.filter(pk__in=[d.pk for d in sent]).update(
            status=S.SENT, sent_at=now, last_error="", claim_token="", claimed_until=None
        )
        _write_message_ids([(d.pk, d.esp_message_id) for d in sent if d.esp_message_id])
    others = [
        Delivery(
            pk=d.pk,
            status=d.status,
            last_error=d.last_error,
            due_at=d.due_at,
            attempts=d.attempts,
            claim_token="",
            claimed_until=None,
        )
        for d in rows
        if d.status != S.SENT
    ]
    if others:
        Delivery.objects.bulk_update(
            others,
            ["status", "last_error", "due_at", "attempts", "claim_token", "claimed_until"],
        )
