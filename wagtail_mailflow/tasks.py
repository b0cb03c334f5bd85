"""The django-q2 edge: the tasks it runs, the wake-ups it queues and the schedules it keeps.

The only module that imports django-q2. Tasks take no objects, are idempotent,
and only wake the engine: the deliveries table is the source of truth, so a
lost task is made up for by the once-a-minute sweep, and a repeated one finds
nothing left to claim.
"""

import logging
import time

from django.core.cache import cache
from django.db import transaction
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task

from .contact_import.jobs import run_job
from .engine.dispatch import batches_wanted, effective_batch_size, run_due
from .engine.scans import run_scans

logger = logging.getLogger(__name__)

#: Batches sent side by side at most, per worker of the cluster (see :func:`fan_out`).
FAN_OUT_PER_WORKER = 2
FAN_OUT_SECONDS = 1
FAN_OUT_KEY = "wagtail_mailflow:fan_out"
DISPATCH_TASK = "wagtail_mailflow.tasks.dispatch"
SCAN_TASK = "wagtail_mailflow.tasks.scan"
IMPORT_TASK = "wagtail_mailflow.tasks.run_import"
DISPATCH_SCHEDULE = "wagtail-mailflow: send due emails"
SCAN_SCHEDULE = "wagtail-mailflow: date, birthday and reactivation scans"
GROUP = "wagtail-mailflow"


def dispatch() -> dict[str, int]:
    """Send everything that is due (the sweep, and the wake-up after an entry).

    Batch after batch; when more is due than this task sends in one batch, it fans
    out (:func:`fan_out`) so that other workers claim batches side by side.

    django-q2 stops a task that outlives Q_CLUSTER's ``timeout`` wherever it is,
    mid-batch: that batch would end ``unknown``, most of it never sent. So no batch
    starts after half the timeout; a fresh task is queued for what is left.
    """
    deadline = time.monotonic() + Conf.TIMEOUT / 2 if Conf.TIMEOUT else None
    handed_on = False

    def between_batches():
        nonlocal handed_on
        fan_out()
        if deadline is not None and time.monotonic() >= deadline:
            handed_on = True
            return False
        return True

    fan_out()
    # One run for all the batches: the ESP connections stay open from one to the next.
    stats = run_due(between_batches=between_batches)
    if handed_on:
        wake()
    return {"sent": stats.sent, "skipped": stats.skipped, "failed": stats.failed}


def fan_out() -> int:
    """Queue dispatch tasks for the batches due that no worker is sending yet; returns how many.

    At most ``FAN_OUT_PER_WORKER`` × ``Q_CLUSTER["workers"]`` batches are sent at once
    (enough for this cluster's workers and for other clusters sharing the broker);
    the batches being sent are counted from their claims, and one task fans out per
    ``FAN_OUT_SECONDS`` (through the default cache), so the queue never floods. A task
    that finds nothing left to claim ends at once and queues nothing: none is left
    behind once the backlog is sent. Tasks run inline (``sync``): nothing to spread.
    """
    if Conf.SYNC:
        return 0
    if not cache.add(FAN_OUT_KEY, 1, timeout=FAN_OUT_SECONDS):
        return 0  # another task has just fanned out
    limit = cluster_workers() * FAN_OUT_PER_WORKER
    # This task claims one of the batches wanted itself, as it goes on.
    wanted = batches_wanted(limit) - 1
    for _task in range(wanted):
        wake()
    return max(wanted, 0)


def scan() -> int:
    """Enter contacts into date, birthday and reactivation workflows, then send what is due."""
    entered = run_scans()
    dispatch()
    return entered


def run_import(job_pk: int):
    """Run a queued contact import (idempotent: a finished job stays as it is)."""
    return run_job(job_pk)


def wake() -> None:
    """Queue a dispatch task now."""
    try:
        async_task(DISPATCH_TASK, task_name="mailflow-wake", group=GROUP)
    except Exception:  # the sweep makes up for a wake-up that could not be queued
        logger.exception("Could not queue the dispatch task; the next sweep will send it")


def wake_tasks(count: int) -> int:
    """How many dispatch tasks a wake-up for ``count`` emails due queues.

    One for up to a batch; more when a bulk entry made several batches due at once,
    one per batch up to the cluster's workers, so that they start side by side
    instead of waiting for the first task to fan out. Inline (``sync``): one.
    """
    if Conf.SYNC or count <= 1:
        return 1
    batches = -(-int(count) // max(effective_batch_size(), 1))
    return max(1, min(batches, cluster_workers()))


def cluster_workers() -> int:
    """The workers of a cluster (``Q_CLUSTER["workers"]``, the CPU count when unset)."""
    return max(int(Conf.WORKERS or 1), 1)


class WakeUp:
    """The wake-up a transaction queues when it commits; the entries inside it add up."""

    def __init__(self, count: int):
        self.count = count
        self.queued = False

    def __call__(self):
        self.queued = True
        for _task in range(wake_tasks(self.count)):
            wake()


def wake_on_commit(count: int = 1) -> None:
    """Queue dispatch tasks for ``count`` emails due once the current transaction commits
    (at once outside one).

    The entries of one transaction add their counts to a single wake-up; a
    rollback queues none.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        WakeUp(count)()
        return
    for entry in conn.run_on_commit:
        if isinstance(entry[1], WakeUp) and not entry[1].queued:
            entry[1].count += count
            return
    transaction.on_commit(WakeUp(count))


def queue_import_on_commit(job_pk: int) -> None:
    """Queue a contact import task once the current transaction commits."""

    def enqueue():
        async_task(IMPORT_TASK, job_pk, task_name=f"mailflow-import-{job_pk}", group=GROUP)

    transaction.on_commit(enqueue)


def ensure_schedules() -> list[tuple[str, bool]]:
    """Create or update the every-minute schedules (idempotent: safe to run at every deploy).

    Schedules are found by name, so a site's schedules stored under an older task
    path are rewritten to the current one.
    """
    created = []
    for name, func in ((DISPATCH_SCHEDULE, DISPATCH_TASK), (SCAN_SCHEDULE, SCAN_TASK)):
        _schedule, was_created = Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )
        created.append((name, was_created))
    return created
