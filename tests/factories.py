"""The one place the test suite builds data: factory-boy factories, and the few scenes built
from them (a workflow with steps, an active workflow, a contact with deliveries in every state,
the template editor's form data)."""

import datetime
from dataclasses import dataclass, field

import factory
from django.utils import timezone
from django.utils.timezone import now
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from wagtail_mailflow.engine.entry import enter_many
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    Delivery,
    EmailTemplate,
    EmailWorkflow,
    Enrollment,
    ListMembership,
    Segment,
    WorkflowStep,
)


class ContactPropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactProperty
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"property_{n}")
    label = factory.LazyAttribute(lambda o: o.name.replace("_", " ").capitalize())
    type = ContactProperty.Type.TEXT


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    properties = factory.Dict({})
    consent_at = factory.LazyFunction(now)


class ContactListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactList
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"List {n}")


class ListMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ListMembership

    contact = factory.SubFactory(ContactFactory)
    contact_list = factory.SubFactory(ContactListFactory, name="Newsletter")


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    conditions = factory.Dict({"match": "all", "conditions": []})


def heading(text="Welcome", level="h1", align="left"):
    """Raw StreamField data for a heading block."""
    return {"type": "heading", "value": {"text": text, "level": level, "align": align}}


def text(html='<p>Hi {{ contact.first_name|default:"friend" }}</p>'):
    """Raw StreamField data for a rich text block."""
    return {"type": "text", "value": html}


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    """A template saved with a published revision (as an editor's "Publish" leaves it).

    ``EmailTemplateFactory(publish=False)`` leaves a draft without revision.
    """

    class Meta:
        model = EmailTemplate
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Email {n}")
    subject = 'Hello {{ contact.first_name|default:"there" }}'
    preheader = "News from us"
    from_name = "Example"
    from_email = "news@example.com"
    body = factory.LazyFunction(lambda: [heading()])

    @factory.post_generation
    def publish(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            obj.save_revision().publish()
            obj.refresh_from_db()


def template_form_data(**overrides):
    """What the template editor posts for a valid template, with ``overrides``."""
    data = {
        "name": "Welcome",
        "subject": 'Hi {{ contact.first_name|default:"there" }}',
        "preheader": "Glad you are here",
        "from_name": "Example",
        "from_email": "news@example.com",
        "reply_to": "",
        "body": streamfield(
            [
                (
                    "heading",
                    {"text": "Welcome {{ contact.first_name }}", "level": "h1", "align": "left"},
                ),
                ("text", rich_text('<p>Read <a href="https://example.com/blog">the blog</a></p>')),
            ]
        ),
    }
    data.update(overrides)
    return nested_form_data(data)


class EmailWorkflowFactory(factory.django.DjangoModelFactory):
    """A draft workflow on the "Newsletter" list, without steps."""

    class Meta:
        model = EmailWorkflow

    title = "Welcome series"
    contact_list = factory.SubFactory(ContactListFactory, name="Newsletter")


class WorkflowStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkflowStep

    workflow = factory.SubFactory(EmailWorkflowFactory)
    sort_order = 0
    delay_amount = 0
    delay_unit = WorkflowStep.DelayUnit.DAYS
    template = factory.SubFactory(EmailTemplateFactory)


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    workflow = factory.SubFactory(EmailWorkflowFactory)
    contact = factory.SubFactory(ContactFactory)


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A scheduled delivery of ``step`` to the enrollment's contact, due now."""

    class Meta:
        model = Delivery

    enrollment = factory.SubFactory(EnrollmentFactory)
    workflow = factory.SelfAttribute("enrollment.workflow")
    contact = factory.SelfAttribute("enrollment.contact")
    step = factory.SubFactory(WorkflowStepFactory, workflow=factory.SelfAttribute("..workflow"))
    status = Delivery.Status.SCHEDULED
    due_at = factory.LazyFunction(now)


Status = EmailWorkflow.Status


def make_workflow(status=None, steps=1, **fields):
    """A workflow on "Newsletter" with ``steps`` emails (the first at once, then every 3 days),
    brought to ``status`` through the lifecycle methods (a draft by default)."""
    workflow = EmailWorkflowFactory(**fields)
    for position in range(steps):
        WorkflowStepFactory(
            workflow=workflow,
            sort_order=position,
            delay_amount=0 if position == 0 else 3,
            template=EmailTemplateFactory(name=f"Email {position + 1}", preheader=""),
        )
    if status in (Status.ACTIVE, Status.LOCKED, Status.STOPPED, Status.ARCHIVED):
        workflow.activate()
    if status == Status.LOCKED:
        workflow.lock()
    if status in (Status.STOPPED, Status.ARCHIVED):
        workflow.stop()
    if status == Status.ARCHIVED:
        workflow.archive()
    workflow.refresh_from_db()
    return workflow


def active_workflow(delays=((0, "days"), (3, "days")), contact_list=None, activate=True, **fields):
    """A workflow on ``contact_list`` (default "Newsletter") with one step per (amount, unit),
    each with its own published template, activated a second ago unless ``activate=False``."""
    if contact_list is not None:
        fields["contact_list"] = contact_list
    workflow = EmailWorkflowFactory(**fields)
    for position, (amount, unit) in enumerate(delays):
        name = f"{workflow.title} email {position + 1}"
        WorkflowStepFactory(
            workflow=workflow,
            sort_order=position,
            delay_amount=amount,
            delay_unit=unit,
            template=EmailTemplateFactory(name=name, preheader="", body=[heading(name), text()]),
        )
    if activate:
        workflow.activate()
        # Activated a little in the past, so memberships made "now" count as after activation.
        EmailWorkflow.objects.filter(pk=workflow.pk).update(
            activated_at=timezone.now() - datetime.timedelta(seconds=1)
        )
        workflow.refresh_from_db()
    return workflow


@dataclass
class World:
    contact: Contact
    newsletter: ContactList
    other_list: ContactList
    workflow: EmailWorkflow
    other_workflow: EmailWorkflow
    enrollment: Enrollment
    other_enrollment: Enrollment
    deliveries: dict = field(default_factory=dict)


def make_world(email="ann@example.com", steps=4, contact=None):
    """A contact on two lists, enrolled in one workflow of each.

    The newsletter workflow's deliveries are: step 0 sent (with an ESP message
    id), step 1 scheduled, step 2 claimed, step 3 sending. The other
    workflow has one scheduled delivery.
    """
    S = Delivery.Status
    at = timezone.now()
    workflow = make_workflow(steps=steps, title=f"Welcome {email}")
    newsletter = workflow.contact_list
    other_list = ContactListFactory(name="Offers")
    other_workflow = make_workflow(steps=1, title=f"Offers {email}")
    EmailWorkflow.objects.filter(pk=other_workflow.pk).update(contact_list=other_list)
    other_workflow.refresh_from_db()

    contact = contact or ContactFactory(
        email=email, first_name="Ann", last_name="", consent_at=None
    )
    for contact_list in (newsletter, other_list):
        ListMembershipFactory(contact=contact, contact_list=contact_list)
    enrollment = EnrollmentFactory(workflow=workflow, contact=contact)
    other_enrollment = EnrollmentFactory(workflow=other_workflow, contact=contact)

    world = World(
        contact, newsletter, other_list, workflow, other_workflow, enrollment, other_enrollment
    )
    states = [S.SENT, S.SCHEDULED, S.CLAIMED, S.SENDING]
    for step, status in zip(workflow.steps.order_by("sort_order"), states, strict=False):
        claimed = status in (S.CLAIMED, S.SENDING)
        world.deliveries[status] = DeliveryFactory(
            enrollment=enrollment,
            step=step,
            status=status,
            due_at=at + datetime.timedelta(days=step.sort_order),
            esp_message_id=f"msg-{email}-{step.sort_order}" if status == S.SENT else "",
            sent_at=at if status == S.SENT else None,
            claim_token="tok" if claimed else "",
            claimed_until=at + datetime.timedelta(minutes=5) if claimed else None,
        )
    world.deliveries["other"] = DeliveryFactory(
        enrollment=other_enrollment,
        step=other_workflow.steps.get(),
        status=S.SCHEDULED,
        due_at=at + datetime.timedelta(days=1),
    )
    return world


def statuses(world):
    """Current status of each of the world's deliveries, by key."""
    return {
        key: Delivery.objects.values_list("status", flat=True).get(pk=d.pk)
        for key, d in world.deliveries.items()
    }


def steps_formset(prefix="steps", forms=()):
    """POST data of the workflow editor's steps formset, one dict of fields per step."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(forms)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, form in enumerate(forms):
        for key, value in form.items():
            data[f"{prefix}-{i}-{key}"] = value
        data.setdefault(f"{prefix}-{i}-ORDER", str(i + 1))
        data.setdefault(f"{prefix}-{i}-id", "")
        data.setdefault(f"{prefix}-{i}-DELETE", "")
    return data


def start(**workflow_fields):
    """An active workflow whose first email is due at once."""
    workflow_fields.setdefault("delays", ((0, "days"),))
    return active_workflow(**workflow_fields)


def join(workflow, *emails, now):
    """Contacts on the workflow's list, entered at ``now`` (no trigger, no wake-up)."""
    contacts = Contact.objects.bulk_create(
        [Contact(email=email, first_name=email.split("@")[0].title()) for email in emails]
    )
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=workflow.contact_list) for c in contacts]
    )
    enter_many(workflow, Contact.objects.filter(pk__in=[c.pk for c in contacts]), now=now)
    return contacts


def delivery(contact, step=0):
    """The contact's delivery of the workflow's step ``step``."""
    return Delivery.objects.get(contact=contact, step__sort_order=step)
