"""What the browser walk of the editor guide found, pinned down without a browser:
autosave creating the new template, the weekdays preset on a new workflow, and the
statistics reachable from a workflow's actions."""

import re

import pytest
from django.urls import reverse

from tests.factories import make_workflow, steps_formset, template_form_data
from wagtail_mailflow.models import EmailTemplate, EmailWorkflow
from wagtail_mailflow.viewsets import email_template_viewset

pytestmark = pytest.mark.django_db

AUTOSAVE = {"Accept": "application/json"}


def url(name, workflow):
    return reverse(f"mailflow_workflows:{name}", args=[workflow.pk])


def test_template_created_by_autosave_returns_to_the_workflow_once_published(admin_client):
    workflow = make_workflow(steps=1)
    add_url = admin_client.get(url("new_template", workflow))["Location"]

    # Wagtail's autosave creates the template in the background while the editor writes it.
    response = admin_client.post(add_url, template_form_data(name="Save 15%"), headers=AUTOSAVE)
    assert response.status_code == 200 and response.json()["success"]
    template = EmailTemplate.objects.get(name="Save 15%")
    assert workflow.steps.count() == 1
    edit_url = reverse(email_template_viewset.get_url_name("edit"), args=[template.pk])
    response = admin_client.post(edit_url, template_form_data(name="Save 15%"), headers=AUTOSAVE)
    assert response.status_code == 200 and workflow.steps.count() == 1

    # The editor publishes it from the edit view it continued in: back to the workflow.
    response = admin_client.post(
        edit_url, template_form_data(name="Save 15%", **{"action-publish": "1"})
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == url("edit", workflow) + "#panel-mailflow_emails-section"
    assert [step.template for step in workflow.steps.order_by("sort_order")][1:] == [template]

    # Used once: publishing it again stays with the templates.
    response = admin_client.post(
        edit_url, template_form_data(name="Save 15%", **{"action-publish": "1"})
    )
    assert "workflows" not in response["Location"]
    assert workflow.steps.count() == 2


def test_editing_another_template_does_not_take_the_pending_return(admin_client):
    workflow = make_workflow(steps=1)
    other = workflow.steps.get().template
    add_url = admin_client.get(url("new_template", workflow))["Location"]
    admin_client.post(add_url, template_form_data(name="New one"), headers=AUTOSAVE)

    edit_other = reverse(email_template_viewset.get_url_name("edit"), args=[other.pk])
    response = admin_client.post(
        edit_other, template_form_data(name=other.name, **{"action-publish": "1"})
    )
    assert "workflows" not in response["Location"]
    assert workflow.steps.count() == 1


def test_new_workflow_form_preselects_every_weekday(admin_client):
    content = admin_client.get(
        reverse("mailflow_workflows:add") + "?scenario=welcome"
    ).content.decode()
    days = re.findall(r'<input type="checkbox" name="sending_days"[^>]*>', content)
    assert len(days) == 7
    assert all("checked" in day for day in days), days


def test_statistics_are_among_the_actions_of_a_started_workflow(admin_client):
    active = make_workflow(status=EmailWorkflow.Status.ACTIVE)
    draft = make_workflow(title="Draft one")
    content = admin_client.get(reverse("mailflow_workflows:index")).content.decode()
    statistics = reverse("mailflow_workflows:statistics", args=[active.pk])
    assert f'href="{statistics}"' in content
    assert reverse("mailflow_workflows:statistics", args=[draft.pk]) not in content


def test_publishing_from_the_create_form_after_autosave_creates_one_template(admin_client):
    add_url = reverse(email_template_viewset.get_url_name("add"))
    admin_client.get(add_url)
    response = admin_client.post(add_url, template_form_data(name="Once"), headers=AUTOSAVE)
    assert response.status_code == 200 and response.json()["success"]
    # "Publish" clicked before the form switched to the edit view: posted to the create URL.
    response = admin_client.post(
        add_url, template_form_data(name="Once", **{"action-publish": "1"}), follow=True
    )
    assert response.status_code == 200
    assert EmailTemplate.objects.filter(name="Once").count() == 1
    template = EmailTemplate.objects.get(name="Once")
    assert template.live and template.live_revision_id is not None


def test_a_new_create_form_creates_a_new_template(admin_client):
    add_url = reverse(email_template_viewset.get_url_name("add"))
    admin_client.post(add_url, template_form_data(name="First"), headers=AUTOSAVE)
    edit_url = reverse(
        email_template_viewset.get_url_name("edit"), args=[EmailTemplate.objects.get().pk]
    )
    admin_client.get(edit_url, {"_w_hydrate_create_view": "1"})
    admin_client.post(add_url, template_form_data(name="Second", **{"action-publish": "1"}))
    assert sorted(EmailTemplate.objects.values_list("name", flat=True)) == ["First", "Second"]


def test_fix_it_then_publish_comes_back_to_the_review(admin_client):
    from tests.factories import EmailTemplateFactory, WorkflowStepFactory

    workflow = make_workflow(steps=0)
    draft_template = EmailTemplateFactory(name="Unpublished", publish=False, live=False)
    WorkflowStepFactory(workflow=workflow, sort_order=0, template=draft_template)
    review = admin_client.get(url("review", workflow)).content.decode()
    edit_url = reverse(email_template_viewset.get_url_name("edit"), args=[draft_template.pk])
    fix_it = f"{edit_url}?review={workflow.pk}"
    assert f'href="{fix_it}"' in review, review[review.find("mailflow-activation-problems") :][
        :1500
    ]
    assert admin_client.get(fix_it).status_code == 200
    response = admin_client.post(
        edit_url, template_form_data(name="Unpublished", **{"action-publish": "1"})
    )
    assert response.status_code == 302
    assert response["Location"] == url("review", workflow)
    draft_template.refresh_from_db()
    assert draft_template.live


def test_saving_a_workflow_stays_on_the_workflow(admin_client):

    workflow = make_workflow(steps=0)
    data = {
        "title": "Renamed",
        "language": "en",
        "timezone": "UTC",
        "contact_list": workflow.contact_list_id,
        "sending_days": ["0", "1", "2", "3", "4", "5", "6"],
        **steps_formset(forms=[]),
    }
    response = admin_client.post(url("edit", workflow), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == url("edit", workflow)
    assert EmailWorkflow.objects.get(pk=workflow.pk).title == "Renamed"


# -- "Create a new email template" on a new workflow -------------------------------------


def new_workflow_data(**overrides):
    from wagtail_mailflow.models import ContactList

    newsletter = ContactList.objects.get_or_create(name="Newsletter")[0]
    data = {
        "title": "Welcome series",
        "language": "en",
        "timezone": "Europe/Paris",
        "contact_list": newsletter.pk,
        "sending_days": ["0", "1", "2", "3", "4", "5", "6"],
        **steps_formset(forms=[]),
    }
    data.update(overrides)
    return data


def test_a_new_workflow_offers_to_create_a_template(admin_client):
    content = admin_client.get(
        reverse("mailflow_workflows:add") + "?scenario=welcome"
    ).content.decode()
    button = re.search(r'<button type="submit" name="mailflow-new-template"[^>]*>', content)
    assert button and 'id="mailflow-new-template"' in button.group(0)


def test_create_a_template_from_a_new_workflow_saves_it_as_a_draft_first(admin_client):
    add = reverse("mailflow_workflows:add") + "?scenario=welcome"
    response = admin_client.post(add, new_workflow_data(**{"mailflow-new-template": "1"}))
    assert response.status_code == 302, response.content.decode()[:2000]
    workflow = EmailWorkflow.objects.get(title="Welcome series")
    assert workflow.status == EmailWorkflow.Status.DRAFT
    assert (workflow.contact_list.name, workflow.timezone) == ("Newsletter", "Europe/Paris")
    assert response["Location"] == url("new_template", workflow)

    template_add = admin_client.get(response["Location"])["Location"]
    assert template_add == reverse(email_template_viewset.get_url_name("add"))
    response = admin_client.post(
        template_add, template_form_data(name="Hello", **{"action-publish": "1"})
    )
    assert response["Location"] == url("edit", workflow) + "#panel-mailflow_emails-section"
    assert [step.template.name for step in workflow.steps.all()] == ["Hello"]


def test_an_invalid_new_workflow_is_not_saved_and_shows_its_errors(admin_client):
    add = reverse("mailflow_workflows:add") + "?scenario=welcome"
    response = admin_client.post(add, new_workflow_data(title="", **{"mailflow-new-template": "1"}))
    assert response.status_code == 200
    content = response.content.decode()
    assert "The email workflow could not be created due to errors." in content
    assert "This field is required." in content
    assert not EmailWorkflow.objects.exists()
    # Nothing is waiting for a template: the next one created stays with the templates.
    response = admin_client.post(
        reverse(email_template_viewset.get_url_name("add")),
        template_form_data(name="Other", **{"action-publish": "1"}),
    )
    assert "workflows" not in response["Location"]


def test_the_button_is_not_offered_to_editors_who_may_not_create_templates(
    client, django_user_model
):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="Workflow editors")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        *Permission.objects.filter(
            content_type__app_label="wagtail_mailflow",
            codename__in=["add_emailworkflow", "change_emailworkflow", "view_emailworkflow"],
        ),
    )
    user = django_user_model.objects.create_user(username="writer", password="pw")
    user.groups.add(group)
    client.force_login(user)
    add = reverse("mailflow_workflows:add") + "?scenario=welcome"
    assert 'name="mailflow-new-template"' not in client.get(add).content.decode()
    # Posted anyway, the workflow is created and its editor opens, as with "Create".
    response = client.post(add, new_workflow_data(**{"mailflow-new-template": "1"}))
    assert response["Location"] == url("edit", EmailWorkflow.objects.get())
