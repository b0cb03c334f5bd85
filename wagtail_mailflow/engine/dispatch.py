"""Sending what is due: claim, check, send, record, advance — a constant number of queries a batch.

The deliveries table is the source of truth; django-q2 only wakes workers. A
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

A lease that expires on a ``claimed`` row (the worker died before the ESP
call) returns it to ``scheduled``; on a ``sending`` row (it may have reached
the ESP) it becomes ``unknown`` and waits for the ESP's webhook instead of
being sent twice.
"""

import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .. import conf
from ..models import (
    Delivery,
    EmailWorkflow,
    Enrollment,
    ListMembership,
    SendingPause,
    WorkflowStep,
)
from ..sending.batch import collection_paused
from .timing import SendingPeriod, due_time

logger = logging.getLogger(__name__)

S = Delivery.Status
SENDABLE_WORKFLOWS = (EmailWorkflow.Status.ACTIVE, EmailWorkflow.Status.LOCKED)
SKIPPING_WORKFLOWS = (EmailWorkflow.Status.STOPPED, EmailWorkflow.Status.ARCHIVED)


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
    outcomes: dict = field(default_factory=dict)


def run_due(now=None, *, batch_size=None, max_batches=None, connection_factory=None):
    """Send every delivery that is due, batch after batch, until none is left.

    ``now`` fixes the clock (tests); ``max_batches`` bounds one run.
    """
    stats = RunStats()
    stats.released += release_expired_claims(now)
    if is_paused(now or timezone.now()):
        stats.paused = True
        return stats
    size = batch_size or effective_batch_size()
    steps = StepCache()
    skipping = EmailWorkflow.objects.filter(status__in=SKIPPING_WORKFLOWS).exists()
    while max_batches is None or stats.batches < max_batches:
        moment = now or timezone.now()
        skipped, more_due = _skip_batch(moment, size, steps) if skipping else (0, False)
        stats.skipped += skipped
        with collection_paused():
            claimed, due_now = _send_batch(moment, size, steps, stats, connection_factory)
        if claimed or skipped:
            stats.batches += 1
        if stats.paused:
            break
        # A short batch means nothing else was due, unless advancing made new work due now.
        if claimed < size and skipped < size and not (more_due or due_now):
            break
    return stats


def effective_batch_size():
    """BATCH_SIZE capped to the configured ESP's per-call limit."""
    from django.conf import settings

    from ..sending.batch import batch_cap

    size = int(conf.get("BATCH_SIZE"))
    cap = batch_cap(getattr(settings, "EMAIL_BACKEND", ""))
    return min(size, cap) if cap else size


def is_paused(now):
    """Whether sending is paused because the ESP refused the account."""
    return SendingPause.objects.filter(until__gt=now).exists()


def release_expired_claims(now=None):
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
            steps = StepCache()
            steps.attach(ambiguous)
            _advance(ambiguous, now, steps)
    if released or ambiguous:
        logger.warning("Released %s expired claims, %s outcomes unknown", released, len(ambiguous))
    return released + len(ambiguous)


def claim(now, limit, workflow_statuses=SENDABLE_WORKFLOWS):
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


class StepCache:
    """Workflow steps in order, loaded once per workflow per run."""

    def __init__(self):
        self._steps = {}
        self._steps_by_pk = {}
        self._workflows = {}
        self._periods = {}

    def load(self, workflows):
        """Make sure the steps of these workflows are loaded (one query for the missing ones)."""
        missing = [w for w in workflows if w.pk not in self._steps]
        if missing:
            for workflow in missing:
                self._steps[workflow.pk] = []
                self._workflows[workflow.pk] = workflow
            for step in WorkflowStep.objects.filter(
                workflow_id__in=[w.pk for w in missing]
            ).order_by("workflow_id", "sort_order", "pk"):
                self._steps[step.workflow_id].append(step)
                self._steps_by_pk[step.pk] = step

    def attach(self, deliveries):
        """Give deliveries their workflow and step from this cache (loading only what is new).

        Active workflows and their steps cannot be edited, so one instance per run
        serves every batch instead of two more model instances built per row.
        """
        missing = {d.workflow_id for d in deliveries} - self._workflows.keys()
        if missing:
            self.load(EmailWorkflow.objects.filter(pk__in=missing))
        by_pk = self._steps_by_pk
        if any(d.step_id not in by_pk for d in deliveries):
            by_pk.update(
                WorkflowStep.objects.in_bulk({d.step_id for d in deliveries} - by_pk.keys())
            )
        for delivery in deliveries:
            delivery.workflow = self._workflows[delivery.workflow_id]
            delivery.step = by_pk[delivery.step_id]

    def next_step(self, step):
        """The step after ``step`` in its workflow, or None."""
        steps = self._steps[step.workflow_id]
        ids = [s.pk for s in steps]
        index = ids.index(step.pk) if step.pk in ids else len(ids)
        return steps[index + 1] if index + 1 < len(steps) else None

    def period(self, workflow):
        """The workflow's sending period (built once)."""
        period = self._periods.get(workflow.pk)
        if period is None:
            period = self._periods[workflow.pk] = SendingPeriod.for_workflow(workflow)
        return period


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


def _claimed(token, steps):
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


def _skip_batch(now, size, steps):
    """Deliveries falling due in stopped or archived workflows are skipped; the contact moves on.

    Returns (how many were skipped, whether advancing made another email due now).
    """
    token, count = claim(now, size, SKIPPING_WORKFLOWS)
    if not count:
        return 0, False
    rows = _claimed(token, steps)
    with transaction.atomic():
        Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
            status=S.SKIPPED,
            claim_token="",
            claimed_until=None,
            last_error="Skipped: the workflow was stopped when this email fell due.",
        )
        due_now = _advance(rows, now, steps)
    return len(rows), due_now


def _unreachable_q():
    subscribed = ListMembership.objects.subscribed().filter(
        contact_id=OuterRef("contact_id"), contact_list_id=OuterRef("workflow__contact_list_id")
    )
    return (
        Q(contact__isnull=True)
        | Q(contact__unsubscribed_at__isnull=False)
        | Q(contact__suppressed_at__isnull=False)
        | ~Exists(subscribed)
    )


def _set_aside_unreachable(token, now):
    """Claimed deliveries whose contact may no longer receive email: suppressed, enrollment exited.

    One query when every contact is still reachable (the usual case).
    """
    rows = list(
        Delivery.objects.filter(claim_token=token, status=S.CLAIMED)
        .filter(_unreachable_q())
        .values_list("pk", "enrollment_id")
    )
    if rows:
        Delivery.objects.filter(pk__in=[pk for pk, _e in rows]).update(
            status=S.SUPPRESSED,
            claim_token="",
            claimed_until=None,
            last_error="Not sent: the contact unsubscribed, was suppressed or left the list.",
        )
        Enrollment.objects.filter(
            pk__in=[e for _pk, e in rows], status=Enrollment.Status.ACTIVE
        ).update(
            status=Enrollment.Status.EXITED,
            exit_reason=Enrollment.ExitReason.SUPPRESSED,
            ended_at=now,
        )
    return len(rows)


def _send_batch(now, size, steps, stats, connection_factory):
    """Claim, check, send, record and advance one batch; returns how many were claimed."""
    from ..rendering import compile_revision, contact_values
    from ..sending.batch import Outcome, send_batch
    from ..sending.messages import build_message
    from ..unsubscribe import unsubscribe_url_maker

    token, count = claim(now, size)
    if not count:
        return 0, False
    # The claim only looked at due rows: the contact is checked here, just before the ESP call.
    stats.suppressed += _set_aside_unreachable(token, now)
    rows = _claimed(token, steps)
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
            outcomes_by_index[index] = Outcome("wait")
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
            outcomes_by_index[index] = Outcome("failed", error=f"Rendering failed: {exc}")
            continue
        messages.append((index, message))

    connection = connection_factory() if connection_factory else None
    gate = _Gate([rows[i] for i, _m in messages])
    started = time.monotonic()
    sent_outcomes = send_batch([m for _i, m in messages], connection=connection, should_send=gate)
    _PACE.record(time.monotonic() - started, gate.handed)
    for (index, _message), outcome in zip(messages, sent_outcomes, strict=True):
        outcomes_by_index[index] = outcome

    finished_at = timezone.now() if now is None else now
    due_now = _record(rows, outcomes_by_index, finished_at, steps, stats)
    return count, due_now


class _Pace:
    """How long one message takes at each email backend in this process (a moving average)."""

    def __init__(self):
        self.seconds = {}

    @staticmethod
    def _backend():
        from django.conf import settings

        return getattr(settings, "EMAIL_BACKEND", "")

    def record(self, elapsed, messages):
        """Fold one batch's ESP time into the average of the current backend."""
        if messages:
            per_message = elapsed / messages
            previous = self.seconds.get(self._backend())
            self.seconds[self._backend()] = (
                per_message if previous is None else 0.7 * previous + 0.3 * per_message
            )

    def group_size(self):
        """How many rows to hand over at once so a group takes about HANDOVER_SECONDS."""
        seconds = self.seconds.get(self._backend())
        if seconds is None:
            return 8  # an unknown backend: start small, the pace is learnt from the first group
        target = float(conf.get("HANDOVER_SECONDS"))
        return max(1, int(target / max(seconds, 1e-6)))


_PACE = _Pace()


class _Gate:
    """``should_send`` for a batch: rows are handed to the ESP a group at a time.

    Just before a group's first message, one UPDATE moves the group from
    ``claimed`` to ``sending`` (and counts the attempt). A worker killed
    mid-batch therefore leaves only its current group ``unknown``; the rest are
    still ``claimed`` and go out through another worker once the lease expires.
    Groups are sized from the measured pace to last about ``HANDOVER_SECONDS``:
    a fast backend hands a whole batch over in one UPDATE, a slow ESP pays one
    UPDATE per fraction of a second of ESP time.

    While the ESP calls go on, contacts not yet sent to are checked again (one
    query) every ``RECHECK_SECONDS``, so an unsubscribe during a batch stops its
    later messages.
    """

    def __init__(self, rows):
        self.rows = rows
        self.ids = [d.pk for d in rows]
        self.handed_upto = 0
        self.handed = 0
        self.withdrawn = set()
        self.checked_at = time.monotonic()

    def __call__(self, index):
        if time.monotonic() - self.checked_at >= float(conf.get("RECHECK_SECONDS")):
            self.withdrawn.update(
                Delivery.objects.filter(pk__in=self.ids[index:])
                .filter(_unreachable_q())
                .values_list("pk", flat=True)
            )
            self.checked_at = time.monotonic()
        if self.ids[index] in self.withdrawn:
            return False
        if index >= self.handed_upto:
            self._hand_over(index)
        return self.ids[index] not in self.withdrawn

    def _hand_over(self, index):
        end = index + _PACE.group_size()
        group = [pk for pk in self.ids[index:end] if pk not in self.withdrawn]
        self.handed_upto = end
        if not group:
            return
        moved = Delivery.objects.filter(pk__in=group, status=S.CLAIMED).update(
            status=S.SENDING, attempts=F("attempts") + 1
        )
        handed = set(group)
        if moved != len(group):
            # Some rows left "claimed" meanwhile (an unsubscribe suppressed them).
            handed = set(
                Delivery.objects.filter(pk__in=group, status=S.SENDING).values_list("pk", flat=True)
            )
            self.withdrawn.update(set(group) - handed)
        for delivery in self.rows[index:end]:
            if delivery.pk in handed:
                delivery.handed = True
                delivery.attempts += 1
        self.handed += len(handed)


def _backoff(attempts, retry_after=None):
    base = float(conf.get("RETRY_BASE_SECONDS"))
    ceiling = float(conf.get("RETRY_MAX_SECONDS"))
    delay = min(ceiling, base * (2 ** max(attempts - 1, 0)))
    delay *= random.uniform(0.75, 1.25)  # jitter: retries from one outage don't arrive together
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def _record(rows, outcomes, now, steps, stats):
    """Write every outcome of a batch in one bulk UPDATE, then advance the enrollments."""
    max_attempts = int(conf.get("MAX_ATTEMPTS"))
    advance, suppress_contacts, pause_reason, withdrawn = [], set(), None, []
    for index, delivery in enumerate(rows):
        outcome = outcomes[index]
        kind = outcome.kind
        if kind == "sent":
            delivery.status = S.SENT
            delivery.esp_message_id = outcome.message_id[:255]
            delivery.last_error = ""
            advance.append(delivery)
            stats.sent += 1
        elif kind == "retry" and delivery.attempts < max_attempts:
            delivery.status = S.SCHEDULED
            delivery.due_at = now + _backoff(delivery.attempts, outcome.retry_after)
            delivery.last_error = outcome.error
            stats.retried += 1
        elif kind == "pause":
            delivery.status = S.SCHEDULED
            if delivery.handed:
                delivery.attempts = max(delivery.attempts - 1, 0)  # not burned
            delivery.last_error = outcome.error
            pause_reason = pause_reason or outcome.error
        elif kind == "wait":  # the sending period is closed: never handed over, not an attempt
            delivery.status = S.SCHEDULED
            delivery.due_at = steps.period(delivery.workflow).next_opening(now)
        elif kind == "withdrawn":  # unreachable since the claim: as if set aside then
            delivery.status = S.SUPPRESSED
            if delivery.handed:
                delivery.attempts = max(delivery.attempts - 1, 0)
            delivery.last_error = outcome.error
            withdrawn.append(delivery.enrollment_id)
            stats.suppressed += 1
        elif kind == "unknown":
            delivery.status = S.UNKNOWN
            delivery.last_error = outcome.error
            advance.append(delivery)  # never resent: the contact moves on, as after a failure
            stats.unknown += 1
        elif kind == "suppress":
            delivery.status = S.FAILED
            delivery.last_error = outcome.error
            suppress_contacts.add(delivery.contact_id)
            stats.failed += 1
        else:  # failed, or retries exhausted
            delivery.status = S.FAILED
            delivery.last_error = outcome.error or "Failed"
            advance.append(delivery)
            stats.failed += 1
        stats.outcomes[kind] = stats.outcomes.get(kind, 0) + 1
    with transaction.atomic():
        _write_outcomes(rows, now)
        due_now = _advance(advance, now, steps)
        if withdrawn:
            Enrollment.objects.filter(pk__in=withdrawn, status=Enrollment.Status.ACTIVE).update(
                status=Enrollment.Status.EXITED,
                exit_reason=Enrollment.ExitReason.SUPPRESSED,
                ended_at=now,
            )
    if suppress_contacts:
        from ..models import Contact
        from .exits import suppress

        suppress(list(suppress_contacts), Contact.SuppressionReason.REJECTED)
    if pause_reason:
        until = now + timedelta(seconds=int(conf.get("PAUSE_SECONDS")))
        SendingPause.objects.update_or_create(
            key="default", defaults={"until": until, "reason": pause_reason[:2000]}
        )
        stats.paused = True
        logger.error("Sending paused until %s: %s", until, pause_reason)
    return due_now


def _write_outcomes(rows, now):
    """Store a batch's outcomes: one UPDATE for the sent rows, bulk updates only where needed.

    Every row leaves the claim: its token and lease are cleared.
    """
    sent = [d for d in rows if d.status == S.SENT]
    if sent:
        Delivery.objects.filter(pk__in=[d.pk for d in sent]).update(
            status=S.SENT, sent_at=now, last_error="", claim_token="", claimed_until=None
        )
        with_ids = [
            Delivery(pk=d.pk, esp_message_id=d.esp_message_id) for d in sent if d.esp_message_id
        ]
        if with_ids:
            Delivery.objects.bulk_update(with_ids, ["esp_message_id"])
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


def _insert_next(finished_ids, step, due, now):
    """INSERT … SELECT the next delivery of ``step`` for the enrollments of these deliveries."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    placeholders = ", ".join(["%s"] * len(finished_ids))
    sql = (
        f"INSERT INTO {table} (enrollment_id, step_id, workflow_id, contact_id, status, due_at, "
        f"claim_token, attempts, last_error, esp_message_id, created_at) "
        f"SELECT enrollment_id, %s, workflow_id, contact_id, %s, %s, '', 0, '', '', %s "
        f"FROM {table} WHERE id IN ({placeholders}) "
        f"ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [step.pk, S.SCHEDULED, due, now, *finished_ids])


def _advance(finished, now, steps):
    """Schedule each finished delivery's next email (due from now), or complete its enrollment.

    Returns whether one of the new deliveries is already due.
    """
    if not finished:
        return False
    steps.load({d.workflow_id: d.workflow for d in finished}.values())
    # Deliveries finished together move on together: one INSERT … SELECT per next step.
    following, completed, due_now = {}, [], False
    for delivery in finished:
        nxt = steps.next_step(delivery.step)
        if nxt is None:
            completed.append(delivery.enrollment_id)
        else:
            following.setdefault(nxt.pk, (nxt, delivery.workflow, []))[2].append(delivery.pk)
    for nxt, workflow, finished_ids in following.values():
        due = due_time(now, nxt, workflow, steps.period(workflow))
        due_now = due_now or due <= now
        _insert_next(finished_ids, nxt, due, now)
    if completed:
        Enrollment.objects.filter(pk__in=completed, status=Enrollment.Status.ACTIVE).update(
            status=Enrollment.Status.COMPLETED, ended_at=now
        )
    return due_now


def drain(timeout=30.0, poll=0.05, **kwargs):
    """Run :func:`run_due` until nothing is due or ``timeout`` passes (tools and benchmarks)."""
    deadline = time.monotonic() + timeout
    total = RunStats()
    while time.monotonic() < deadline:
        stats = run_due(**kwargs)
        for name in ("sent", "skipped", "failed", "suppressed", "retried", "unknown", "batches"):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
        if not stats.batches:
            break
        time.sleep(0 if stats.batches else poll)
    return total
