"""Building blocks for engine tests: an active workflow with real templates, a fake-clock sweep."""

import datetime

from django.utils import timezone

from wagtail_mailflow.models import ContactList, EmailTemplate, EmailWorkflow, WorkflowStep


def published_template(name, subject='Hello {{ contact.first_name|default:"there" }}'):
    template = EmailTemplate(
        name=name,
        subject=subject,
        from_email="news@example.com",
        from_name="Example",
        body=[
            {"type": "heading", "value": {"text": name, "level": "h1", "align": "left"}},
            {"type": "text", "value": '<p>Hi {{ contact.first_name|default:"friend" }}</p>'},
        ],
    )
    template.save()
    template.save_revision().publish()
    template.refresh_from_db()
    return template


def active_workflow(
    delays=((0, "days"), (3, "days")),
    contact_list=None,
    activate=True,
    **fields,
):
    """A workflow on ``contact_list`` (default "Newsletter") with one step per (amount, unit)."""
    contact_list = contact_list or ContactList.objects.get_or_create(name="Newsletter")[0]
    fields.setdefault("title", "Welcome series")
    workflow = EmailWorkflow.objects.create(contact_list=contact_list, **fields)
    for position, (amount, unit) in enumerate(delays):
        WorkflowStep.objects.create(
            workflow=workflow,
            sort_order=position,
            delay_amount=amount,
            delay_unit=unit,
            template=published_template(f"{workflow.title} email {position + 1}"),
        )
    if activate:
        workflow.activate()
        # Activated a little in the past, so memberships made "now" count as after activation.
        EmailWorkflow.objects.filter(pk=workflow.pk).update(
            activated_at=timezone.now() - datetime.timedelta(seconds=1)
        )
        workflow.refresh_from_db()
    return workflow
