"""Trying a workflow out: a test email to yourself, and a dry run that writes nothing."""

import datetime
import re
from html import unescape

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import active_workflow
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    Delivery,
    EmailWorkflow,
    Enrollment,
    ListMembership,
    Segment,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_render_cache():
    """Compiled emails are cached per revision id, and ids come back after a rolled-back test."""
    from wagtail_mailflow import rendering

    rendering.clear_cache()
    yield
    rendering.clear_cache()


def send_url(workflow):
    return reverse("mailflow_workflows:test_send", args=[workflow.pk])


def dry_url(workflow):
    return reverse("mailflow_workflows:dry_run", args=[workflow.pk])


# -- send a test -----------------------------------------------------------------


def test_send_test_to_own_address_with_sample_data(admin_client, admin_user):
    workflow = active_workflow()
    first, second = workflow.steps.order_by("sort_order")
    page = admin_client.get(send_url(workflow))
    assert page.status_code == 200
    assert "admin@example.com" in page.content.decode()
    response = admin_client.post(send_url(workflow), {"step": second.pk}, follow=True)
    assert response.status_code == 200
    assert "sent to admin@example.com" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [admin_user.email]
    assert message.subject == "[Test] Hello Jane"
    assert re.search(r"Hi\s+Jane", message.alternatives[0][0])
    assert "Welcome series email 2" in message.alternatives[0][0]
    assert "List-Unsubscribe" not in message.extra_headers
    assert "mailflow_delivery" not in message.metadata
    assert Delivery.objects.count() == 0
    assert first.pk != second.pk


def test_active_workflow_sends_the_frozen_revision(admin_client):
    workflow = active_workflow()
    step = workflow.steps.order_by("sort_order").first()
    step.template.subject = "Edited after activation"
    step.template.save_revision().publish()
    admin_client.post(send_url(workflow), {"step": step.pk})
    assert [m.subject for m in mail.outbox] == ["[Test] Hello Jane"]


def test_draft_workflow_sends_the_latest_revision(admin_client):
    workflow = active_workflow(activate=False)
    assert workflow.status == EmailWorkflow.Status.DRAFT
    step = workflow.steps.order_by("sort_order").first()
    step.template.subject = "Draft subject for {{ contact.first_name }}"
    step.template.save_revision()  # saved, not published
    admin_client.post(send_url(workflow), {"step": step.pk})
    assert [m.subject for m in mail.outbox] == ["[Test] Draft subject for Jane"]


def test_refused_without_an_email_address(admin_client, admin_user):
    admin_user.email = ""
    admin_user.save()
    workflow = active_workflow()
    step = workflow.steps.first()
    page = admin_client.get(send_url(workflow))
    assert "has no email address" in page.content.decode()
    response = admin_client.post(send_url(workflow), {"step": step.pk})
    assert response.status_code == 400
    assert "has no email address" in response.content.decode()
    assert mail.outbox == []


def test_a_step_of_another_workflow_is_refused(admin_client):
    workflow = active_workflow()
    other = active_workflow(title="Other")
    response = admin_client.post(send_url(workflow), {"step": other.steps.first().pk})
    assert response.status_code == 400
    assert "Choose one of this workflow&#x27;s emails." in response.content.decode()
    assert mail.outbox == []


def test_backend_failure_is_a_message_not_a_500(admin_client, settings):
    settings.EMAIL_BACKEND = "tests.admin.test_test_send_and_dry_run.FailingBackend"
    workflow = active_workflow()
    response = admin_client.post(send_url(workflow), {"step": workflow.steps.first().pk})
    assert response.status_code == 502
    assert "could not be sent: SMTP is down" in response.content.decode()


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("SMTP is down")


def editor(django_user_model, *codenames):
    user = django_user_model.objects.create_user("editor", "editor@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    group = Group.objects.create(name="Mailflow testers")
    for codename in codenames:
        group.permissions.add(Permission.objects.get(codename=codename))
    user.groups.add(group)
    return user


def test_change_permission_required(client, django_user_model):
    workflow = active_workflow()
    step = workflow.steps.first()
    client.force_login(editor(django_user_model, "view_emailworkflow"))
    assert client.get(send_url(workflow)).status_code in (302, 403)
    assert client.post(send_url(workflow), {"step": step.pk}).status_code in (302, 403)
    assert mail.outbox == []
    # A viewer may still do a dry run, which sends nothing.
    assert client.get(dry_url(workflow)).status_code == 200
    Group.objects.get(name="Mailflow testers").permissions.add(
        Permission.objects.get(codename="change_emailworkflow")
    )
    assert client.post(send_url(workflow), {"step": step.pk}).status_code == 302
    assert [m.to for m in mail.outbox] == [["editor@example.com"]]


def test_csrf_required(django_user_model):
    workflow = active_workflow()
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor(django_user_model, "view_emailworkflow", "change_emailworkflow"))
    response = client.post(send_url(workflow), {"step": workflow.steps.first().pk})
    assert response.status_code == 403
    assert mail.outbox == []


# -- dry run ---------------------------------------------------------------------


@pytest.fixture
def paris_workflow():
    """Weekdays 09:00–18:00 Paris; emails at once, 4 days later, then 10 hours later."""
    return active_workflow(
        delays=((0, "days"), (4, "days"), (10, "hours")),
        timezone="Europe/Paris",
        sending_days=[0, 1, 2, 3, 4],
        sending_start=datetime.time(9),
        sending_end=datetime.time(18),
    )


def subscribe(email, contact_list=None, **fields):
    contact = Contact.objects.create(email=email, **fields)
    contact_list = contact_list or ContactList.objects.get(name="Newsletter")
    ListMembership.objects.create(contact=contact, contact_list=contact_list)
    return contact


def cells(html, attr):
    return re.findall(rf'data-{attr}="([^"]+)"', html)


def test_timeline_applies_delays_dst_and_the_sending_period(admin_client, paris_workflow):
    subscribe("ada@example.com", first_name="Ada")
    # Thursday 27 March 2025, 10:00 in Paris (UTC+1); clocks go forward on Sunday 30th.
    response = admin_client.get(
        dry_url(paris_workflow), {"email": "ada@example.com", "entered_at": "2025-03-27T10:00"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert cells(html, "local") == [
        "2025-03-27 10:00",  # at once, within the period
        "2025-03-31 10:00",  # 4 calendar days: still 10:00, now in summer time
        "2025-04-01 09:00",  # 10 hours later is 20:00: waits for Tuesday's opening
    ]
    assert cells(html, "utc") == ["2025-03-27 09:00", "2025-03-31 08:00", "2025-04-01 07:00"]
    assert "outside the sending period" in html
    assert "UTC+0200" in html and "UTC+0100" in html


def test_dry_run_writes_and_sends_nothing(admin_client, paris_workflow):
    subscribe("ada@example.com", first_name="Ada")
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(dry_url(paris_workflow), {"email": "ada@example.com"})
    assert response.status_code == 200
    writes = [
        q["sql"]
        for q in captured
        if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.I) and "mailflow" in q["sql"]
    ]
    assert writes == []
    assert Delivery.objects.count() == 0
    assert Enrollment.objects.count() == 0
    assert mail.outbox == []
    # The entry defaults to now.
    entered = response.context["entered_at"]
    assert abs((timezone.now() - entered).total_seconds()) < 60


def test_preview_per_email_for_the_contact(admin_client, paris_workflow):
    subscribe("ada@example.com", first_name="Ada")
    html = admin_client.get(dry_url(paris_workflow), {"email": "ADA@example.com"}).content.decode()
    assert html.count("<span data-subject>Hello Ada</span>") == 3
    frames = re.findall(r'srcdoc="([^"]*)"', html)
    assert len(frames) == 3
    assert all(re.search(r"Hi\s+Ada", unescape(frame)) for frame in frames)
    assert "Welcome series email 2" in unescape(frames[1])
    assert 'data-eligible="yes"' in html


def test_eligibility_and_reasons(admin_client):
    segment = Segment.objects.create(
        name="Named Ada",
        conditions={
            "match": "all",
            "conditions": [{"field": "first_name", "operator": "equals", "value": "Ada"}],
        },
    )
    workflow = active_workflow(segment=segment)
    testers = ContactList.objects.create(name="Testers")
    newsletter = ContactList.objects.get(name="Newsletter")
    now = timezone.now()
    people = {
        "ok": subscribe("ok@example.com", first_name="Ada"),
        "unsub": subscribe("unsub@example.com", first_name="Ada", unsubscribed_at=now),
        "supp": subscribe(
            "supp@example.com", first_name="Ada", suppressed_at=now, suppression_reason="bounced"
        ),
        "segment": subscribe("segment@example.com", first_name="Bob"),
        "left": subscribe("left@example.com", first_name="Ada"),
        "outside": Contact.objects.create(email="outside@example.com", first_name="Ada"),
    }
    ListMembership.objects.filter(contact=people["left"]).update(left_at=now)
    for contact in people.values():
        ListMembership.objects.get_or_create(contact=contact, contact_list=testers)
    response = admin_client.get(dry_url(workflow), {"contact_list": testers.pk})
    assert response.status_code == 200
    html = response.content.decode()
    pattern = r'<tr data-contact="([^"]+)" data-eligible="(yes|no)">(.*?)</tr>'
    rows = {email: body for email, _flag, body in re.findall(pattern, html, re.S)}
    flags = dict(re.findall(r'<tr data-contact="([^"]+)" data-eligible="(yes|no)">', html))
    assert flags == {
        "ok@example.com": "yes",
        "unsub@example.com": "no",
        "supp@example.com": "no",
        "segment@example.com": "no",
        "left@example.com": "no",
        "outside@example.com": "no",
    }
    assert "Unsubscribed on" in rows["unsub@example.com"]
    assert "Address suppressed" in rows["supp@example.com"]
    assert "Hard bounce" in rows["supp@example.com"]
    assert "Does not match the segment “Named Ada”" in rows["segment@example.com"]
    assert "Left the list “Newsletter”" in rows["left@example.com"]
    assert "Not subscribed to the list “Newsletter”" in rows["outside@example.com"]
    assert rows["ok@example.com"].count("<p>") == 0
    assert newsletter.pk != testers.pk
    # A list shows no previews; each member links to its own dry run.
    assert "srcdoc" not in html
    assert '?email=ok%40example.com"' in html


def test_already_in_the_workflow_is_shown(admin_client, paris_workflow):
    ada = subscribe("ada@example.com", first_name="Ada")
    Enrollment.objects.create(workflow=paris_workflow, contact=ada)
    html = admin_client.get(dry_url(paris_workflow), {"email": "ada@example.com"}).content.decode()
    assert "Already in this workflow since" in html
    # Subscribed and matching, but already inside: it could not enter now.
    assert 'data-contact="ada@example.com" data-eligible="no"' in html


def test_several_matches_are_proposed(admin_client, paris_workflow):
    subscribe("ada@example.com")
    subscribe("adam@example.com")
    html = admin_client.get(dry_url(paris_workflow), {"email": "ada"}).content.decode()
    assert "Several contacts match" in html
    assert "?email=adam%40example.com" in html
    assert "data-local" not in html or "srcdoc" not in html


def test_draft_workflow_notice(admin_client):
    workflow = active_workflow(activate=False)
    subscribe("ada@example.com", first_name="Ada")
    html = admin_client.get(dry_url(workflow), {"email": "ada@example.com"}).content.decode()
    assert "nobody enters it until it is active" in html
    assert "<span data-subject>Hello Ada</span>" in html


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"entered_at": "2025-03-27T10:00"},
            "Enter a contact&#x27;s email address or choose a test list.",
        ),
        ({"email": "ada@example.com", "contact_list": "LIST"}, "not both"),
        ({"email": "nobody"}, "No contact&#x27;s address contains “nobody”."),
        ({"email": "ada@example.com", "entered_at": "27/03/2025 ten"}, "Enter a valid date/time."),
        ({"contact_list": "999999"}, "Select a valid choice"),
        ({"contact_list": "EMPTY"}, "This list has no members."),
    ],
)
def test_bad_input_is_a_form_error(admin_client, paris_workflow, params, message):
    subscribe("ada@example.com")
    lists = {"LIST": ContactList.objects.get(name="Newsletter").pk}
    lists["EMPTY"] = ContactList.objects.create(name="Empty").pk
    params = {key: lists.get(value, value) for key, value in params.items()}
    response = admin_client.get(dry_url(paris_workflow), params)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "data-local" not in response.content.decode()
