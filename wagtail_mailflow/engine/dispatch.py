"""Sending what is due: claim, check, send, record, advance — a constant number of queries a batch.

The deliveries table is the source of truth; the task queue only wakes workers. A
delivery moves ``scheduled → claimed → sending → sent`` (or ``failed``,
``suppressed``, ``unknown``, back to ``scheduled`` for a retry), each step a
conditional UPDATE, so a repeated or lost queue task is harmless:

* **claim**: one UPDATE takes up to a batch of due rows (``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, so two clusters never take the same row; SQLite
  serialises writers) and stamps them with a claim token and a lease;
* **check**: just before the ESP call, rows whose contact became unsubscribed,
  suppressed or left the list are set aside; the rest become ``sending``;
  rows whose sending period is closed now (workers were down, a retry fell
  after hours) go back to ``scheduled`` for the next opening;
* **send** outside any transaction, over one connection; while the ESP calls
  go on, the contacts not yet sent to are re-checked (``RECHECK_SECONDS``), so
  an unsubscribe during a batch stops its later messages;
* **record** every outcome in one bulk UPDATE; **advance** the enrollments
  (next delivery due from now, or completed) with one INSERT and one UPDATE.

Each step has its module: ``claim`` (claiming and releasing), ``handover`` (the
checks and the groups handed to the ESP), ``outcomes`` (recording) and
``advance``; this one runs them batch after batch.

A lease that expires on a ``claimed`` row (the worker died before the ESP
call) returns it to ``scheduled``; on a ``sending`` row (it may have reached
the ESP) it becomes ``unknown`` and waits for the ESP's webhook instead of
being sent twice.
"""

import datetime
import logging
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .. import conf
from ..models import Delivery, EmailWorkflow, SendingPause
from ..rendering import compile_revision, contact_values
from ..sending.batch import Kind, Outcome, collection_paused
from ..sending.concurrent import Connections, send_all
from ..sending.messages import build_message
from ..sending.rate import SendRate
from ..tokens import unsubscribe_url_maker
from .advance import advance
from .claim import SKIPPING_WORKFLOWS, claim, claimed_rows, release_expired_claims
from .handover import PACE, Gate, set_aside_unreachable
from .outcomes import record
from .steps import StepCache

logger = logging.getLogger(__name__)

S = Delivery.Status


@dataclass
class RunStats:
    """What one run of :func:`run_due` did."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    suppressed: int = 0
    retried: int = 0
    unknown: int = 0
    released: int = 0
    batches: int = 0
    paused: bool = False
    #: The last batch was full, or made new work due: more may be waiting.
    more_due: bool = False
    outcomes: dict = field(default_factory=dict)


def run_due(
    now: datetime.datetime | None = None,
    *,
    batch_size: int | None = None,
    max_batches: int | None = None,
    connection_factory=None,
    between_batches=None,
) -> RunStats:
    """Send every delivery that is due, batch after batch, until none is left.

    ``now`` fixes the clock (tests); ``max_batches`` bounds one run.
    ``between_batches()`` is called after each batch when more is due; when it
    returns False the run ends there (``more_due`` stays true). The ESP
    connections stay open for the whole run.
    """
    stats = RunStats()
    stats.released += release_expired_claims(now)
    if is_paused(now or timezone.now()):
        stats.paused = True
        return stats
    size = batch_size or effective_batch_size()
    steps = StepCache()
    skipping = EmailWorkflow.objects.filter(status__in=SKIPPING_WORKFLOWS).exists()
    # The ESP connections stay open from batch to batch, and close when the run ends.
    connections = Connections(connection_factory)
    try:
        while max_batches is None or stats.batches < max_batches:
            moment = now or timezone.now()
            skipped, more_due = _skip_batch(moment, size, steps) if skipping else (0, False)
            stats.skipped += skipped
            with collection_paused():
                claimed, due_now = _send_batch(moment, size, steps, stats, connections)
            if claimed or skipped:
                stats.batches += 1
            if stats.paused:
                break
            # A short batch means nothing else was due, unless advancing made new work due now.
            stats.more_due = claimed >= size or skipped >= size or more_due or due_now
            if not stats.more_due:
                break
            if between_batches is not None and not between_batches():
                break
    finally:
        connections.close()
    return stats


def batches_wanted(limit: int, now: datetime.datetime | None = None) -> int:
    """How many more batches could be sent side by side now, up to ``limit`` at once.

    The batches due (counted up to ``limit`` of them) less the batches being sent:
    claims whose lease still runs, one per worker at work.
    """
    now = now or timezone.now()
    size = effective_batch_size()
    due = Delivery.objects.filter(status=S.SCHEDULED, due_at__lte=now)[: limit * size].count()
    running = (
        Delivery.objects.filter(status__in=(S.CLAIMED, S.SENDING), claimed_until__gt=now)
        .order_by()
        .values("claim_token")
        .distinct()
        .count()
    )
    return max(0, min(limit, -(-due // size)) - running)


def _clock(now):
    """The send rate's clock: the engine's ``now`` (fixed in tests) moving on with real time."""
    if now is None:
        return time.time
    origin, started = now.timestamp(), time.monotonic()
    return lambda: origin + (time.monotonic() - started)


def effective_batch_size() -> int:
    """BATCH_SIZE: each message is its own ESP call, so the ESP's recipients-per-call cap
    does not bound a batch."""
    return int(conf.get("BATCH_SIZE"))


def is_paused(now: datetime.datetime) -> bool:
    """Whether sending is paused because the ESP refused the account."""
    return SendingPause.objects.filter(until__gt=now).exists()


def _skip_batch(now, size, steps):
    """Deliveries falling due in stopped or archived workflows are skipped; the contact moves on.

    Returns (how many were skipped, whether advancing made another email due now).
    """
    token, count = claim(now, size, SKIPPING_WORKFLOWS)
    if not count:
        return 0, False
    rows = claimed_rows(token, steps)
    with transaction.atomic():
        Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
            status=S.SKIPPED,
            claim_token="",
            claimed_until=None,
            last_error="Skipped: the workflow was stopped when this email fell due.",
        )
        due_now = advance(rows, now, steps)
    return len(rows), due_now


def _send_batch(now, size, steps, stats, connections):
    """Claim, check, send, record and advance one batch; returns how many were claimed."""
    token, count = claim(now, size)
    if not count:
        return 0, False
    # The claim only looked at due rows: the contact is checked here, just before the ESP call.
    stats.suppressed += set_aside_unreachable(token, now)
    rows = claimed_rows(token, steps)
    if not rows:
        return count, False
    steps.load({d.workflow_id: d.workflow for d in rows}.values())

    messages, outcomes_by_index, opens = [], {}, {}
    unsubscribe_url = unsubscribe_url_maker()  # the URL pattern reversed once a batch
    for index, delivery in enumerate(rows):
        contact, workflow, step = delivery.contact, delivery.workflow, delivery.step
        if workflow.pk not in opens:
            opens[workflow.pk] = steps.period(workflow).next_opening(now)
        if opens[workflow.pk] > now:
            # Due, but the sending period is closed now (workers were down, a retry
            # fell after hours): it waits for the next opening.
            outcomes_by_index[index] = Outcome(Kind.WAIT)
            continue
        try:
            compiled = compile_revision(step.template_revision_id, workflow.language)
            url = unsubscribe_url(contact.pk, workflow.contact_list_id)
            rendered = compiled.render(contact_values(contact), url)
            message = build_message(
                rendered,
                to=contact.email,
                delivery_id=delivery.pk,
                workflow_id=workflow.pk,
                unsubscribe_url=url,
            )
        except Exception as exc:  # a template that cannot render fails this email, not the batch
            logger.exception("Could not render delivery %s", delivery.pk)
            outcomes_by_index[index] = Outcome(Kind.FAILED, error=f"Rendering failed: {exc}")
            continue
        messages.append((index, message))

    gate = Gate([rows[i] for i, _m in messages])
    started = time.monotonic()
    sent_outcomes = send_all(
        [m for _i, m in messages],
        concurrency=int(conf.get("SEND_CONCURRENCY")),
        connections=connections,
        should_send=gate,
        rate=SendRate.configured(clock=_clock(now)),
    )
    PACE.record(time.monotonic() - started, gate.handed)
    for (index, _message), outcome in zip(messages, sent_outcomes, strict=True):
        outcomes_by_index[index] = outcome

    finished_at = timezone.now() if now is None else now
    due_now = record(rows, outcomes_by_index, finished_at, steps, stats)
    return count, due_now
