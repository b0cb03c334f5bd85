"""Sent emails in the admin: a filterable, read-only listing and the message as it was sent."""

import datetime
import re
from html import unescape

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import NoReverseMatch, reverse

from tests.factories import active_workflow
from wagtail_mailflow.models import Contact, Delivery, DeliveryEvent, Enrollment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_render_cache():
    """Compiled emails are cached per revision id, and ids come back after a rolled-back test."""
    from wagtail_mailflow import rendering

    rendering.clear_cache()
    yield
    rendering.clear_cache()


S = Delivery.Status
UTC = datetime.UTC
INDEX = "mailflow_deliveries:index"


def make_delivery(workflow, step, email, status=S.SENT, sent_at=None, due_at=None, **fields):
    contact, _ = Contact.objects.get_or_create(
        email=email, defaults={"first_name": email.split("@")[0].capitalize()}
    )
    enrollment = Enrollment.objects.create(workflow=workflow, contact=contact)
    return Delivery.objects.create(
        enrollment=enrollment,
        step=step,
        workflow=workflow,
        contact=contact,
        status=status,
        sent_at=sent_at,
        due_at=due_at or sent_at,
        **fields,
    )


@pytest.fixture
def deliveries():
    welcome = active_workflow()
    other = active_workflow(title="Birthday")
    w1, w2 = welcome.steps.order_by("sort_order")
    (o1,) = other.steps.all()[:1]
    return {
        "ada": make_delivery(
            welcome, w1, "ada@example.com", sent_at=datetime.datetime(2025, 3, 2, 9, tzinfo=UTC)
        ),
        "bob": make_delivery(
            welcome,
            w2,
            "bob@example.com",
            status=S.FAILED,
            due_at=datetime.datetime(2025, 3, 5, 9, tzinfo=UTC),
            attempts=5,
            last_error="550 Mailbox unavailable",
        ),
        "cleo": make_delivery(
            other, o1, "cleo@example.com", sent_at=datetime.datetime(2025, 3, 9, 9, tzinfo=UTC)
        ),
    }


def listed(client, **params):
    response = client.get(reverse(INDEX), params)
    assert response.status_code == 200
    html = response.content.decode()
    return {email for email in ("ada", "bob", "cleo") if f"{email}@example.com" in html}


def test_listing_is_in_the_menu_and_filters(admin_client, deliveries):
    assert listed(admin_client) == {"ada", "bob", "cleo"}
    ada, bob, cleo = deliveries["ada"], deliveries["bob"], deliveries["cleo"]
    assert listed(admin_client, workflow=ada.workflow_id) == {"ada", "bob"}
    assert listed(admin_client, step=bob.step_id) == {"bob"}
    assert listed(admin_client, status="failed") == {"bob"}
    assert listed(admin_client, status="sent") == {"ada", "cleo"}
    # Sent on the 2nd; failed, due on the 5th; sent on the 9th.
    assert listed(admin_client, date_from="2025-03-02", date_to="2025-03-05") == {"ada", "bob"}
    assert listed(admin_client, date_from="2025-03-03") == {"bob", "cleo"}
    assert listed(admin_client, date_to="2025-03-02") == {"ada"}
    dashboard = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse(INDEX) in dashboard  # "Sent emails" in the Mail automation menu
    assert cleo.workflow.title == "Birthday"


def test_bad_filter_values_are_not_errors(admin_client, deliveries):
    response = admin_client.get(reverse(INDEX), {"status": "nope", "date_from": "2025-02-30"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_read_only(admin_client, deliveries):
    ada = deliveries["ada"]
    for name in ("add", "edit", "delete", "copy", "history"):
        args = [] if name == "add" else [ada.pk]
        with pytest.raises(NoReverseMatch):
            reverse(f"mailflow_deliveries:{name}", args=args)
    base = reverse(INDEX)
    for suffix in ("new/", f"edit/{ada.pk}/", f"delete/{ada.pk}/", f"copy/{ada.pk}/"):
        assert admin_client.get(base + suffix).status_code == 404
        assert admin_client.post(base + suffix).status_code == 404
    html = admin_client.get(base).content.decode()
    assert base + "new/" not in html
    assert reverse("mailflow_deliveries:inspect", args=[ada.pk]) in html
    inspect = admin_client.get(reverse("mailflow_deliveries:inspect", args=[ada.pk]))
    assert f"edit/{ada.pk}/" not in inspect.content.decode()
    assert f"delete/{ada.pk}/" not in inspect.content.decode()
    assert Delivery.objects.count() == 3


def srcdoc(html):
    return unescape(re.search(r'srcdoc="([^"]*)"', html).group(1))


def test_inspect_re_renders_the_frozen_revision_for_the_contact(admin_client, deliveries):
    ada = deliveries["ada"]
    DeliveryEvent.objects.create(delivery=ada, esp="mailjet", event_id="e1", event_type="delivered")
    DeliveryEvent.objects.create(
        delivery=ada,
        esp="mailjet",
        event_id="e2",
        event_type="clicked",
        url="https://example.com/guides",
    )
    Delivery.objects.filter(pk=ada.pk).update(esp_message_id="<msg-42@mailjet>")
    # The template changes after activation: the email sent stays the frozen one.
    template = ada.step.template
    template.subject = "Changed subject"
    template.save_revision().publish()

    response = admin_client.get(reverse("mailflow_deliveries:inspect", args=[ada.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-field="subject">Hello Ada<', html)
    assert "Changed subject" not in html
    assert re.search(r'data-field="to">ada@example.com<', html)
    assert "&lt;msg-42@mailjet&gt;" in html
    assert "re-rendered now from the template revision this workflow froze" in html.lower()
    assert 'sandbox=""' in html
    body = srcdoc(html)
    assert re.search(r"Hi\s+Ada", body)
    # A link to nowhere: the contact's live unsubscribe link would work for whoever clicks it.
    assert "/mailflow/unsubscribe/" not in body and 'href="#unsubscribe"' in body
    assert re.search(r'data-event="delivered"', html)
    assert "https://example.com/guides" in html


def test_inspect_shows_attempts_and_error(admin_client, deliveries):
    bob = deliveries["bob"]
    html = admin_client.get(reverse("mailflow_deliveries:inspect", args=[bob.pk])).content.decode()
    assert re.search(r'data-field="attempts">5<', html)
    assert "550 Mailbox unavailable" in html
    assert "No events reported yet." in html


def test_inspect_of_an_erased_contact_uses_sample_data(admin_client, deliveries):
    ada = deliveries["ada"]
    Delivery.objects.filter(pk=ada.pk).update(contact=None)
    html = admin_client.get(reverse("mailflow_deliveries:inspect", args=[ada.pk])).content.decode()
    assert "erased" in html
    assert re.search(r"Hi\s+Jane", srcdoc(html))


def test_view_permission_required(client, django_user_model, deliveries):
    user = django_user_model.objects.create_user("editor", "editor@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    url = reverse(INDEX)
    assert client.get(url).status_code in (302, 403)
    group = Group.objects.create(name="Viewers")
    group.permissions.add(Permission.objects.get(codename="view_delivery"))
    user.groups.add(group)
    assert client.get(url).status_code == 200
    inspect = reverse("mailflow_deliveries:inspect", args=[deliveries["ada"].pk])
    assert client.get(inspect).status_code == 200
