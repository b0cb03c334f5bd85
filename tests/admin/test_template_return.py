"""What the browser walk of the editor guide found, pinned down without a browser:
autosave creating the new template, the weekdays preset on a new workflow, and the
statistics reachable from a workflow's actions."""

import html
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


def open_the_template_editor(client, workflow, **delay):
    """ "Create a new email template": the delay asked (immediately unless given), then the
    template editor's URL."""
    data = {"when": "later", **delay} if delay else {"when": "immediately"}
    response = client.post(url("new_template", workflow), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def test_template_created_by_autosave_returns_to_the_workflow_once_published(admin_client):
    workflow = make_workflow(steps=1)
    add_url = open_the_template_editor(admin_client, workflow)

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
    add_url = open_the_template_editor(admin_client, workflow)
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

    template_add = open_the_template_editor(admin_client, workflow)
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


# -- When is the new email sent? --------------------------------------------------------


def test_the_delay_of_a_new_email_is_asked_before_the_template_editor_opens(admin_client):
    workflow = make_workflow(steps=1)
    content = admin_client.get(url("new_template", workflow)).content.decode()
    assert "When is this email sent?" in content
    assert "the previous email, &#x27;Email 1&#x27;, is sent" in content
    # Nothing chosen in advance.
    assert "checked" not in "".join(re.findall(r'<input type="radio" name="when"[^>]*>', content))

    # Not answered, or half answered: the page says what is missing and nothing is remembered.
    for data, message in [
        ({}, "Choose when this email is sent."),
        ({"when": "later", "delay_unit": "days"}, "Enter after how many minutes"),
        ({"when": "later", "delay_amount": "3"}, "Choose minutes, hours, days or months."),
        ({"when": "later", "delay_amount": "0", "delay_unit": "days"}, "greater than or equal"),
    ]:
        response = admin_client.post(url("new_template", workflow), data)
        assert response.status_code == 200 and message in response.content.decode(), data
        assert "wagtail_mailflow_template_return" not in admin_client.session

    add_url = open_the_template_editor(admin_client, workflow, delay_amount="3", delay_unit="days")
    assert admin_client.session["wagtail_mailflow_template_return"] == {
        "workflow": workflow.pk,
        "delay_amount": 3,
        "delay_unit": "days",
    }
    response = admin_client.post(
        add_url, template_form_data(name="Reminder", **{"action-publish": "1"})
    )
    assert response["Location"] == url("edit", workflow) + "#panel-mailflow_emails-section"
    last = workflow.steps.order_by("-sort_order").first()
    assert (last.template.name, last.delay_amount, last.delay_unit) == ("Reminder", 3, "days")
    messages = [html.unescape(str(m)).strip() for m in response.wsgi_request._messages]
    assert "'Reminder' was added to 'Welcome series' as an email sent 3 days later." in messages


def test_the_first_email_sent_immediately_through_the_autosaved_template(admin_client):
    workflow = make_workflow(steps=0)
    content = admin_client.get(url("new_template", workflow)).content.decode()
    assert "its delay counts from the moment a contact enters the workflow" in content
    add_url = open_the_template_editor(admin_client, workflow)
    admin_client.post(add_url, template_form_data(name="Hello"), headers=AUTOSAVE)
    template = EmailTemplate.objects.get(name="Hello")
    edit_url = reverse(email_template_viewset.get_url_name("edit"), args=[template.pk])
    response = admin_client.post(
        edit_url, template_form_data(name="Hello", **{"action-publish": "1"})
    )
    assert response["Location"] == url("edit", workflow) + "#panel-mailflow_emails-section"
    step = workflow.steps.get()
    assert (step.template, step.delay_amount, step.sends_immediately) == (template, 0, True)


def test_a_delay_given_without_choosing_after_a_delay_counts_as_one(admin_client):
    workflow = make_workflow(steps=1)
    response = admin_client.post(
        url("new_template", workflow), {"delay_amount": "2", "delay_unit": "months"}
    )
    assert response.status_code == 302
    pending = admin_client.session["wagtail_mailflow_template_return"]
    assert (pending["delay_amount"], pending["delay_unit"]) == (2, "months")


def test_the_delay_page_is_refused_for_an_active_workflow(admin_client):
    workflow = make_workflow(status=EmailWorkflow.Status.ACTIVE)
    response = admin_client.post(url("new_template", workflow), {"when": "immediately"})
    assert response["Location"] == url("inspect", workflow)
    assert "wagtail_mailflow_template_return" not in admin_client.session


# -- A new email in the Emails inline -----------------------------------------------------


def edit_data(workflow, *forms):
    """The workflow editor's POST data: its fields, its existing emails, then ``forms``."""
    existing = [
        {
            "id": step.pk,
            "delay_amount": str(step.delay_amount),
            "delay_unit": step.delay_unit,
            "template": step.template_id,
        }
        for step in workflow.steps.order_by("sort_order")
    ]
    data = {
        "title": workflow.title,
        "language": "en",
        "timezone": "UTC",
        "contact_list": workflow.contact_list_id,
        "sending_days": ["0", "1", "2", "3", "4", "5", "6"],
        **steps_formset(forms=[*existing, *forms]),
    }
    data["steps-INITIAL_FORMS"] = str(len(existing))
    return data


def test_a_new_email_in_the_editor_has_no_delay_until_one_is_chosen(admin_client):
    from tests.factories import EmailTemplateFactory

    workflow = make_workflow(steps=2)
    content = admin_client.get(url("edit", workflow)).content.decode()
    # The existing emails keep their delays; the row "Add email" copies has none.
    assert re.search(r'name="steps-1-delay_amount" value="3"', content)
    empty_row = content[content.index("steps-EMPTY_FORM_TEMPLATE") :]
    amount = re.search(
        r'<input type="number" name="steps-__prefix__-delay_amount"[^>]*>', empty_row
    )
    assert amount and "value=" not in amount.group(0)
    unit = re.search(r'<select name="steps-__prefix__-delay_unit".*?</select>', empty_row, re.S)
    assert '<option value="" selected>' in unit.group(0)

    extra = EmailTemplateFactory(name="Last chance")
    response = admin_client.post(url("edit", workflow), edit_data(workflow, {"template": extra.pk}))
    assert response.status_code == 200
    assert "Choose when this email is sent." in response.content.decode()
    assert workflow.steps.count() == 2

    response = admin_client.post(
        url("edit", workflow),
        edit_data(workflow, {"template": extra.pk, "delay_amount": "2"}),
    )
    assert response.status_code == 200
    assert "Choose minutes, hours, days or months." in response.content.decode()

    # 0 is "immediately", whatever the unit; a delay with its unit is saved as it is.
    response = admin_client.post(
        url("edit", workflow),
        edit_data(
            workflow,
            {"template": extra.pk, "delay_amount": "0"},
            {"template": extra.pk, "delay_amount": "2", "delay_unit": "hours"},
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [(s.delay_amount, s.delay_unit) for s in workflow.steps.order_by("sort_order")] == [
        (0, "days"),
        (3, "days"),
        (0, "days"),
        (2, "hours"),
    ]


def test_an_existing_email_keeps_its_delay_and_still_needs_one(admin_client):
    workflow = make_workflow(steps=2)
    data = edit_data(workflow)
    response = admin_client.post(url("edit", workflow), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    data["steps-1-delay_amount"] = ""
    response = admin_client.post(url("edit", workflow), data)
    assert response.status_code == 200
    assert "Choose when this email is sent." in response.content.decode()
    assert workflow.steps.order_by("sort_order").last().delay_amount == 3


def test_the_delay_page_is_refused_to_staff_who_may_only_view_workflows(client, django_user_model):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="Workflow viewers")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        *Permission.objects.filter(
            content_type__app_label="wagtail_mailflow",
            codename__in=["view_emailworkflow", "view_emailtemplate"],
        ),
    )
    user = django_user_model.objects.create_user(username="viewer", password="pw")
    user.groups.add(group)
    client.force_login(user)
    workflow = make_workflow(steps=1)
    assert client.get(url("new_template", workflow)).status_code == 403
    response = client.post(url("new_template", workflow), {"when": "immediately"})
    assert response.status_code == 403
    assert "wagtail_mailflow_template_return" not in client.session
    # A template the viewer could not create anyway is never added to the workflow.
    assert workflow.steps.count() == 1
