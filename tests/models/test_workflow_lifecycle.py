"""The workflow lifecycle: every transition, allowed and refused, and edit protection."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import make_workflow
from wagtail_mailflow.models import (
    TRANSITIONS,
    ActivationBlocked,
    ContactProperty,
    EmailTemplate,
    EmailWorkflow,
    LifecycleError,
    WorkflowAction,
    WorkflowSection,
    WorkflowStep,
)
from wagtail_mailflow.models.workflows import allowed_from

Status = EmailWorkflow.Status

pytestmark = pytest.mark.django_db


# -- allowed transitions -----------------------------------------------------


def test_new_workflow_is_a_draft_with_every_weekday():
    workflow = make_workflow()
    assert workflow.status == Status.DRAFT
    assert workflow.is_editable
    assert workflow.sending_days == [0, 1, 2, 3, 4, 5, 6]


def test_activate_draft_freezes_template_revisions():
    workflow = make_workflow(steps=2)
    workflow.activate()
    workflow.refresh_from_db()
    assert workflow.status == Status.ACTIVE
    assert workflow.activated_at is not None
    for step in workflow.steps.select_related("template"):
        assert step.template_revision_id == step.template.live_revision_id


def test_editing_a_template_after_activation_does_not_change_the_frozen_revision():
    workflow = make_workflow()
    workflow.activate()
    step = workflow.steps.get()
    frozen = step.template_revision_id
    template = step.template
    template.subject = "Changed subject"
    template.save_revision().publish()
    step.refresh_from_db()
    assert step.template_revision_id == frozen
    assert step.template_revision.as_object().subject != "Changed subject"


def test_template_created_without_revision_gets_one_frozen():
    workflow = make_workflow(steps=0)
    template = EmailTemplate.objects.create(
        name="Code-made", subject="Hi", from_email="news@example.com", body=[]
    )
    assert template.live_revision_id is None
    WorkflowStep.objects.create(workflow=workflow, template=template, delay_amount=0)
    workflow.activate()
    step = workflow.steps.get()
    assert step.template_revision_id is not None
    assert step.template_revision.object_id == str(template.pk)


@pytest.mark.parametrize("start", [Status.ACTIVE])
def test_lock(start):
    workflow = make_workflow(status=start)
    workflow.lock()
    workflow.refresh_from_db()
    assert workflow.status == Status.LOCKED and workflow.locked_at is not None


@pytest.mark.parametrize("start", [Status.ACTIVE, Status.LOCKED])
def test_stop(start):
    workflow = make_workflow(status=start)
    workflow.stop()
    workflow.refresh_from_db()
    assert workflow.status == Status.STOPPED and workflow.stopped_at is not None


@pytest.mark.parametrize("start", [Status.LOCKED, Status.STOPPED])
def test_reactivate_locked_or_stopped(start):
    workflow = make_workflow(status=start)
    workflow.activate()
    workflow.refresh_from_db()
    assert workflow.status == Status.ACTIVE


def test_archive_stopped():
    workflow = make_workflow(status=Status.STOPPED)
    workflow.archive()
    workflow.refresh_from_db()
    assert workflow.status == Status.ARCHIVED and workflow.archived_at is not None


@pytest.mark.parametrize("start", [Status.ACTIVE, Status.LOCKED])
def test_archive_active_with_stop_first_stops_then_archives(start):
    workflow = make_workflow(status=start)
    workflow.archive(stop_first=True)
    workflow.refresh_from_db()
    assert workflow.status == Status.ARCHIVED
    assert workflow.stopped_at is not None


def test_unarchive_returns_to_stopped():
    workflow = make_workflow(status=Status.ARCHIVED)
    workflow.unarchive()
    workflow.refresh_from_db()
    assert workflow.status == Status.STOPPED and workflow.archived_at is None


def test_delete_archived():
    workflow = make_workflow(status=Status.ARCHIVED)
    pk = workflow.pk
    workflow.delete()
    assert not EmailWorkflow.objects.filter(pk=pk).exists()
    assert not WorkflowStep.objects.filter(workflow_id=pk).exists()


# -- refused transitions -----------------------------------------------------

REFUSED = [
    ("lock", Status.DRAFT),
    ("lock", Status.LOCKED),
    ("lock", Status.STOPPED),
    ("lock", Status.ARCHIVED),
    ("stop", Status.DRAFT),
    ("stop", Status.STOPPED),
    ("stop", Status.ARCHIVED),
    ("activate", Status.ACTIVE),
    ("activate", Status.ARCHIVED),
    ("archive", Status.DRAFT),
    ("archive", Status.ACTIVE),
    ("archive", Status.LOCKED),
    ("archive", Status.ARCHIVED),
    ("unarchive", Status.DRAFT),
    ("unarchive", Status.ACTIVE),
    ("unarchive", Status.STOPPED),
]


@pytest.mark.parametrize(("action", "start"), REFUSED)
def test_refused_transitions_leave_status_unchanged(action, start):
    workflow = make_workflow(status=start)
    with pytest.raises(LifecycleError):
        getattr(workflow, action)()
    workflow.refresh_from_db()
    assert workflow.status == start


def test_archive_draft_with_stop_first_is_still_refused():
    workflow = make_workflow()
    with pytest.raises(LifecycleError):
        workflow.archive(stop_first=True)
    workflow.refresh_from_db()
    assert workflow.status == Status.DRAFT


def test_delete_draft():
    workflow = make_workflow(steps=2)
    pk = workflow.pk
    workflow.delete()
    assert not EmailWorkflow.objects.filter(pk=pk).exists()
    assert not WorkflowStep.objects.filter(workflow_id=pk).exists()


@pytest.mark.parametrize("start", [Status.ACTIVE, Status.LOCKED, Status.STOPPED])
def test_delete_refused_unless_draft_or_archived(start):
    workflow = make_workflow(status=start)
    with pytest.raises(LifecycleError, match="archived"):
        workflow.delete()
    assert EmailWorkflow.objects.filter(pk=workflow.pk).exists()


def test_stale_instance_cannot_win_a_race():
    """Two copies of the same workflow: the second transition sees the stored status."""
    workflow = make_workflow(status=Status.ACTIVE)
    stale = EmailWorkflow.objects.get(pk=workflow.pk)
    workflow.stop()
    with pytest.raises(LifecycleError):
        stale.lock()  # stale believes it is active; the database says stopped
    workflow.refresh_from_db()
    assert workflow.status == Status.STOPPED


# -- edits refused outside draft -------------------------------------------


@pytest.mark.parametrize("start", [Status.ACTIVE, Status.LOCKED, Status.STOPPED, Status.ARCHIVED])
def test_non_draft_workflow_refuses_edits_at_model_layer(start):
    workflow = make_workflow(status=start)
    workflow.title = "Renamed"
    with pytest.raises(LifecycleError, match="duplicate"):
        workflow.save()
    assert EmailWorkflow.objects.get(pk=workflow.pk).title == "Welcome series"


@pytest.mark.parametrize("start", [Status.ACTIVE, Status.LOCKED, Status.STOPPED, Status.ARCHIVED])
def test_non_draft_workflow_refuses_step_changes(start):
    workflow = make_workflow(status=start, steps=2)
    step = workflow.steps.first()
    step.delay_amount = 7
    with pytest.raises(LifecycleError):
        step.save()
    with pytest.raises(LifecycleError):
        step.delete()
    with pytest.raises(LifecycleError):
        WorkflowStep.objects.create(workflow=workflow, template=step.template, delay_amount=1)
    assert workflow.steps.count() == 2
    assert sorted(workflow.steps.values_list("delay_amount", flat=True)) == [0, 3]


def test_draft_is_editable():
    workflow = make_workflow()
    workflow.title = "Renamed"
    workflow.save()
    step = workflow.steps.get()
    step.delay_amount = 5
    step.save()
    assert EmailWorkflow.objects.get(pk=workflow.pk).title == "Renamed"


# -- activation validation ---------------------------------------------------


def test_activation_requires_an_email():
    workflow = make_workflow(steps=0)
    with pytest.raises(LifecycleError) as excinfo:
        workflow.activate()
    assert "Add at least one email." in excinfo.value.messages
    workflow.refresh_from_db()
    assert workflow.status == Status.DRAFT


def test_activation_requires_a_list():
    workflow = make_workflow()
    EmailWorkflow.objects.filter(pk=workflow.pk).update(contact_list=None)
    workflow.refresh_from_db()
    with pytest.raises(LifecycleError) as excinfo:
        workflow.activate()
    assert any("contact list" in m for m in excinfo.value.messages)


def test_activation_requires_trigger_settings():
    workflow = make_workflow(scenario=EmailWorkflow.Scenario.BIRTHDAY)
    with pytest.raises(LifecycleError) as excinfo:
        workflow.activate()
    assert any("birth date" in m for m in excinfo.value.messages)
    assert any("time of day" in m for m in excinfo.value.messages)


def test_activation_requires_a_sending_day():
    workflow = make_workflow()
    EmailWorkflow.objects.filter(pk=workflow.pk).update(sending_days=[])
    workflow.refresh_from_db()
    with pytest.raises(LifecycleError) as excinfo:
        workflow.activate()
    assert any("weekday" in m for m in excinfo.value.messages)


def test_activation_says_a_missing_sending_day_once():
    workflow = make_workflow()
    EmailWorkflow.objects.filter(pk=workflow.pk).update(sending_days=[])
    workflow.refresh_from_db()
    with pytest.raises(ActivationBlocked) as excinfo:
        workflow.activate()
    assert excinfo.value.messages == ["Choose at least one weekday to send on."]
    assert [(p.section, p.step) for p in excinfo.value.problems] == [
        (WorkflowSection.SENDING, None)
    ]


@pytest.mark.parametrize("start", [s for s in Status if s != Status.DRAFT])
@pytest.mark.parametrize(
    "action", [WorkflowAction.LOCK, WorkflowAction.STOP, WorkflowAction.UNARCHIVE]
)
def test_transitions_table_is_what_the_methods_do(action, start):
    workflow = make_workflow(status=start)
    transition = TRANSITIONS[action]
    assert workflow.allows(action) == (start in transition.sources)
    if start in transition.sources:
        getattr(workflow, action)()
        workflow.refresh_from_db()
        assert workflow.status == transition.target
    else:
        with pytest.raises(LifecycleError):
            getattr(workflow, action)()


def test_archive_is_allowed_from_the_statuses_stop_leaves():
    assert allowed_from(WorkflowAction.ARCHIVE) == {Status.ACTIVE, Status.LOCKED, Status.STOPPED}
    assert allowed_from(WorkflowAction.DELETE) == {Status.DRAFT, Status.ARCHIVED}


def test_activation_lists_every_problem_at_once():
    workflow = make_workflow(steps=0, scenario=EmailWorkflow.Scenario.REACTIVATION)
    EmailWorkflow.objects.filter(pk=workflow.pk).update(contact_list=None)
    workflow.refresh_from_db()
    with pytest.raises(LifecycleError) as excinfo:
        workflow.activate()
    assert len(excinfo.value.messages) == 3


def test_activation_refuses_unpublished_template():
    workflow = make_workflow(steps=0)
    draft = EmailTemplate(
        name="Draft", subject="Hi", from_email="a@example.com", body=[], live=False
    )
    draft.save()
    draft.save_revision()
    WorkflowStep.objects.create(workflow=workflow, template=draft)
    with pytest.raises(LifecycleError) as excinfo:
        workflow.activate()
    assert any("Publish" in m or "publish" in m for m in excinfo.value.messages)


# -- settings validation -----------------------------------------------------


def test_clean_refuses_incomplete_settings():
    prop = ContactProperty.objects.create(name="city", type="text")
    workflow = EmailWorkflow(
        title="x",
        scenario=EmailWorkflow.Scenario.DATE,
        date_mode=EmailWorkflow.DateMode.RELATIVE,
        date_property=prop,
        sending_start=None,
    )
    with pytest.raises(ValidationError) as excinfo:
        workflow.full_clean()
    errors = excinfo.value.message_dict
    assert any("type date" in m for m in errors["date_property"])
    assert "time_of_day" in errors


def test_clean_refuses_half_sending_hours_and_bad_timezone():
    import datetime

    workflow = EmailWorkflow(
        title="x", timezone="Mars/Olympus", sending_start=datetime.time(9), sending_end=None
    )
    with pytest.raises(ValidationError) as excinfo:
        workflow.full_clean()
    errors = excinfo.value.message_dict
    assert "timezone" in errors
    assert "sending_end" in errors


def test_clean_refuses_equal_sending_hours_and_bad_weekdays():
    import datetime

    workflow = EmailWorkflow(
        title="x", sending_start=datetime.time(9), sending_end=datetime.time(9), sending_days=[9]
    )
    with pytest.raises(ValidationError) as excinfo:
        workflow.full_clean()
    assert set(excinfo.value.message_dict) >= {"sending_end", "sending_days"}


# -- duplicate ---------------------------------------------------------------


def test_duplicate_gives_a_draft_with_copied_steps_sharing_templates():
    original = make_workflow(status=Status.ACTIVE, steps=2)
    copy = original.duplicate("Welcome series v2")
    assert copy.pk != original.pk
    assert copy.status == Status.DRAFT
    assert copy.title == "Welcome series v2"
    assert copy.duplicated_from_id == original.pk
    assert copy.contact_list_id == original.contact_list_id
    old_steps = list(original.steps.values_list("delay_amount", "delay_unit", "template_id"))
    new_steps = list(copy.steps.values_list("delay_amount", "delay_unit", "template_id"))
    assert new_steps == old_steps
    assert not copy.steps.filter(template_revision__isnull=False).exists()


def test_duplicate_with_template_copies():
    original = make_workflow(status=Status.ACTIVE, steps=2)
    copy = original.duplicate("v2", copy_templates=True)
    old_ids = set(original.steps.values_list("template_id", flat=True))
    new_templates = [s.template for s in copy.steps.select_related("template")]
    assert not old_ids & {t.pk for t in new_templates}
    assert all(t.live_revision_id for t in new_templates)
    assert all(t.name.endswith("(copy)") for t in new_templates)
    assert EmailTemplate.objects.count() == 4


def test_duplicate_requires_a_title():
    original = make_workflow()
    with pytest.raises(ValidationError):
        original.duplicate("  ")


def test_replacement_recipe_duplicate_edit_lock_activate():
    """The replacement recipe of docs/editor-guide.md: duplicate, edit the copy, lock the
    original, activate the copy."""
    original = make_workflow(status=Status.ACTIVE, steps=2)
    replacement = original.duplicate("Welcome series (new)")
    step = replacement.steps.order_by("sort_order").last()
    step.delay_amount = 5
    step.save()
    original.lock()
    replacement.activate()
    original.refresh_from_db()
    replacement.refresh_from_db()
    assert original.status == Status.LOCKED
    assert replacement.status == Status.ACTIVE
    assert replacement.steps.order_by("sort_order").last().delay_amount == 5
    assert original.steps.order_by("sort_order").last().delay_amount == 3


def test_full_life_to_deletion():
    workflow = make_workflow()
    workflow.activate()
    workflow.lock()
    workflow.stop()
    workflow.archive()
    workflow.delete()
    assert not EmailWorkflow.objects.exists()
