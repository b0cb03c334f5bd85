"""The "Mail automation" admin: listings, editing rules, deletion rules, permissions."""

import pytest
from django.urls import reverse

from tests.factories import make_workflow
from wagtail_mailflow.models import EmailWorkflow

pytestmark = pytest.mark.django_db

Status = EmailWorkflow.Status


def test_menu_and_listings_render(admin_client):
    workflow = make_workflow(status=Status.ACTIVE)
    response = admin_client.get(reverse("mailflow_workflows:index"))
    assert response.status_code == 200
    assert workflow.title in response.content.decode()
    for name in ("mailflow_contacts", "mailflow_lists", "mailflow_segments", "mailflow_properties"):
        assert admin_client.get(reverse(f"{name}:index")).status_code == 200
    dashboard = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Mail automation" in dashboard


def test_templates_listing_shows_templates(admin_client):
    make_workflow(steps=2)
    from wagtail_mailflow.viewsets import email_template_viewset

    response = admin_client.get(reverse(email_template_viewset.get_url_name("list")))
    assert response.status_code == 200
    assert "Email 1" in response.content.decode()


def test_draft_opens_for_editing(admin_client):
    workflow = make_workflow()
    response = admin_client.get(reverse("mailflow_workflows:edit", args=[workflow.pk]))
    assert response.status_code == 200
    assert 'name="title"' in response.content.decode()


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.LOCKED, Status.STOPPED, Status.ARCHIVED])
def test_non_draft_edit_redirects_to_read_only_view(admin_client, status):
    workflow = make_workflow(status=status)
    url = reverse("mailflow_workflows:edit", args=[workflow.pk])
    response = admin_client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "mailflow_workflows:inspect", args=[workflow.pk]
    )
    assert "Duplicate it" in response.content.decode()
    response = admin_client.post(url, {"title": "Hijacked"})
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.title == "Welcome series"


def test_workflow_form_refuses_edit_of_active_instance():
    from wagtail_mailflow.viewsets import workflow_viewset

    workflow = make_workflow(status=Status.ACTIVE)
    form_class = workflow_viewset.get_edit_handler().get_form_class()
    form = form_class(instance=workflow, data={"title": "Changed"})
    assert not form.is_valid()
    assert "duplicate it" in str(form.errors)


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.LOCKED, Status.STOPPED])
def test_delete_refused_unless_draft_or_archived(admin_client, status):
    workflow = make_workflow(status=status)
    response = admin_client.post(
        reverse("mailflow_workflows:delete", args=[workflow.pk]), follow=True
    )
    assert response.status_code == 200
    assert "archive it first" in response.content.decode()
    assert EmailWorkflow.objects.filter(pk=workflow.pk).exists()


def test_delete_archived(admin_client):
    workflow = make_workflow(status=Status.ARCHIVED)
    response = admin_client.post(reverse("mailflow_workflows:delete", args=[workflow.pk]))
    assert response.status_code == 302
    assert not EmailWorkflow.objects.filter(pk=workflow.pk).exists()


def test_create_workflow_through_the_admin(admin_client):
    from wagtail_mailflow.models import ContactList

    newsletter = ContactList.objects.create(name="Newsletter")
    data = {
        "title": "Welcome",
        "language": "en",
        "timezone": "Europe/Paris",
        "contact_list": newsletter.pk,
        "scenario": "welcome",
        "date_mode": "relative",
        "offset_days": "0",
        "trigger_conditions": "{}",
        "sending_days": ["0", "1", "2", "3", "4"],
        "steps-TOTAL_FORMS": "0",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(reverse("mailflow_workflows:add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    workflow = EmailWorkflow.objects.get(title="Welcome")
    assert workflow.status == Status.DRAFT
    assert workflow.sending_days == [0, 1, 2, 3, 4]
    assert workflow.timezone == "Europe/Paris"


def test_create_workflow_with_no_weekday_is_refused(admin_client):
    data = {
        "title": "Welcome",
        "language": "en",
        "timezone": "UTC",
        "scenario": "welcome",
        "date_mode": "relative",
        "offset_days": "0",
        "trigger_conditions": "{}",
        "steps-TOTAL_FORMS": "0",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(reverse("mailflow_workflows:add"), data)
    assert response.status_code == 200
    assert "Choose at least one weekday" in response.content.decode()
    assert not EmailWorkflow.objects.exists()
