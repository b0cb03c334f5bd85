"""The workflow screens: scenario cards, the editor, review and activate, the read-only page,
the lifecycle actions with their confirmations, history and permissions."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.factories import (
    ContactFactory,
    EmailTemplateFactory,
    make_workflow,
    steps_formset,
    template_form_data,
)
from wagtail_mailflow.describe import describe_workflow
from wagtail_mailflow.models import (
    ContactList,
    ContactProperty,
    EmailTemplate,
    EmailWorkflow,
    ListMembership,
    Segment,
    WorkflowStep,
)
from wagtail_mailflow.viewsets import email_template_viewset

pytestmark = pytest.mark.django_db

Status = EmailWorkflow.Status


def url(name, workflow=None, **query):
    base = reverse(f"mailflow_workflows:{name}", args=[workflow.pk] if workflow else [])
    if query:
        base += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base


def status_of(workflow):
    return EmailWorkflow.objects.get(pk=workflow.pk).status


@pytest.fixture
def editor(client, django_user_model):
    """An editor in a Wagtail group with add/change/view on workflows, but not activate."""
    group = Group.objects.create(name="Email editors")
    codenames = ["add_emailworkflow", "change_emailworkflow", "view_emailworkflow"]
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        *Permission.objects.filter(
            content_type__app_label="wagtail_mailflow", codename__in=codenames
        ),
    )
    user = django_user_model.objects.create_user(username="editor", password="pw")
    user.groups.add(group)
    client.force_login(user)
    return client


@pytest.fixture
def manager(client, django_user_model):
    """An editor who may also activate and delete workflows (but is not a superuser)."""
    group = Group.objects.create(name="Email managers")
    codenames = [
        "add_emailworkflow",
        "change_emailworkflow",
        "delete_emailworkflow",
        "activate_emailworkflow",
    ]
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        *Permission.objects.filter(
            content_type__app_label="wagtail_mailflow", codename__in=codenames
        ),
    )
    user = django_user_model.objects.create_user(username="manager", password="pw")
    user.groups.add(group)
    client.force_login(user)
    return client


# -- creating: scenario cards and the per-scenario form ----------------------


def test_add_button_leads_to_scenario_cards(admin_client):
    response = admin_client.get(url("add"))
    assert response.status_code == 200
    content = response.content.decode()
    for scenario in EmailWorkflow.Scenario.values:
        assert f'data-mailflow-scenario="{scenario}"' in content
        assert f"?scenario={scenario}" in content
    assert "Welcome the contacts who have just joined your list" in content
    assert 'name="title"' not in content  # no form before a scenario is picked


def test_unknown_scenario_shows_the_cards_again(admin_client):
    response = admin_client.get(url("add", scenario="nonsense"))
    assert response.status_code == 200
    assert 'data-mailflow-scenario="birthday"' in response.content.decode()


@pytest.mark.parametrize(
    "scenario, shown, hidden",
    [
        ("welcome", ["allow_reentry"], ["trigger_conditions", "inactivity_days", "date_property"]),
        ("property_update", ["trigger_conditions"], ["inactivity_days", "fixed_at"]),
        ("date", ["date_mode", "fixed_at", "date_property", "offset_days"], ["inactivity_days"]),
        ("birthday", ["date_property", "time_of_day"], ["fixed_at", "trigger_conditions"]),
        ("reactivation", ["inactivity_days"], ["date_property", "trigger_conditions"]),
    ],
)
def test_create_form_shows_only_the_scenarios_trigger_fields(admin_client, scenario, shown, hidden):
    response = admin_client.get(url("add", scenario=scenario))
    assert response.status_code == 200
    content = response.content.decode()
    for field in ["title", "language", "timezone", "contact_list", "segment", "sending_days"]:
        assert f'name="{field}"' in content
    for field in shown:
        assert f'name="{field}"' in content, field
    for field in hidden:
        assert f'name="{field}"' not in content, field
    assert 'name="scenario"' not in content  # preset, not editable
    assert "steps-TOTAL_FORMS" in content
    assert 'id="panel-mailflow_emails-section"' in content


def test_create_with_scenario_preset(admin_client):
    newsletter = ContactList.objects.create(name="Newsletter")
    birth = ContactProperty.objects.create(name="birth_date", type="date")
    template = EmailTemplateFactory(name="Happy birthday")
    data = {
        "title": "Birthday wishes",
        "language": "en",
        "timezone": "Europe/Paris",
        "contact_list": newsletter.pk,
        "date_property": birth.pk,
        "time_of_day": "09:00",
        "sending_days": ["0", "1", "2", "3", "4", "5", "6"],
        **steps_formset(
            forms=[{"delay_amount": "0", "delay_unit": "days", "template": template.pk}]
        ),
    }
    response = admin_client.post(url("add", scenario="birthday"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    workflow = EmailWorkflow.objects.get(title="Birthday wishes")
    assert response["Location"] == url("edit", workflow)
    assert workflow.scenario == "birthday"
    assert workflow.date_property == birth
    assert workflow.time_of_day == datetime.time(9, 0)
    assert [s.template for s in workflow.steps.all()] == [template]
    assert ModelLogEntry.objects.filter(
        object_id=str(workflow.pk), action="wagtail.create"
    ).exists()


def test_create_refuses_missing_trigger_settings_with_a_message(admin_client):
    data = {
        "title": "Win back",
        "language": "en",
        "timezone": "UTC",
        "sending_days": ["0"],
        **steps_formset(),
    }
    response = admin_client.post(url("add", scenario="reactivation"), data)
    assert response.status_code == 200
    assert "Set after how many days without engagement." in response.content.decode()
    assert not EmailWorkflow.objects.exists()


def test_edit_page_keeps_the_scenario_and_shows_the_eligible_count(admin_client):
    workflow = make_workflow(scenario="reactivation", inactivity_days=30)
    for i in range(3):
        contact = ContactFactory(email=f"c{i}@example.com")
        ListMembership.objects.create(contact=contact, contact_list=workflow.contact_list)
    response = admin_client.get(url("edit", workflow))
    content = response.content.decode()
    assert 'name="inactivity_days"' in content
    assert 'name="date_property"' not in content
    assert "3 contacts are eligible now." in content
    assert 'id="mailflow-new-template"' in content
    for anchor in ("eligibility", "trigger", "sending", "emails"):
        assert f'id="panel-mailflow_{anchor}-section"' in content


def test_steps_can_be_added_reordered_and_removed_on_edit(admin_client):
    workflow = make_workflow(steps=2)
    first, second = workflow.steps.order_by("sort_order")
    extra = EmailTemplateFactory(name="Last chance")
    data = {
        "title": workflow.title,
        "language": "en",
        "timezone": "UTC",
        "contact_list": workflow.contact_list_id,
        "allow_reentry": "",
        "sending_days": ["0", "1"],
        "steps-TOTAL_FORMS": "3",
        "steps-INITIAL_FORMS": "2",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        # the second email moves first, the first is removed, a new one is added last
        "steps-0-id": first.pk,
        "steps-0-ORDER": "3",
        "steps-0-DELETE": "1",
        "steps-0-delay_amount": "0",
        "steps-0-delay_unit": "days",
        "steps-0-template": first.template_id,
        "steps-1-id": second.pk,
        "steps-1-ORDER": "1",
        "steps-1-DELETE": "",
        "steps-1-delay_amount": "0",
        "steps-1-delay_unit": "days",
        "steps-1-template": second.template_id,
        "steps-2-id": "",
        "steps-2-ORDER": "2",
        "steps-2-DELETE": "",
        "steps-2-delay_amount": "2",
        "steps-2-delay_unit": "hours",
        "steps-2-template": extra.pk,
    }
    response = admin_client.post(url("edit", workflow), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    steps = list(workflow.steps.order_by("sort_order"))
    assert [s.template for s in steps] == [second.template, extra]
    assert (steps[1].delay_amount, steps[1].delay_unit) == (2, "hours")


def test_eligible_count_endpoint(admin_client):
    newsletter = ContactList.objects.create(name="Newsletter")
    women = Segment.objects.create(
        name="Women",
        conditions={
            "match": "all",
            "conditions": [{"field": "first_name", "operator": "equals", "value": "Ann"}],
        },
    )
    for name in ("Ann", "Ann", "Bob"):
        contact = ContactFactory(first_name=name)
        ListMembership.objects.create(contact=contact, contact_list=newsletter)
    endpoint = url("eligible_count")
    assert admin_client.get(endpoint, {"contact_list": newsletter.pk}).json()["count"] == 3
    data = admin_client.get(endpoint, {"contact_list": newsletter.pk, "segment": women.pk}).json()
    assert data["count"] == 2 and data["text"] == "2 contacts are eligible now."
    bad = admin_client.get(endpoint, {"contact_list": "abc"})
    assert bad.status_code == 400 and "Unknown contact list" in bad.json()["error"]
    assert admin_client.get(endpoint, {"contact_list": 999}).status_code == 400


# -- "Create a new email template" and back -----------------------------------


def test_new_template_link_creates_the_template_and_returns_with_it_added(admin_client):
    from wagtail_mailflow.viewsets import email_template_viewset

    workflow = make_workflow(steps=1)
    # First: when is the new email sent?
    response = admin_client.get(url("new_template", workflow))
    assert response.status_code == 200
    assert "When is this email sent?" in response.content.decode()
    response = admin_client.post(
        url("new_template", workflow),
        {"when": "later", "delay_amount": "2", "delay_unit": "hours"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(email_template_viewset.get_url_name("add"))

    response = admin_client.post(
        response["Location"], template_form_data(name="Save 15%", **{"action-publish": "1"})
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == url("edit", workflow) + "#panel-mailflow_emails-section"
    template = EmailTemplate.objects.get(name="Save 15%")
    last = workflow.steps.order_by("-sort_order").first()
    assert last.template == template
    assert (last.delay_amount, last.delay_unit) == (2, "hours")

    # The return is used once: the next template created goes to the templates as usual.
    response = admin_client.post(
        reverse(email_template_viewset.get_url_name("add")),
        template_form_data(name="Other", **{"action-publish": "1"}),
    )
    assert response.status_code == 302
    assert "workflows" not in response["Location"]
    assert workflow.steps.count() == 2


def test_new_template_link_refused_for_an_active_workflow(admin_client):
    workflow = make_workflow(status=Status.ACTIVE)
    response = admin_client.get(url("new_template", workflow))
    assert response["Location"] == url("inspect", workflow)


# -- describing a workflow in plain words ------------------------------------


def test_describe_welcome_workflow_as_in_the_editor_guide():
    newsletter = ContactList.objects.create(name="Newsletter")
    workflow = EmailWorkflow.objects.create(
        title="Welcome",
        contact_list=newsletter,
        sending_days=[0, 1, 2, 3, 4],
        sending_start=datetime.time(9),
        sending_end=datetime.time(18),
        timezone="Europe/Paris",
    )
    for position, (name, delay) in enumerate(
        [("Hello and welcome", 0), ("Save up to 15% this week", 3)]
    ):
        WorkflowStep.objects.create(
            workflow=workflow,
            sort_order=position,
            delay_amount=delay,
            delay_unit="days",
            template=EmailTemplateFactory(name=name),
        )
    assert describe_workflow(workflow) == [
        "Trigger: a new contact joins 'Newsletter'",
        "'Hello and welcome' is sent immediately",
        "'Save up to 15% this week' is sent 3 days later",
        "Sending period: Monday to Friday, 09:00–18:00 (Europe/Paris). Emails due outside "
        "the sending period wait until it next opens.",
    ]


def test_describe_segment_and_first_delay():
    ContactProperty.objects.create(name="gender", label="Gender", type="text")
    segment = Segment.objects.create(
        name="All women",
        conditions={
            "match": "all",
            "conditions": [{"field": "gender", "operator": "contains", "value": "Female"}],
        },
    )
    workflow = make_workflow(steps=0, segment=segment, sending_days=[0, 2])
    WorkflowStep.objects.create(
        workflow=workflow,
        sort_order=0,
        delay_amount=2,
        delay_unit="hours",
        template=EmailTemplateFactory(name="A"),
    )
    lines = describe_workflow(workflow)
    assert lines[0].startswith(
        "Trigger: a new contact joins 'Newsletter'; only contacts who match the segment "
        "'All women' ("
    )
    assert "Gender" in lines[0] and "Female" in lines[0]
    assert lines[1] == "'A' is sent 2 hours after the contact enters"
    assert lines[2].startswith("Sending period: Monday, Wednesday, at any time (UTC).")


@pytest.mark.parametrize("scenario", ["date", "birthday"])
def test_describe_date_and_birthday_with_a_segment_reads_as_a_sentence(scenario):
    segment = Segment.objects.create(
        name="Members",
        conditions={
            "match": "all",
            "conditions": [{"field": "first_name", "operator": "is_set"}],
        },
    )
    workflow = make_workflow(steps=0, segment=segment, scenario=scenario)
    trigger = describe_workflow(workflow)[0]
    assert "enter and matches" not in trigger
    assert "; only contacts who match the segment 'Members'" in trigger


@pytest.mark.parametrize(
    "fields, expected",
    [
        (
            {"scenario": "reactivation", "inactivity_days": 60},
            "has not opened or clicked any email for 60 days",
        ),
        (
            {
                "scenario": "date",
                "date_mode": "fixed",
                "fixed_at": datetime.datetime(2030, 3, 12, 9, tzinfo=datetime.UTC),
            },
            "every contact of 'Newsletter' enters",
        ),
        (
            {
                "scenario": "date",
                "date_mode": "relative",
                "offset_days": -2,
                "time_of_day": datetime.time(8),
            },
            "2 days before each contact's",
        ),
        ({"scenario": "birthday", "time_of_day": datetime.time(8)}, "has a birthday"),
        (
            {
                "scenario": "property_update",
                "trigger_conditions": {
                    "match": "all",
                    "conditions": [{"field": "first_name", "operator": "equals", "value": "Ann"}],
                },
            },
            "is updated and now matches",
        ),
    ],
)
def test_describe_other_triggers(fields, expected):
    if fields["scenario"] in ("date", "birthday") and fields.get("date_mode") != "fixed":
        fields["date_property"] = ContactProperty.objects.create(
            name="day", label="Day", type="date"
        )
    workflow = make_workflow(steps=0, **fields)
    lines = describe_workflow(workflow)
    assert expected in lines[0]
    assert lines[1] == "No email has been added yet."


# -- review and activate -----------------------------------------------------


def test_review_page_describes_the_workflow_and_offers_activation(admin_client):
    workflow = make_workflow(steps=2)
    response = admin_client.get(url("review", workflow))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Trigger: a new contact joins &#x27;Newsletter&#x27;" in content
    assert "&#x27;Email 1&#x27; is sent immediately" in content
    assert "&#x27;Email 2&#x27; is sent 3 days later" in content
    assert "wait until it next opens" in content
    assert 'data-a11y-dialog-show="mailflow-activate-dialog"' in content
    assert 'id="mailflow-activate-dialog"' in content
    assert f'action="{url("activate", workflow)}"' in content
    assert "data-mailflow-problems" not in content


def test_review_lists_activation_problems_with_links_and_activation_is_refused(admin_client):
    draft_template = EmailTemplate.objects.create(
        name="Unpublished", subject="Hi", from_email="a@example.com", body=[], live=False
    )
    workflow = EmailWorkflow.objects.create(title="Broken", scenario="reactivation")
    WorkflowStep.objects.create(workflow=workflow, sort_order=0, template=draft_template)
    content = admin_client.get(url("review", workflow)).content.decode()
    assert "data-mailflow-problems" in content
    edit = url("edit", workflow)
    assert (
        "Choose the contact list" in content
        and f"{edit}#panel-mailflow_eligibility-section" in content
    )
    assert "Set after how many days without engagement." in content
    assert f"{edit}#panel-mailflow_trigger-section" in content
    assert "Publish the template first." in content
    assert f"/mailflow/templates/edit/{draft_template.pk}/" in content
    assert 'id="mailflow-activate-button"' in content and "disabled" in content

    response = admin_client.post(url("activate", workflow), follow=True)
    assert "cannot be activated yet" in response.content.decode()
    assert status_of(workflow) == Status.DRAFT
    assert not ModelLogEntry.objects.filter(action="wagtail_mailflow.activate").exists()


def test_review_links_each_problem_to_the_section_or_template_that_fixes_it(admin_client):
    template = EmailTemplateFactory(name="Shared")
    workflow = EmailWorkflow.objects.create(title="Broken", scenario="reactivation")
    for position in range(2):
        WorkflowStep.objects.create(workflow=workflow, sort_order=position, template=template)
    EmailWorkflow.objects.filter(pk=workflow.pk).update(sending_days=[])
    EmailTemplate.objects.filter(pk=template.pk).update(live=False)
    workflow.refresh_from_db()

    response = admin_client.get(url("review", workflow))

    edit = url("edit", workflow)
    template_edit = reverse(email_template_viewset.get_url_name("edit"), args=[template.pk])
    # A template's "Fix it" returns to this review once the template is published.
    template_edit += f"?review={workflow.pk}"
    assert [(p["section"], p["message"], p["url"]) for p in response.context["problems"]] == [
        (
            "eligibility",
            "Choose the contact list the workflow draws its contacts from.",
            f"{edit}#panel-mailflow_eligibility-section",
        ),
        (
            "trigger",
            "Set after how many days without engagement.",
            f"{edit}#panel-mailflow_trigger-section",
        ),
        (
            "sending",
            "Choose at least one weekday to send on.",
            f"{edit}#panel-mailflow_sending-section",
        ),
        ("emails", "Email 1 ('Shared'): Publish the template first.", template_edit),
        ("emails", "Email 2 ('Shared'): Publish the template first.", template_edit),
    ]
    assert 'data-mailflow-section="sending"' in response.content.decode()


def test_review_and_activation_check_each_template_once(admin_client, monkeypatch):
    from wagtail_mailflow import rendering

    # Checking a template compiles its MJML: count the checks.
    calls = []
    template_problems = rendering.template_problems

    def counting(*args, **kwargs):
        calls.append(args)
        return template_problems(*args, **kwargs)

    monkeypatch.setattr(rendering, "template_problems", counting)
    template = EmailTemplateFactory(name="Shared")
    # A reactivation workflow without its number of days: blocked by its trigger only.
    workflow = make_workflow(steps=0, scenario="reactivation")
    for position in range(2):
        WorkflowStep.objects.create(workflow=workflow, sort_order=position, template=template)

    assert admin_client.get(url("review", workflow)).status_code == 200
    assert len(calls) == 1
    calls.clear()
    response = admin_client.post(url("activate", workflow))
    assert response.status_code == 302
    assert response.url == url("review", workflow)
    assert len(calls) == 1
    assert status_of(workflow) == Status.DRAFT


def test_activation_success_freezes_and_logs(admin_client):
    workflow = make_workflow(steps=2)
    response = admin_client.post(url("activate", workflow))
    assert response.status_code == 302
    assert response["Location"] == url("inspect", workflow)
    workflow.refresh_from_db()
    assert workflow.status == Status.ACTIVE
    assert all(step.template_revision_id for step in workflow.steps.all())
    entry = ModelLogEntry.objects.get(action="wagtail_mailflow.activate")
    assert entry.object_id == str(workflow.pk) and entry.data["from_draft"] is True


def test_activation_race_is_reported_not_crashed(admin_client):
    workflow = make_workflow(status=Status.ACTIVE)
    response = admin_client.post(url("activate", workflow), follow=True)
    assert response.status_code == 200
    assert "it cannot become active." in response.content.decode()


def test_review_of_a_non_draft_goes_to_the_read_only_page(admin_client):
    workflow = make_workflow(status=Status.LOCKED)
    assert admin_client.get(url("review", workflow))["Location"] == url("inspect", workflow)


# -- the read-only page ------------------------------------------------------


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.LOCKED, Status.STOPPED, Status.ARCHIVED])
def test_read_only_page_banner_offers_duplicate(admin_client, status):
    workflow = make_workflow(status=status, steps=2)
    response = admin_client.get(url("inspect", workflow))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="mailflow-read-only-banner"' in content
    assert f"This workflow is {status.label.lower()}" in content
    assert url("duplicate", workflow) in content
    assert "&#x27;Email 2&#x27; is sent 3 days later" in content
    assert "data-mailflow-steps" in content
    assert 'name="title"' not in content


def test_draft_page_has_no_read_only_banner(admin_client):
    workflow = make_workflow()
    content = admin_client.get(url("inspect", workflow)).content.decode()
    assert "mailflow-read-only-banner" not in content
    assert url("review", workflow) in content


def test_header_dropdown_offers_the_actions_of_the_status(admin_client):
    active = make_workflow(status=Status.ACTIVE)
    content = admin_client.get(url("inspect", active)).content.decode()
    for action in ("lock", "stop", "archive", "duplicate", "history"):
        assert f'data-mailflow-action="{action}"' in content, action
    assert 'data-mailflow-action="delete"' not in content
    assert 'data-mailflow-action="activate"' not in content
    archived = make_workflow(status=Status.ARCHIVED, title="Old")
    content = admin_client.get(url("inspect", archived)).content.decode()
    assert 'data-mailflow-action="delete"' in content
    assert 'data-mailflow-action="unarchive"' in content
    assert 'data-mailflow-action="lock"' not in content


# -- listing: tabs, row actions, bulk archive ---------------------------------


def test_listing_hides_archived_except_in_their_tab(admin_client):
    make_workflow(status=Status.ACTIVE, title="Running one")
    make_workflow(status=Status.ARCHIVED, title="Old one")
    make_workflow(title="Draft one")
    content = admin_client.get(url("index")).content.decode()
    assert "Running one" in content and "Draft one" in content
    assert "Old one" not in content
    assert 'data-mailflow-status-tab="archived"' in content
    content = admin_client.get(url("index", status="archived")).content.decode()
    assert "Old one" in content and "Running one" not in content
    content = admin_client.get(url("index", status="draft")).content.decode()
    assert "Draft one" in content and "Running one" not in content


def test_listing_rows_have_action_dropdowns_and_bulk_checkboxes(admin_client):
    workflow = make_workflow(status=Status.ACTIVE)
    content = admin_client.get(url("index")).content.decode()
    assert url("lock", workflow) in content
    assert url("stop", workflow) in content
    assert url("duplicate", workflow) in content
    assert f'id="emailworkflow_{workflow.pk}_title"' in content
    assert "data-bulk-action-checkbox" in content
    assert "/admin/bulk/wagtail_mailflow/emailworkflow/archive/" in content


def test_bulk_archive_stops_active_ones_first(admin_client):
    active = make_workflow(status=Status.ACTIVE, title="A")
    stopped = make_workflow(status=Status.STOPPED, title="B")
    draft = make_workflow(title="C")
    bulk = reverse("wagtail_bulk_action", args=["wagtail_mailflow", "emailworkflow", "archive"])
    query = f"?id={active.pk}&id={stopped.pk}&id={draft.pk}&next={url('index')}"
    content = admin_client.get(bulk + query).content.decode()
    assert "will be stopped first" in content
    assert "data-mailflow-stop-first" in content
    assert "cannot be archived" in content  # the draft
    response = admin_client.post(bulk + query)
    assert response.status_code == 302
    assert status_of(active) == Status.ARCHIVED
    assert status_of(stopped) == Status.ARCHIVED
    assert status_of(draft) == Status.DRAFT
    assert ModelLogEntry.objects.filter(action="wagtail_mailflow.archive").count() == 2
    assert ModelLogEntry.objects.filter(
        action="wagtail_mailflow.stop", object_id=str(active.pk)
    ).exists()


# -- each action, allowed and refused ----------------------------------------


@pytest.mark.parametrize(
    "action, start, end",
    [
        ("lock", Status.ACTIVE, Status.LOCKED),
        ("stop", Status.ACTIVE, Status.STOPPED),
        ("stop", Status.LOCKED, Status.STOPPED),
        ("activate", Status.LOCKED, Status.ACTIVE),
        ("activate", Status.STOPPED, Status.ACTIVE),
        ("archive", Status.STOPPED, Status.ARCHIVED),
        ("unarchive", Status.ARCHIVED, Status.STOPPED),
    ],
)
def test_action_confirmation_then_post(admin_client, action, start, end):
    workflow = make_workflow(status=start)
    page = admin_client.get(url(action, workflow))
    assert page.status_code == 200
    assert f'data-mailflow-confirm="{action}"' in page.content.decode()
    assert status_of(workflow) == start  # GET changes nothing
    response = admin_client.post(url(action, workflow))
    assert response.status_code == 302
    assert status_of(workflow) == end
    assert ModelLogEntry.objects.filter(
        object_id=str(workflow.pk), action=f"wagtail_mailflow.{action}"
    ).exists()


@pytest.mark.parametrize(
    "action, start",
    [
        ("lock", Status.DRAFT),
        ("lock", Status.STOPPED),
        ("stop", Status.DRAFT),
        ("archive", Status.DRAFT),
        ("unarchive", Status.ACTIVE),
    ],
)
def test_action_not_allowed_in_status_is_refused_with_a_message(admin_client, action, start):
    workflow = make_workflow(status=start)
    response = admin_client.get(url(action, workflow), follow=True)
    assert response.status_code == 200
    assert "cannot be" in response.content.decode()
    response = admin_client.post(url(action, workflow), follow=True)
    assert response.status_code == 200
    assert "cannot become" in response.content.decode()
    assert status_of(workflow) == start


def test_archive_of_an_active_workflow_confirms_it_will_be_stopped_first(admin_client):
    workflow = make_workflow(status=Status.ACTIVE)
    content = admin_client.get(url("archive", workflow)).content.decode()
    assert "data-mailflow-stop-first" in content
    assert "it will be stopped, then archived" in content
    response = admin_client.post(url("archive", workflow))
    assert response["Location"] == url("index") + "?status=archived"
    workflow.refresh_from_db()
    assert workflow.status == Status.ARCHIVED and workflow.stopped_at is not None
    actions = list(
        ModelLogEntry.objects.filter(object_id=str(workflow.pk))
        .order_by("timestamp", "pk")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["wagtail_mailflow.stop", "wagtail_mailflow.archive"]


def test_duplicate_asks_the_name_and_opens_the_draft_copy(admin_client):
    workflow = make_workflow(status=Status.ACTIVE, steps=2)
    page = admin_client.get(url("duplicate", workflow)).content.decode()
    assert 'value="Welcome series (copy)"' in page
    assert 'name="copy_templates"' in page
    response = admin_client.post(url("duplicate", workflow), {"title": "Welcome v2"})
    copy = EmailWorkflow.objects.get(title="Welcome v2")
    assert response["Location"] == url("edit", copy)
    assert copy.status == Status.DRAFT and copy.duplicated_from == workflow
    assert [s.template_id for s in copy.steps.order_by("sort_order")] == [
        s.template_id for s in workflow.steps.order_by("sort_order")
    ]
    entry = ModelLogEntry.objects.get(action="wagtail_mailflow.duplicate")
    assert entry.object_id == str(workflow.pk) and entry.data["copy_title"] == "Welcome v2"


def test_duplicate_with_template_copies(admin_client):
    workflow = make_workflow(status=Status.ACTIVE, steps=2)
    response = admin_client.post(
        url("duplicate", workflow), {"title": "Copy", "copy_templates": "on"}
    )
    copy = EmailWorkflow.objects.get(title="Copy")
    assert response.status_code == 302 and response["Location"] == url("edit", copy)
    originals = {s.template_id for s in workflow.steps.all()}
    copies = list(copy.steps.select_related("template"))
    assert len(copies) == 2
    assert not originals & {s.template_id for s in copies}
    assert {s.template.name for s in copies} == {"Email 1 (copy)", "Email 2 (copy)"}


def test_duplicate_without_a_name_is_refused_with_a_message(admin_client):
    workflow = make_workflow()
    response = admin_client.post(url("duplicate", workflow), {"title": "   "})
    assert response.status_code == 200
    assert "Give the copy a title." in response.content.decode()
    assert EmailWorkflow.objects.count() == 1


def test_delete_only_archived_and_confirmed(admin_client):
    archived = make_workflow(status=Status.ARCHIVED)
    page = admin_client.get(url("delete", archived))
    assert page.status_code == 200 and "Yes, delete" in page.content.decode()
    assert admin_client.post(url("delete", archived)).status_code == 302
    assert not EmailWorkflow.objects.filter(pk=archived.pk).exists()
    stopped = make_workflow(status=Status.STOPPED, title="Stopped")
    response = admin_client.post(url("delete", stopped), follow=True)
    assert "archive it first" in response.content.decode()
    assert EmailWorkflow.objects.filter(pk=stopped.pk).exists()


def test_history_view_shows_the_lifecycle(admin_client):
    workflow = make_workflow(steps=1)
    for action in ("activate", "lock", "stop"):
        assert admin_client.post(url(action, workflow)).status_code == 302, action
    response = admin_client.get(url("history", workflow))
    assert response.status_code == 200
    content = response.content.decode()
    for message in ("Workflow activated", "Workflow locked", "Workflow stopped"):
        assert message in content, message


# -- permissions -------------------------------------------------------------


@pytest.mark.parametrize(
    "action, start",
    [
        ("activate", Status.DRAFT),
        ("activate", Status.STOPPED),
        ("lock", Status.ACTIVE),
        ("stop", Status.ACTIVE),
        ("archive", Status.STOPPED),
        ("unarchive", Status.ARCHIVED),
        ("delete", Status.ARCHIVED),
    ],
)
def test_editor_without_activate_permission_gets_403(editor, action, start):
    workflow = make_workflow(status=start)
    assert editor.get(url(action, workflow)).status_code == 403
    assert editor.post(url(action, workflow)).status_code == 403
    assert status_of(workflow) == start


def test_editor_without_activate_permission_cannot_bulk_archive(editor):
    workflow = make_workflow(status=Status.STOPPED)
    bulk = reverse("wagtail_bulk_action", args=["wagtail_mailflow", "emailworkflow", "archive"])
    assert editor.post(bulk + f"?id={workflow.pk}").status_code == 403
    assert status_of(workflow) == Status.STOPPED


def test_editor_sees_no_lifecycle_buttons_but_can_edit_review_and_duplicate(editor):
    active = make_workflow(status=Status.ACTIVE)
    draft = make_workflow(title="Draft")
    listing = editor.get(url("index")).content.decode()
    for action in ("lock", "stop", "archive"):
        assert url(action, active) not in listing
    assert url("duplicate", active) in listing
    assert "data-bulk-action-checkbox" not in listing
    inspect = editor.get(url("inspect", active)).content.decode()
    assert 'data-mailflow-action="stop"' not in inspect
    review = editor.get(url("review", draft)).content.decode()
    assert "mailflow-activate-dialog" not in review
    assert "needs the permission to activate" in review
    assert editor.get(url("edit", draft)).status_code == 200
    response = editor.post(url("duplicate", active), {"title": "Mine"})
    assert response.status_code == 302
    assert EmailWorkflow.objects.filter(title="Mine", status=Status.DRAFT).exists()


def test_manager_group_may_run_the_lifecycle(manager):
    workflow = make_workflow(steps=1)
    assert manager.post(url("activate", workflow)).status_code == 302
    assert manager.post(url("lock", workflow)).status_code == 302
    assert manager.post(url("archive", workflow)).status_code == 302
    assert manager.post(url("delete", workflow)).status_code == 302
    assert not EmailWorkflow.objects.filter(pk=workflow.pk).exists()


def test_user_without_add_permission_cannot_duplicate(client, django_user_model):
    group = Group.objects.create(name="Reviewers")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        Permission.objects.get(codename="change_emailworkflow"),
    )
    user = django_user_model.objects.create_user(username="reviewer", password="pw")
    user.groups.add(group)
    client.force_login(user)
    workflow = make_workflow(status=Status.ACTIVE)
    assert client.post(url("duplicate", workflow), {"title": "X"}).status_code == 403
    assert EmailWorkflow.objects.count() == 1


def test_actions_are_post_only(admin_client):
    workflow = make_workflow(status=Status.ACTIVE)
    for action in ("lock", "stop", "archive"):  # GET shows the confirmation, changes nothing
        response = admin_client.get(url(action, workflow))
        assert response.status_code == 200, action
        assert 'method="post"' in response.content.decode().lower(), action
    assert status_of(workflow) == Status.ACTIVE


def test_actions_require_csrf(client, admin_user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    workflow = make_workflow(status=Status.ACTIVE)
    assert csrf_client.post(url("stop", workflow)).status_code == 403
    assert status_of(workflow) == Status.ACTIVE
