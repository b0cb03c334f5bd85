"""Factories shared by the test suite (factory-boy)."""

import factory
from django.utils.timezone import now

from wagtail_mailflow.models import Contact, ContactList, ContactProperty, EmailTemplate


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


def heading(text="Welcome", level="h1", align="left"):
    """Raw StreamField data for a heading block."""
    return {"type": "heading", "value": {"text": text, "level": level, "align": align}}


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
