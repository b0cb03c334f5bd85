"""Date, birthday and reactivation scans: who enters when, once, with set-based queries."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import active_workflow
from wagtail_mailflow.engine.scans import run_scans, scan_workflow
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    EmailWorkflow,
    Enrollment,
    ListMembership,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
Scenario = EmailWorkflow.Scenario


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def member(email, contact_list, joined_at=None, **properties):
    contact = Contact.objects.create(email=email, properties=properties)
    ListMembership.objects.create(
        contact=contact, contact_list=contact_list, joined_at=joined_at or at(2020, 1, 1)
    )
    return contact


def entered(workflow):
    return sorted(workflow.enrollments.values_list("contact__email", flat=True))


def set_scanned(workflow, when):
    EmailWorkflow.objects.filter(pk=workflow.pk).update(scanned_until=when)
    workflow.refresh_from_db()


@pytest.fixture
def newsletter():
    return ContactList.objects.create(name="Newsletter")


@pytest.fixture
def event_date():
    return ContactProperty.objects.create(name="event_date", type="date")


@pytest.fixture
def birthday():
    return ContactProperty.objects.create(name="birthday", type="date")


def test_fixed_date_enters_everyone_eligible_once(newsletter):
    member("a@example.com", newsletter)
    member("b@example.com", newsletter)
    Contact.objects.create(email="outsider@example.com")
    workflow = active_workflow(
        contact_list=newsletter,
        scenario=Scenario.DATE,
        date_mode=EmailWorkflow.DateMode.FIXED,
        fixed_at=at(2031, 5, 1, 9),
        delays=((0, "days"),),
    )
    set_scanned(workflow, at(2031, 4, 30))
    assert scan_workflow(workflow, at(2031, 5, 1, 8, 59)) == 0
    assert scan_workflow(workflow, at(2031, 5, 1, 9, 0)) == 2
    member("late@example.com", newsletter)
    assert scan_workflow(workflow, at(2031, 5, 1, 9, 1)) == 0  # "then", not afterwards
    assert entered(workflow) == ["a@example.com", "b@example.com"]


def test_relative_date_n_days_before_at_time_of_day(newsletter, event_date):
    member("soon@example.com", newsletter, event_date="2031-03-10")
    member("later@example.com", newsletter, event_date="2031-03-11")
    member("none@example.com", newsletter)
    workflow = active_workflow(
        contact_list=newsletter,
        scenario=Scenario.DATE,
        date_mode=EmailWorkflow.DateMode.RELATIVE,
        date_property=event_date,
        offset_days=-3,
        time_of_day=datetime.time(9, 0),
        timezone="Europe/Paris",
        delays=((0, "days"),),
    )
    set_scanned(workflow, at(2031, 3, 7, 0, 0))
    # 2031-03-07 09:00 Paris is 08:00 UTC: three days before the 10th.
    assert scan_workflow(workflow, at(2031, 3, 7, 7, 59)) == 0
    assert scan_workflow(workflow, at(2031, 3, 7, 8, 0)) == 1
    assert entered(workflow) == ["soon@example.com"]
    assert scan_workflow(workflow, at(2031, 3, 8, 8, 30)) == 1
    assert entered(workflow) == ["later@example.com", "soon@example.com"]
    assert scan_workflow(workflow, at(2031, 3, 9, 8, 30)) == 0


def test_relative_date_catches_up_after_downtime_without_duplicates(newsletter, event_date):
    for day in (10, 11, 12):
        member(f"d{day}@example.com", newsletter, event_date=f"2031-03-{day}")
    workflow = active_workflow(
        contact_list=newsletter,
        scenario=Scenario.DATE,
        date_property=event_date,
        offset_days=0,
        time_of_day=datetime.time(12, 0),
        timezone="UTC",
        delays=((0, "days"),),
    )
    set_scanned(workflow, at(2031, 3, 9))
    assert scan_workflow(workflow, at(2031, 3, 12, 13)) == 3  # three days at once
    set_scanned(workflow, at(2031, 3, 9))  # an overlapping run
    assert scan_workflow(workflow, at(2031, 3, 12, 13)) == 0


def test_birthday_yearly_and_29_february(newsletter, birthday):
    member("leap@example.com", newsletter, birthday="2000-02-29")
    member("march@example.com", newsletter, birthday="1990-03-01")
    workflow = active_workflow(
        contact_list=newsletter,
        scenario=Scenario.BIRTHDAY,
        date_property=birthday,
        time_of_day=datetime.time(8, 0),
        timezone="UTC",
        delays=((0, "days"),),
    )
    # 2031 is not a leap year: the 29 February birthday is on 28 February.
    set_scanned(workflow, at(2031, 2, 27, 12))
    assert scan_workflow(workflow, at(2031, 2, 28, 8, 0)) == 1
    assert entered(workflow) == ["leap@example.com"]
    assert scan_workflow(workflow, at(2031, 3, 1, 9, 0)) == 1
    # Once a year: a repeated scan of the same days enters nobody.
    set_scanned(workflow, at(2031, 2, 27, 12))
    Enrollment.objects.update(status=Enrollment.Status.COMPLETED)
    assert scan_workflow(workflow, at(2031, 3, 1, 9, 0)) == 0
    # Next year it enters again; 2032 is a leap year: the 29th itself.
    set_scanned(workflow, at(2032, 2, 28, 12))
    assert scan_workflow(workflow, at(2032, 2, 29, 8, 0)) == 1
    assert workflow.enrollments.filter(contact__email="leap@example.com").count() == 2
    assert set(workflow.enrollments.values_list("entry_key", flat=True)) == {"2031", "2032"}


def test_reactivation_once_per_inactive_spell(newsletter):
    now = at(2031, 6, 1, 12)
    idle = member("idle@example.com", newsletter)
    Contact.objects.filter(pk=idle.pk).update(last_engaged_at=now - datetime.timedelta(days=40))
    busy = member("busy@example.com", newsletter)
    Contact.objects.filter(pk=busy.pk).update(last_engaged_at=now - datetime.timedelta(days=2))
    member("never@example.com", newsletter, joined_at=now - datetime.timedelta(days=90))
    member("new@example.com", newsletter, joined_at=now - datetime.timedelta(days=5))
    workflow = active_workflow(
        contact_list=newsletter,
        scenario=Scenario.REACTIVATION,
        inactivity_days=30,
        delays=((0, "days"),),
    )
    set_scanned(workflow, now - datetime.timedelta(minutes=1))
    assert scan_workflow(workflow, now) == 2
    assert entered(workflow) == ["idle@example.com", "never@example.com"]
    Enrollment.objects.update(status=Enrollment.Status.COMPLETED)
    # Same spell: not again.
    assert scan_workflow(workflow, now + datetime.timedelta(days=1)) == 0
    # The contact opens an email, then goes quiet again: a new spell.
    Contact.objects.filter(pk=idle.pk).update(last_engaged_at=now + datetime.timedelta(days=2))
    # Forty days on, busy and new have gone quiet too; never has had no new spell.
    assert scan_workflow(workflow, now + datetime.timedelta(days=40)) == 3
    assert workflow.enrollments.filter(contact=idle).count() == 2
    assert workflow.enrollments.filter(contact__email="never@example.com").count() == 1


def test_scans_skip_inactive_workflows_and_survive_a_broken_one(newsletter, birthday):
    member("x@example.com", newsletter, birthday="1990-01-01")
    locked = active_workflow(
        title="Locked",
        contact_list=newsletter,
        scenario=Scenario.BIRTHDAY,
        date_property=birthday,
        time_of_day=datetime.time(0, 0),
        delays=((0, "days"),),
    )
    locked.lock()
    assert run_scans(now=timezone.now()) == 0
    assert not Enrollment.objects.exists()
