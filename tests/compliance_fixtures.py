"""Contacts enrolled in workflows with deliveries in every state, built with the ORM."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from tests.models.test_workflow_lifecycle import make_workflow
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    Delivery,
    Enrollment,
    ListMembership,
)

S = Delivery.Status


@dataclass
class World:
    contact: Contact
    newsletter: ContactList
    other_list: ContactList
    workflow: object
    other_workflow: object
    enrollment: Enrollment
    other_enrollment: Enrollment
    deliveries: dict = field(default_factory=dict)


def make_world(email="ann@example.com", steps=4, contact=None):
    """A contact on two lists, enrolled in one workflow of each.

    The newsletter workflow's deliveries are: step 0 sent (with an ESP message
    id), step 1 scheduled, step 2 claimed, step 3 sending. The other
    workflow has one scheduled delivery.
    """
    now = timezone.now()
    workflow = make_workflow(steps=steps, title=f"Welcome {email}")
    newsletter = workflow.contact_list
    other_list, _ = ContactList.objects.get_or_create(name="Offers")
    other_workflow = make_workflow(steps=1, title=f"Offers {email}")
    type(other_workflow).objects.filter(pk=other_workflow.pk).update(contact_list=other_list)
    other_workflow.refresh_from_db()

    contact = contact or Contact.objects.create(email=email, first_name="Ann")
    for contact_list in (newsletter, other_list):
        ListMembership.objects.create(contact=contact, contact_list=contact_list)
    enrollment = Enrollment.objects.create(workflow=workflow, contact=contact)
    other_enrollment = Enrollment.objects.create(workflow=other_workflow, contact=contact)

    world = World(
        contact, newsletter, other_list, workflow, other_workflow, enrollment, other_enrollment
    )
    states = [S.SENT, S.SCHEDULED, S.CLAIMED, S.SENDING]
    for step, status in zip(workflow.steps.order_by("sort_order"), states, strict=False):
        world.deliveries[status] = Delivery.objects.create(
            enrollment=enrollment,
            step=step,
            workflow=workflow,
            contact=contact,
            status=status,
            due_at=now + timedelta(days=step.sort_order),
            esp_message_id=f"msg-{email}-{step.sort_order}" if status == S.SENT else "",
            sent_at=now if status == S.SENT else None,
            claim_token="tok" if status in (S.CLAIMED, S.SENDING) else "",
            claimed_until=now + timedelta(minutes=5) if status in (S.CLAIMED, S.SENDING) else None,
        )
    world.deliveries["other"] = Delivery.objects.create(
        enrollment=other_enrollment,
        step=other_workflow.steps.get(),
        workflow=other_workflow,
        contact=contact,
        status=S.SCHEDULED,
        due_at=now + timedelta(days=1),
    )
    return world


def statuses(world):
    """Current status of each of the world's deliveries, by key."""
    return {
        key: Delivery.objects.values_list("status", flat=True).get(pk=d.pk)
        for key, d in world.deliveries.items()
    }
