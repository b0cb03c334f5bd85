"""What an editor sees on the way through the admin: searches that work, dates local and
relative both ways, values in words, statuses that say the object's own status."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    ContactFactory,
    ContactPropertyFactory,
    EmailTemplateFactory,
    active_workflow,
)
from wagtail_mailflow.admin import display
from wagtail_mailflow.models import Delivery, EmailWorkflow, Enrollment

pytestmark = pytest.mark.django_db

TEMPLATES = "wagtailsnippets_wagtail_mailflow_emailtemplate"


def test_template_search_finds_part_of_a_name(admin_client):
    EmailTemplateFactory(name="Welcome aboard")
    EmailTemplateFactory(name="Birthday")
    response = admin_client.get(reverse(f"{TEMPLATES}:list"), {"q": "welc"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Welcome aboard" in html
    assert "Birthday" not in html


def test_template_chooser_search_finds_part_of_a_name(admin_client):
    EmailTemplateFactory(name="Welcome aboard")
    response = admin_client.get(
        "/admin/snippets/choose/wagtail_mailflow/emailtemplate/results/", {"q": "Welc"}
    )
    assert response.status_code == 200
    assert "Welcome aboard" in response.content.decode()


def test_imports_page_has_one_import_button_in_its_header(admin_client):
    html = admin_client.get(reverse("mailflow_imports:index")).content.decode()
    assert html.count(f'href="{reverse("mailflow_imports:upload")}"') == 1


def test_relative_dates_in_the_future_and_the_past():
    now = timezone.now()
    assert display.relative(now + datetime.timedelta(hours=3, minutes=5), now) == "in 3\xa0hours"
    assert display.relative(now - datetime.timedelta(days=2), now) == "2\xa0days ago"
    assert display.relative(now + datetime.timedelta(seconds=20), now) == "just now"


def test_sent_emails_listing_says_when_a_future_email_is_due(admin_client):
    workflow = active_workflow(delays=((3, "days"),))
    contact = ContactFactory()
    enrollment = Enrollment.objects.create(workflow=workflow, contact=contact)
    Delivery.objects.create(
        enrollment=enrollment,
        step=workflow.steps.get(),
        workflow=workflow,
        contact=contact,
        due_at=timezone.now() + datetime.timedelta(days=3, hours=1),
    )
    html = admin_client.get(reverse("mailflow_deliveries:index")).content.decode()
    assert "In 3\xa0days" in html
    assert "Just now" not in html


def test_workflow_page_shows_local_times_language_names_and_dashes(admin_client, settings):
    settings.TIME_ZONE = "Europe/Paris"
    workflow = active_workflow(language="fr")
    html = admin_client.get(
        reverse("mailflow_workflows:inspect", args=[workflow.pk])
    ).content.decode()
    values = [
        re.sub(r"\s+", " ", v).strip() for v in re.findall(r"<dd[^>]*>(.*?)</dd>", html, re.S)
    ]
    assert "None" not in values
    assert values.count("—") >= 4  # locked, stopped, archived, duplicated from
    assert "French" in values and "fr" not in values
    # The activation time in the site's timezone (Paris), not UTC.
    with timezone.override("Europe/Paris"):
        assert display.moment(workflow.activated_at) in values
    with timezone.override("UTC"):
        assert display.moment(workflow.activated_at) not in values


def test_status_side_panel_says_draft_not_live(admin_client):
    workflow = active_workflow(activate=False)
    html = admin_client.get(reverse("mailflow_workflows:edit", args=[workflow.pk])).content.decode()
    assert 'id="status-sidebar-draft"' in html
    assert 'id="status-sidebar-live"' not in html


def test_contact_status_side_panel_says_the_sending_state(admin_client):
    contact = ContactFactory()
    html = admin_client.get(reverse("mailflow_contacts:edit", args=[contact.pk])).content.decode()
    assert 'id="status-sidebar-subscribed"' in html
    assert 'id="status-sidebar-live"' not in html


def test_listings_colour_statuses_by_status(admin_client):
    active_workflow(title="Running")
    active_workflow(title="Drafted", activate=False)
    html = admin_client.get(reverse("mailflow_workflows:index")).content.decode()
    assert "mailflow-status--positive" in html
    assert "mailflow-status--info" in html
    assert EmailWorkflow.objects.count() == 2


def test_contact_page_shows_booleans_in_words_and_the_language_by_name(admin_client):
    ContactPropertyFactory(name="vip", label="VIP", type="boolean")
    contact = ContactFactory(language="fr", properties={"vip": True})
    html = admin_client.get(
        reverse("mailflow_contacts:inspect", args=[contact.pk])
    ).content.decode()
    values = [
        re.sub(r"\s+", " ", v).strip() for v in re.findall(r"<dd[^>]*>(.*?)</dd>", html, re.S)
    ]
    assert "Yes" in values
    assert "True" not in values
    assert "French" in values


def test_emails_section_has_one_heading(admin_client):
    workflow = active_workflow(activate=False)
    html = admin_client.get(reverse("mailflow_workflows:edit", args=[workflow.pk])).content.decode()
    section = html[html.index('id="panel-mailflow_emails-content"') :]
    section = section[: section.index("id_steps-FORMS")]
    assert not re.search(r">\s*Emails\s*<", section)


def test_locked_workflow_banner_does_not_advise_to_lock_it(admin_client):
    workflow = active_workflow()
    workflow.lock()
    html = admin_client.get(
        reverse("mailflow_workflows:inspect", args=[workflow.pk])
    ).content.decode()
    assert "then lock this one" not in html
    assert "Duplicate it to make changes, then activate the copy." in html


def test_emails_table_column_of_delays_is_titled_when(admin_client):
    workflow = active_workflow()
    html = admin_client.get(
        reverse("mailflow_workflows:inspect", args=[workflow.pk])
    ).content.decode()
    table = re.search(r"<table class=\"listing\" data-mailflow-steps>(.*?)</thead>", html, re.S)
    assert "<th>When</th>" in table.group(1)
    assert "<th>Sent</th>" not in table.group(1)


def test_timezone_is_a_searchable_list_and_language_a_choice(admin_client):
    workflow = active_workflow(activate=False)
    html = admin_client.get(reverse("mailflow_workflows:edit", args=[workflow.pk])).content.decode()
    assert re.search(r'<input[^>]*name="timezone"[^>]*list="id_timezone-timezones"', html)
    assert '<datalist id="id_timezone-timezones">' in html
    assert '<option value="Europe/Paris">' in html
    assert re.search(
        r'<select name="language"[^>]*>\s*<option value="en"[^>]*>English</option>', html
    )
    contact = ContactFactory()
    html = admin_client.get(reverse("mailflow_contacts:edit", args=[contact.pk])).content.decode()
    assert '<select name="language"' in html
    assert '<option value="fr">French</option>' in html
    assert '<option value="Europe/Paris">' in html


def test_an_unknown_timezone_is_refused_with_a_message(admin_client):
    contact = ContactFactory()
    data = {"email": contact.email, "timezone": "Mars/Olympus"}
    html = admin_client.post(
        reverse("mailflow_contacts:edit", args=[contact.pk]), data
    ).content.decode()
    assert "not a known timezone" in html
