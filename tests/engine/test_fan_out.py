"""Waking workers: a bulk entry starts the cluster's workers side by side, a running task
fans out to the batches nobody sends yet, and nothing is queued once the backlog is gone.

The task queue is replaced by a list of the wake-ups queued (``tasks.wake``); the
cluster is described to the code as it would be in a worker (``Conf``), not inline.
"""

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends import locmem
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf

from tests.factories import active_workflow
from wagtail_mailflow import api, tasks
from wagtail_mailflow.engine.claim import claim
from wagtail_mailflow.engine.entry import enter_many
from wagtail_mailflow.models import Contact, Delivery, ListMembership

pytestmark = pytest.mark.django_db

BATCH = 10
WORKERS = 3


@pytest.fixture
def woken(monkeypatch, settings):
    """The dispatch tasks queued, with a cluster of three workers and batches of ten."""
    queued = []
    monkeypatch.setattr(tasks, "wake", lambda: queued.append(1))
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "WORKERS", WORKERS)
    settings.WAGTAIL_MAILFLOW_BATCH_SIZE = BATCH
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.delete(tasks.FAN_OUT_KEY)
    yield queued
    cache.delete(tasks.FAN_OUT_KEY)


def members(workflow, count, start=0):
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"m{i}@example.com") for i in range(start, start + count)]
    )
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=workflow.contact_list) for c in contacts]
    )
    return contacts


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, 1), (1, 1), (BATCH, 1), (BATCH + 1, 2), (3 * BATCH, 3), (50 * BATCH, WORKERS)],
)
def test_wake_tasks_is_one_per_batch_up_to_the_workers(woken, count, expected):
    assert tasks.wake_tasks(count) == expected


def test_inline_tasks_are_woken_once_whatever_the_count(woken, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)
    assert tasks.wake_tasks(50 * BATCH) == 1


def test_a_bulk_entry_wakes_a_worker_per_batch_up_to_the_cluster(
    woken, django_capture_on_commit_callbacks
):
    workflow = active_workflow()
    members(workflow, 2 * BATCH + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert enter_many(workflow, Contact.objects.all(), entry_key="x") == 2 * BATCH + 1
    assert len(woken) == 3  # three batches due, three workers: they start side by side
    members(workflow, 10 * BATCH, start=100)
    with django_capture_on_commit_callbacks(execute=True):
        assert enter_many(workflow, Contact.objects.all(), entry_key="x") == 10 * BATCH
    assert len(woken) == 3 + WORKERS  # never more than the cluster's workers at once


def test_one_signup_wakes_one_worker(woken, django_capture_on_commit_callbacks):
    active_workflow()
    with django_capture_on_commit_callbacks(execute=True):
        api.subscribe("ann@example.com", "Newsletter")
    assert woken == [1]


def test_entries_of_one_transaction_add_up_to_one_wake_up_and_a_rollback_queues_none(
    woken, django_capture_on_commit_callbacks
):
    workflow = active_workflow()
    members(workflow, BATCH)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        api.subscribe("ann@example.com", "Newsletter")
        enter_many(workflow, Contact.objects.all(), entry_key="x")
        assert woken == []  # nothing before the commit
    # BATCH + 1 emails due (the signup and the bulk entry): two batches, two workers.
    assert len(woken) == 2
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                members(workflow, 3 * BATCH, start=100)
                enter_many(workflow, Contact.objects.all(), entry_key="y")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert len(woken) == 2


def test_fan_out_queues_the_batches_nobody_sends_yet_and_nothing_once_they_are_gone(woken):
    workflow = active_workflow()
    members(workflow, 8 * BATCH)
    enter_many(workflow, Contact.objects.all(), entry_key="x")
    woken.clear()
    limit = WORKERS * tasks.FAN_OUT_PER_WORKER  # 6 batches side by side at most
    # A task about to claim its batch: the 5 other batches wanted, none being sent.
    assert tasks.fan_out() == limit - 1
    assert len(woken) == limit - 1
    # Within the second, another task does not fan out again.
    assert tasks.fan_out() == 0
    cache.delete(tasks.FAN_OUT_KEY)
    # Two batches are being sent (claimed, lease running): they are not asked for again.
    claim(timezone.now(), BATCH)
    claim(timezone.now(), BATCH)
    woken.clear()
    assert tasks.fan_out() == limit - 2 - 1
    cache.delete(tasks.FAN_OUT_KEY)
    # The backlog gone (everything claimed): no task is queued.
    while claim(timezone.now(), BATCH)[1]:
        pass
    woken.clear()
    assert tasks.fan_out() == 0
    assert woken == []


class CountingBackend(locmem.EmailBackend):
    """Django's locmem backend, counting how many times a connection is opened."""

    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return super().open()


def test_a_dispatch_task_sends_its_batches_over_connections_opened_once(woken, settings):
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.opened = 0
    workflow = active_workflow()
    members(workflow, 2 * BATCH + 5)
    enter_many(workflow, Contact.objects.all(), entry_key="x")
    woken.clear()
    assert tasks.dispatch()["sent"] == 2 * BATCH + 5  # three batches in one task
    assert len(mail.outbox) == 2 * BATCH + 5
    assert CountingBackend.opened == 1  # not once a batch
    assert len(woken) == 2  # it fanned out to the two other batches wanted


def test_a_dispatch_task_past_half_its_timeout_hands_the_rest_on(woken, monkeypatch):
    monkeypatch.setattr(Conf, "TIMEOUT", 1e-9)  # every batch ends past half the timeout
    workflow = active_workflow()
    members(workflow, 2 * BATCH + 5)
    enter_many(workflow, Contact.objects.all(), entry_key="x")
    woken.clear()
    cache.add(tasks.FAN_OUT_KEY, 1, timeout=60)  # no fan-out: only the hand-on is queued
    assert tasks.dispatch()["sent"] == BATCH  # one batch, then no other starts
    assert woken == [1]  # a fresh task for what is left
    due = Delivery.objects.filter(status=Delivery.Status.SCHEDULED, due_at__lte=timezone.now())
    assert due.count() == BATCH + 5
