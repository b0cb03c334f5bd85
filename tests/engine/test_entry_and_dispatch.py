"""The engine: entering, the five scenarios' entry rules, lifecycle effects, sending."""

import datetime
import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import active_workflow
from wagtail_mailflow import api, conf
from wagtail_mailflow.engine.dispatch import effective_batch_size, run_due
from wagtail_mailflow.engine.entry import enter, enter_many
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    Delivery,
    EmailWorkflow,
    Enrollment,
    ListMembership,
    Segment,
)

pytestmark = pytest.mark.django_db(transaction=False)

D = Delivery.Status


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []


def subscribe(email="ann@example.com", **kwargs):
    kwargs.setdefault("contact_list", "Newsletter")
    contact_list = kwargs.pop("contact_list")
    return api.subscribe(email, contact_list, **kwargs)


def test_welcome_immediate_email_sent_on_commit(django_capture_on_commit_callbacks):
    workflow = active_workflow()
    with django_capture_on_commit_callbacks(execute=True):
        contact, membership, joined = subscribe(first_name="Ann")
    assert joined is True
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.com"]
    assert message.subject == "Hello Ann"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://")
    html = message.alternatives[0][0]
    assert re.search(r"Hi\s+Ann", html)
    assert "Hi Ann" in message.body
    delivery = Delivery.objects.get(step__sort_order=0)
    assert delivery.status == D.SENT and delivery.attempts == 1
    # The second email is scheduled 3 calendar days after the first was sent.
    second = Delivery.objects.get(step__sort_order=1)
    assert second.status == D.SCHEDULED
    assert second.due_at - delivery.sent_at == datetime.timedelta(days=3)
    enrollment = Enrollment.objects.get()
    assert enrollment.status == Enrollment.Status.ACTIVE and enrollment.workflow == workflow


def test_second_email_goes_out_when_due_and_enrollment_completes(
    django_capture_on_commit_callbacks,
):
    active_workflow()
    with django_capture_on_commit_callbacks(execute=True):
        subscribe()
    later = timezone.now() + datetime.timedelta(days=3, minutes=1)
    stats = run_due(now=later)
    assert stats.sent == 1
    assert len(mail.outbox) == 2
    assert Enrollment.objects.get().status == Enrollment.Status.COMPLETED
    assert run_due(now=later).sent == 0  # nothing is sent twice


def test_double_subscribe_enters_once(django_capture_on_commit_callbacks):
    active_workflow()
    with django_capture_on_commit_callbacks(execute=True):
        subscribe()
        subscribe("ANN@Example.com")
    assert Enrollment.objects.count() == 1
    assert len(mail.outbox) == 1


def test_enter_twice_directly_creates_one_enrollment():
    workflow = active_workflow()
    contact, _m, _j = subscribe()
    Enrollment.objects.all().delete()
    assert enter(workflow, contact) is not None
    assert enter(workflow, contact) is None
    assert Enrollment.objects.count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize("status", ["draft", "locked", "stopped", "archived"])
def test_only_active_workflows_take_entries(status):
    workflow = active_workflow(activate=status != "draft")
    if status == "locked":
        workflow.lock()
    elif status in ("stopped", "archived"):
        workflow.stop()
        if status == "archived":
            workflow.archive()
    subscribe()
    assert not Enrollment.objects.exists()


def test_members_before_activation_do_not_enter_welcome():
    newsletter = ContactList.objects.create(name="Newsletter")
    api.subscribe("early@example.com", newsletter)
    active_workflow(contact_list=newsletter)
    subscribe("late@example.com")
    assert list(Enrollment.objects.values_list("contact__email", flat=True)) == ["late@example.com"]


def test_unsubscribed_and_suppressed_contacts_do_not_enter():
    workflow = active_workflow()
    a, _m, _j = subscribe("a@example.com")
    b, _m, _j = subscribe("b@example.com")
    Enrollment.objects.all().delete()
    Delivery.objects.all().delete()
    Contact.objects.filter(pk=a.pk).update(unsubscribed_at=timezone.now())
    Contact.objects.filter(pk=b.pk).update(
        suppressed_at=timezone.now(), suppression_reason="bounced"
    )
    assert enter(workflow, Contact.objects.get(pk=a.pk)) is None
    assert enter(workflow, Contact.objects.get(pk=b.pk)) is None


def test_double_opt_in_waits_for_confirmation(django_capture_on_commit_callbacks):
    confirmed_list = ContactList.objects.create(name="Confirmed", double_opt_in=True)
    active_workflow(contact_list=confirmed_list)
    with django_capture_on_commit_callbacks(execute=True):
        api.subscribe("c@example.com", confirmed_list)
    assert not Enrollment.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        _c, membership, joined = api.subscribe("c@example.com", confirmed_list, confirmed=True)
    assert joined and membership.confirmed_at is not None
    assert Enrollment.objects.count() == 1 and len(mail.outbox) == 1


def test_segment_restricts_entry():
    ContactProperty.objects.create(name="gender", type="text")
    segment = Segment.objects.create(
        name="Women",
        conditions={
            "match": "all",
            "conditions": [{"field": "gender", "operator": "equals", "value": "Femme"}],
        },
    )
    active_workflow(segment=segment)
    subscribe("f@example.com", properties={"gender": "Femme"})
    subscribe("h@example.com", properties={"gender": "Homme"})
    assert list(Enrollment.objects.values_list("contact__email", flat=True)) == ["f@example.com"]


def test_rejoining_after_leaving_reenters_only_when_allowed():
    no_reentry = active_workflow(title="No re-entry")
    contact, membership, _j = subscribe()
    ListMembership.objects.filter(pk=membership.pk).update(left_at=timezone.now())
    Enrollment.objects.update(status=Enrollment.Status.EXITED)
    subscribe()
    assert no_reentry.enrollments.count() == 1

    other = ContactList.objects.create(name="Other")
    reentry = active_workflow(title="Re-entry", contact_list=other, allow_reentry=True)
    _c, membership, _j = api.subscribe("ann@example.com", other)
    Enrollment.objects.filter(workflow=reentry).update(status=Enrollment.Status.COMPLETED)
    ListMembership.objects.filter(pk=membership.pk).update(left_at=timezone.now())
    api.subscribe("ann@example.com", other, now=timezone.now() + datetime.timedelta(seconds=5))
    assert reentry.enrollments.count() == 2


# -- contact property update --------------------------------------------------


@pytest.fixture
def points_workflow():
    ContactProperty.objects.create(name="points", type="number")
    return active_workflow(
        title="Loyalty",
        scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
        trigger_conditions={
            "match": "all",
            "conditions": [{"field": "points", "operator": "gte", "value": 100}],
        },
        delays=((0, "days"),),
    )


def test_property_update_enters_when_condition_becomes_true(points_workflow):
    contact, _m, _j = subscribe(properties={"points": 10})
    assert not points_workflow.enrollments.exists()
    api.update_contact(contact, properties={"points": 50})
    assert not points_workflow.enrollments.exists()
    entered = api.update_contact(contact, properties={"points": 120})
    assert len(entered) == 1
    # Still true on the next save: no new entry (not on every save).
    assert api.update_contact(contact, properties={"points": 130}) == []
    assert points_workflow.enrollments.count() == 1


def test_property_update_true_at_subscription_counts_as_change(points_workflow):
    contact, _m, _j = subscribe(properties={"points": 10})
    api.update_contact(contact, properties={"points": 150})
    assert points_workflow.enrollments.count() == 1


def test_property_update_save_without_change_does_nothing(
    points_workflow, django_assert_max_num_queries
):
    contact, _m, _j = subscribe(properties={"points": 150})
    # Read the contact and the property definitions (plus a savepoint): no write, no trigger.
    with django_assert_max_num_queries(4) as captured:
        assert api.update_contact(contact, properties={"points": 150}) == []
    assert not [q for q in captured.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]


def test_property_update_requires_list_membership(points_workflow):
    contact = Contact.objects.create(email="outsider@example.com")
    assert api.update_contact(contact, properties={"points": 500}) == []


def test_invalid_property_value_is_refused_and_nothing_written(points_workflow):
    from django.core.exceptions import ValidationError

    contact, _m, _j = subscribe(properties={"points": 10})
    with pytest.raises(ValidationError):
        api.update_contact(contact, properties={"points": "lots"})
    contact.refresh_from_db()
    assert contact.properties == {"points": 10}


# -- lifecycle effects on sending --------------------------------------------


def _two_step_enrolled(django_capture_on_commit_callbacks):
    workflow = active_workflow(delays=((1, "hours"), (1, "hours")))
    with django_capture_on_commit_callbacks(execute=True):
        subscribe()
    return workflow


def test_locked_workflow_still_sends_due_emails(django_capture_on_commit_callbacks):
    workflow = _two_step_enrolled(django_capture_on_commit_callbacks)
    workflow.lock()
    later = timezone.now() + datetime.timedelta(hours=1, minutes=1)
    assert run_due(now=later).sent == 1
    assert len(mail.outbox) == 1


def test_stopped_workflow_skips_and_moves_on_then_completes(django_capture_on_commit_callbacks):
    workflow = _two_step_enrolled(django_capture_on_commit_callbacks)
    workflow.stop()
    t1 = timezone.now() + datetime.timedelta(hours=1, minutes=1)
    stats = run_due(now=t1)
    assert stats.skipped == 1 and stats.sent == 0
    first = Delivery.objects.get(step__sort_order=0)
    assert first.status == D.SKIPPED
    second = Delivery.objects.get(step__sort_order=1)
    assert second.status == D.SCHEDULED
    assert second.due_at == t1 + datetime.timedelta(hours=1)  # counted from the skip
    t2 = t1 + datetime.timedelta(hours=1, minutes=1)
    assert run_due(now=t2).skipped == 1
    assert Enrollment.objects.get().status == Enrollment.Status.COMPLETED
    assert mail.outbox == []


def test_reactivating_a_stopped_workflow_resumes(django_capture_on_commit_callbacks):
    workflow = _two_step_enrolled(django_capture_on_commit_callbacks)
    workflow.stop()
    workflow.activate()
    later = timezone.now() + datetime.timedelta(hours=1, minutes=1)
    assert run_due(now=later).sent == 1


def test_archived_workflow_sends_nothing(django_capture_on_commit_callbacks):
    workflow = _two_step_enrolled(django_capture_on_commit_callbacks)
    workflow.archive(stop_first=True)
    run_due(now=timezone.now() + datetime.timedelta(days=1))
    run_due(now=timezone.now() + datetime.timedelta(days=2))
    assert mail.outbox == []
    assert not Delivery.objects.filter(status=D.SENT).exists()


def test_sending_period_delays_an_immediate_email():
    # Only Sundays 10:00–11:00 UTC.
    workflow = active_workflow(
        delays=((0, "days"),),
        timezone="UTC",
        sending_days=[6],
        sending_start=datetime.time(10),
        sending_end=datetime.time(11),
    )
    monday = datetime.datetime(2030, 1, 7, 9, 0, tzinfo=datetime.UTC)
    contact = Contact.objects.create(email="p@example.com")
    ListMembership.objects.create(
        contact=contact, contact_list=workflow.contact_list, joined_at=monday
    )
    enrollment = enter(workflow, contact, now=monday)
    delivery = enrollment.deliveries.get()
    assert delivery.due_at == datetime.datetime(2030, 1, 13, 10, 0, tzinfo=datetime.UTC)
    assert run_due(now=monday + datetime.timedelta(days=1)).sent == 0
    assert run_due(now=delivery.due_at).sent == 1


# -- bulk entry ----------------------------------------------------------------


def test_enter_many_is_set_based_and_idempotent(django_assert_max_num_queries):
    workflow = active_workflow()
    newsletter = workflow.contact_list
    contacts = Contact.objects.bulk_create([Contact(email=f"c{i}@example.com") for i in range(300)])
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=newsletter) for c in contacts]
    )
    # A handful of statements for 300 contacts (SQLite splits a bulk INSERT by its
    # variable limit), never one per contact.
    with django_assert_max_num_queries(20):
        assert enter_many(workflow, Contact.objects.all(), entry_key="x") == 300
    assert enter_many(workflow, Contact.objects.all(), entry_key="x") == 0
    assert Delivery.objects.filter(workflow=workflow).count() == 300


@pytest.mark.parametrize("count", [20, 21, 39])
def test_enter_many_pages_through_every_eligible_contact(monkeypatch, count):
    """Pages of ids: exact multiples of the page size, one more, and ineligible gaps."""
    from wagtail_mailflow.engine import entry

    monkeypatch.setattr(entry, "CHUNK_SIZE", 10)
    workflow = active_workflow()
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"p{i}@example.com") for i in range(count + 15)]
    )
    # Every fourth of the extra contacts is a member; the rest are gaps between pages.
    members = contacts[:count] + contacts[count::4]
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=workflow.contact_list) for c in members]
    )
    assert enter_many(workflow, Contact.objects.all(), entry_key="x") == len(members)
    entered = set(Enrollment.objects.filter(workflow=workflow).values_list("contact", flat=True))
    assert entered == {c.pk for c in members}
    assert Delivery.objects.filter(workflow=workflow).count() == len(members)


def test_large_bulk_entry_refreshes_postgresql_statistics(monkeypatch):
    """After a large entry PostgreSQL re-analyzes the tables the claim plans on; SQLite not."""
    from wagtail_mailflow.engine import entry

    monkeypatch.setattr(entry, "ANALYZE_AFTER", 8)
    workflow = active_workflow()
    contacts = Contact.objects.bulk_create([Contact(email=f"a{i}@example.com") for i in range(10)])
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=workflow.contact_list) for c in contacts]
    )
    with CaptureQueriesContext(connection) as small:
        first_seven = Contact.objects.filter(pk__in=[c.pk for c in contacts[:7]])
        assert enter_many(workflow, first_seven, entry_key="x") == 7
    other = active_workflow(title="Another series")
    with CaptureQueriesContext(connection) as large:
        assert enter_many(other, Contact.objects.all(), entry_key="x") == 10

    def analyzed(captured):
        return sorted(q["sql"] for q in captured.captured_queries if q["sql"].startswith("ANALYZE"))

    assert analyzed(small) == []
    if connection.vendor == "postgresql":
        assert analyzed(large) == [
            'ANALYZE "wagtail_mailflow_delivery"',
            'ANALYZE "wagtail_mailflow_enrollment"',
        ]
    else:
        assert analyzed(large) == []


def test_sending_is_a_constant_number_of_queries_per_batch(settings):
    # One hand-over group and no re-check for the whole batch, however loaded the machine.
    settings.WAGTAIL_MAILFLOW_HANDOVER_SECONDS = 3600
    settings.WAGTAIL_MAILFLOW_RECHECK_SECONDS = 3600
    workflow = active_workflow(delays=((0, "days"), (1, "days")))
    newsletter = workflow.contact_list
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"q{i}@example.com", first_name=f"Q{i}") for i in range(150)]
    )
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=newsletter) for c in contacts]
    )
    enter_many(workflow, Contact.objects.all(), entry_key="x")
    run_due(max_batches=1, batch_size=10)  # warm the template cache
    with CaptureQueriesContext(connection) as captured:
        stats = run_due(batch_size=140)
    assert stats.sent == 140
    assert len(mail.outbox) == 150
    # Savepoints exist only because the test runs inside a transaction.
    statements = [q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) <= 14, "\n".join(q["sql"][:120] for q in statements)


class _DiesOnFifthMessage:
    """An email backend whose worker 'dies' (BaseException) on the fifth message."""

    sent = []

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        if len(_DiesOnFifthMessage.sent) == 4:
            raise KeyboardInterrupt("worker killed")
        _DiesOnFifthMessage.sent.extend(m.to[0] for m in messages)
        return len(messages)


def test_worker_killed_mid_batch_leaves_only_its_current_group_unknown(monkeypatch):
    from wagtail_mailflow.engine import handover

    workflow = active_workflow(delays=((0, "days"),))
    contacts = Contact.objects.bulk_create([Contact(email=f"k{i}@example.com") for i in range(10)])
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=workflow.contact_list) for c in contacts]
    )
    enter_many(workflow, Contact.objects.all(), entry_key="x")
    monkeypatch.setattr(handover.PACE, "group_size", lambda: 3)
    _DiesOnFifthMessage.sent = []
    with pytest.raises(KeyboardInterrupt):
        run_due(connection_factory=_DiesOnFifthMessage, batch_size=10)
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    # Groups of three: two groups were handed over (the fifth message was in the second).
    assert statuses.count(D.SENDING) == 6 and statuses.count(D.CLAIMED) == 4
    later = timezone.now() + datetime.timedelta(seconds=conf.get("LEASE_SECONDS") + 1)
    mail.outbox = []
    stats = run_due(now=later)
    assert stats.sent == 4  # the rows never handed over go out once
    assert Delivery.objects.filter(status=D.UNKNOWN).count() == 6  # never resent blindly
    # Unknown outcomes move their contacts on, as failures do: nobody is stuck.
    assert Enrollment.objects.filter(status=Enrollment.Status.COMPLETED).count() == 10
    resent = {m.to[0] for m in mail.outbox}
    assert not resent & set(_DiesOnFifthMessage.sent)


class _CountingBackend:
    """An email backend counting its connections; the message to ``fail@`` raises."""

    opened = 0
    closed = 0

    def __init__(self, *args, **kwargs):
        self.open_now = False

    def open(self):
        if not self.open_now:
            self.open_now = True
            _CountingBackend.opened += 1
        return True

    def close(self):
        if self.open_now:
            self.open_now = False
            _CountingBackend.closed += 1

    def send_messages(self, messages):
        if messages[0].to[0].startswith("fail@"):
            raise ConnectionResetError("connection reset by peer")
        return len(messages)


def test_a_run_keeps_its_email_connection_open_from_batch_to_batch():
    workflow = active_workflow(delays=((0, "days"),))
    emails = [f"c{i}@example.com" for i in range(9)] + ["fail@example.com"]
    contacts = Contact.objects.bulk_create([Contact(email=e) for e in emails])
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=workflow.contact_list) for c in contacts]
    )
    enter_many(workflow, Contact.objects.all(), entry_key="x")
    _CountingBackend.opened = _CountingBackend.closed = 0
    stats = run_due(connection_factory=_CountingBackend, batch_size=3)
    assert stats.batches == 4 and stats.sent == 9
    # One connection for the four batches (not one a batch), and a new one after the call
    # that failed if any call followed it; every connection opened is closed by the end.
    assert _CountingBackend.opened in (1, 2)
    assert _CountingBackend.closed == _CountingBackend.opened


def test_a_batch_is_not_capped_by_the_esps_recipients_per_call(settings):
    # Mailjet takes 50 recipients a call; each message is a call of its own.
    settings.EMAIL_BACKEND = "anymail.backends.mailjet.EmailBackend"
    settings.WAGTAIL_MAILFLOW_BATCH_SIZE = 200
    assert effective_batch_size() == 200
