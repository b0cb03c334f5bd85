"""The public signals: each is sent once, from where the thing happens, with its documented
arguments; and the task queue is reached only through them."""

import contextlib
import io

import pytest
from anymail.signals import AnymailTrackingEvent
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from tests.factories import active_workflow
from wagtail_mailflow import api, signals, tasks
from wagtail_mailflow.engine import tracking
from wagtail_mailflow.engine.dispatch import run_due
from wagtail_mailflow.engine.entry import enter_many
from wagtail_mailflow.engine.exits import suppress, unsubscribe_everywhere, unsubscribe_from_list
from wagtail_mailflow.models import (
    Contact,
    Delivery,
    DeliveryEvent,
    EmailWorkflow,
    ListMembership,
)
from wagtail_mailflow.models.deliveries import ESP_EVENTS, FIRST_EVENT_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []


@contextlib.contextmanager
def received(signal):
    """The keyword arguments of every sending of ``signal`` inside the block."""
    calls = []

    def receiver(sender, **kwargs):
        kwargs.pop("signal")
        calls.append({"sender": sender, **kwargs})

    signal.connect(receiver, weak=False)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


def members(workflow, count):
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"m{i}@example.com") for i in range(count)]
    )
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=workflow.contact_list) for c in contacts]
    )
    return contacts


def test_workflow_entered_once_per_entry_with_the_contact():
    workflow = active_workflow()
    with received(signals.workflow_entered) as calls:
        contact, _membership, _joined = api.subscribe("ann@example.com", "Newsletter")
        api.subscribe("ann@example.com", "Newsletter")  # already in: no entry, no signal
    assert calls == [{"sender": EmailWorkflow, "workflow": workflow, "contact_ids": [contact.pk]}]


def test_workflow_entered_once_per_bulk_entry_with_every_contact():
    workflow = active_workflow()
    contacts = members(workflow, 3)
    with received(signals.workflow_entered) as calls:
        assert enter_many(workflow, Contact.objects.all(), entry_key="x") == 3
        assert enter_many(workflow, Contact.objects.all(), entry_key="x") == 0
    assert len(calls) == 1
    assert calls[0]["workflow"] == workflow
    assert sorted(calls[0]["contact_ids"]) == sorted(c.pk for c in contacts)


def test_due_deliveries_queue_one_wake_up_per_transaction_and_none_on_rollback(
    monkeypatch, django_capture_on_commit_callbacks
):
    woken = []
    monkeypatch.setattr(tasks, "wake", lambda: woken.append(1))
    workflow = active_workflow()
    members(workflow, 2)
    with received(signals.deliveries_due) as calls:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                api.subscribe("ann@example.com", "Newsletter")
                api.subscribe("bob@example.com", "Newsletter")
                enter_many(workflow, Contact.objects.all(), entry_key="x")
    assert len(calls) == 3  # each entry announces its due work ...
    assert calls[0] == {"sender": EmailWorkflow, "workflow": workflow}
    assert woken == [1]  # ... and the transaction queues one wake-up
    with django_capture_on_commit_callbacks(execute=True):
        with contextlib.suppress(RuntimeError), transaction.atomic():
            api.subscribe("cat@example.com", "Newsletter")
            raise RuntimeError("rolled back")
    assert woken == [1]


def test_email_sent_once_per_batch_with_the_sent_deliveries():
    workflow = active_workflow()
    members(workflow, 3)
    enter_many(workflow, Contact.objects.all(), entry_key="x")
    with received(signals.email_sent) as calls:
        stats = run_due()
    assert stats.sent == 3
    sent = set(Delivery.objects.filter(status=Delivery.Status.SENT).values_list("pk", flat=True))
    assert len(calls) == 1
    assert calls[0]["sender"] is Delivery
    assert set(calls[0]["delivery_ids"]) == sent


def test_event_recorded_once_per_new_event():
    workflow = active_workflow()
    members(workflow, 1)
    enter_many(workflow, Contact.objects.all(), entry_key="x")
    run_due()
    delivery = Delivery.objects.get(status=Delivery.Status.SENT)
    event = AnymailTrackingEvent(
        event_type="opened",
        timestamp=timezone.now(),
        event_id="evt-1",
        message_id=delivery.esp_message_id,
        metadata={"mailflow_delivery": str(delivery.pk)},
    )
    with received(signals.event_recorded) as calls:
        tracking.handle_event(event, "Postmark")
        tracking.handle_event(event, "Postmark")  # the ESP retries: nothing new
    record = DeliveryEvent.objects.get()
    assert calls == [{"sender": DeliveryEvent, "event": record, "delivery": delivery}]


def test_contact_unsubscribed_once_per_unsubscribe():
    workflow = active_workflow()
    ann, bob = members(workflow, 2)
    list_id = workflow.contact_list_id
    with received(signals.contact_unsubscribed) as calls:
        unsubscribe_from_list(ann, workflow.contact_list, source="link")
        unsubscribe_from_list(ann, workflow.contact_list, source="link")
        unsubscribe_everywhere(bob, source="api")
        unsubscribe_everywhere(bob, source="api")
    assert calls == [
        {"sender": Contact, "contact_id": ann.pk, "contact_list_id": list_id, "source": "link"},
        {"sender": Contact, "contact_id": bob.pk, "contact_list_id": None, "source": "api"},
    ]


def test_contact_suppressed_names_only_the_newly_suppressed():
    workflow = active_workflow()
    ann, bob = members(workflow, 2)
    suppress(ann, Contact.SuppressionReason.COMPLAINT)
    with received(signals.contact_suppressed) as calls:
        suppress([ann.pk, bob.pk], Contact.SuppressionReason.HARD_BOUNCE)
        suppress([ann.pk, bob.pk], Contact.SuppressionReason.HARD_BOUNCE)
    assert calls == [
        {
            "sender": Contact,
            "contact_ids": [bob.pk],
            "reason": Contact.SuppressionReason.HARD_BOUNCE,
        }
    ]


def test_contact_subscribed_when_a_membership_starts():
    active_workflow()
    with received(signals.contact_subscribed) as calls:
        _contact, membership, _joined = api.subscribe("ann@example.com", "Newsletter")
        api.subscribe("ann@example.com", "Newsletter")  # already a member: nothing starts
    assert calls == [{"sender": ListMembership, "membership": membership}]


def test_schedules_stored_under_the_old_task_paths_are_rewritten():
    from django_q.models import Schedule

    for name, func in (
        (tasks.DISPATCH_SCHEDULE, "wagtail_mailflow.engine.tasks.dispatch"),
        (tasks.SCAN_SCHEDULE, "wagtail_mailflow.engine.tasks.scan"),
    ):
        Schedule.objects.create(name=name, func=func, schedule_type=Schedule.MINUTES, minutes=1)
    call_command("mailflow_schedule", stdout=io.StringIO())
    assert dict(Schedule.objects.values_list("name", "func")) == {
        tasks.DISPATCH_SCHEDULE: "wagtail_mailflow.tasks.dispatch",
        tasks.SCAN_SCHEDULE: "wagtail_mailflow.tasks.scan",
    }


def test_tasks_queued_under_the_old_paths_still_run():
    from django.utils.module_loading import import_string

    assert import_string("wagtail_mailflow.engine.tasks.dispatch") is tasks.dispatch
    assert import_string("wagtail_mailflow.engine.tasks.scan") is tasks.scan
    assert import_string(tasks.DISPATCH_TASK) is tasks.dispatch


def test_every_counted_event_has_its_delivery_field():
    fields = {f.name for f in Delivery._meta.get_fields()}
    assert set(FIRST_EVENT_FIELDS.values()) <= fields
    assert {e.type for e in ESP_EVENTS} | {DeliveryEvent.Type.OTHER} == set(DeliveryEvent.Type)
