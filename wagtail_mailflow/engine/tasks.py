"""django-q2 entry points. Tasks take no objects, are idempotent, and only wake the engine.

The deliveries table is the source of truth: a lost task is made up for by the
once-a-minute sweep, and a repeated one finds nothing left to claim.
"""

import logging
import time

from django.db import transaction

logger = logging.getLogger(__name__)

DISPATCH_TASK = "wagtail_mailflow.engine.tasks.dispatch"
SCAN_TASK = "wagtail_mailflow.engine.tasks.scan"
DISPATCH_SCHEDULE = "wagtail-mailflow: send due emails"
SCAN_SCHEDULE = "wagtail-mailflow: date, birthday and reactivation scans"


def dispatch():
    """Send everything that is due (the sweep, and the wake-up after an entry).

    django-q2 stops a task that outlives Q_CLUSTER's ``timeout`` wherever it is,
    mid-batch: that batch would end ``unknown``, most of it never sent. So no batch
    starts after half the timeout; a fresh task is queued for what is left.
    """
    from django_q.conf import Conf

    from .dispatch import run_due

    totals = {"sent": 0, "skipped": 0, "failed": 0}
    deadline = time.monotonic() + Conf.TIMEOUT / 2 if Conf.TIMEOUT else None
    while True:
        stats = run_due(max_batches=None if deadline is None else 1)
        for name in totals:
            totals[name] += getattr(stats, name)
        if deadline is None or stats.paused or not stats.batches:
            return totals
        if time.monotonic() >= deadline:
            wake()
            return totals


def scan():
    """Enter contacts into date, birthday and reactivation workflows, then send what is due."""
    from .scans import run_scans

    entered = run_scans()
    dispatch()
    return entered


def wake():
    """Queue a dispatch task now."""
    from django_q.tasks import async_task

    try:
        async_task(DISPATCH_TASK, task_name="mailflow-wake", group="wagtail-mailflow")
    except Exception:  # the sweep makes up for a wake-up that could not be queued
        logger.exception("Could not queue the dispatch task; the next sweep will send it")


def wake_on_commit():
    """Queue a dispatch task once the current transaction commits (at once outside one).

    Several entries in one transaction queue a single wake-up; a rollback queues none.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        wake()
        return
    if any(entry[1] is wake for entry in conn.run_on_commit):
        return
    transaction.on_commit(wake)


def ensure_schedules():
    """Create or update the every-minute schedules (idempotent: safe to run at every deploy)."""
    from django_q.models import Schedule

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
