"""The contact's built-in fields: one definition, every list derived from it, and the triggers
seeing every field a condition may test, whether the change comes from the API or an import."""

import io

import pytest
from django.utils import timezone

from tests.factories import active_workflow
from wagtail_mailflow import api, contact_fields
from wagtail_mailflow.conditions import compile_q
from wagtail_mailflow.contact_import import import_csv, inspect_file, propose_mapping
from wagtail_mailflow.contact_import.mapping import target_choices
from wagtail_mailflow.engine.triggers import contact_state
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    EmailWorkflow,
    Enrollment,
)
from wagtail_mailflow.models.signups import contact_field_choices
from wagtail_mailflow.rendering.personalise import CONTACT_FIELDS

#: A value each built-in field can hold, different from a new contact's (empty) one.
SAMPLE_VALUES = {
    "email": "zoe@example.org",
    "first_name": "Zoé",
    "last_name": "Durand",
    "language": "fr",
    "timezone": "Europe/Paris",
}


def test_every_field_has_a_sample_value():
    assert set(SAMPLE_VALUES) == set(contact_fields.ALL_FIELDS)


def test_the_model_fields_follow_the_definition():
    for field in contact_fields.FIELDS:
        model_field = Contact._meta.get_field(field.name)
        assert model_field.max_length == field.max_length
        assert str(model_field.verbose_name) == str(field.label)


@pytest.mark.django_db
def test_other_lists_derive_from_the_definition():
    _empty, (_group, mappable) = contact_field_choices()
    assert tuple(name for name, _label in mappable) == contact_fields.MAPPABLE_FIELDS
    assert CONTACT_FIELDS == contact_fields.PERSONALISATION_FIELDS
    assert contact_fields.RESERVED_NAMES >= set(contact_fields.ALL_FIELDS)
    import_targets = [value for value, _label in target_choices([]) if value]
    assert tuple(import_targets) == contact_fields.IMPORT_FIELDS


@pytest.mark.parametrize("name", contact_fields.CONDITION_FIELDS)
def test_every_condition_field_is_seen_by_the_contact_update_trigger(name):
    contact = Contact(email="ann@example.com", properties={})
    before = contact_state(contact)
    setattr(contact, name, SAMPLE_VALUES[name])
    assert contact_state(contact) != before
    assert contact_state(contact)[name] == SAMPLE_VALUES[name]


def update_workflow(field, value, title=None):
    return active_workflow(
        title=title or f"When {field} is {value}",
        scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
        trigger_conditions={
            "match": "all",
            "conditions": [{"field": field, "operator": "equals", "value": value}],
        },
        delays=((0, "days"),),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", [n for n in contact_fields.CONDITION_FIELDS if n in contact_fields.EDITABLE_FIELDS]
)
def test_update_contact_enters_a_workflow_on_each_condition_field(name):
    # The timezone was once left out of the trigger's view: this workflow never fired.
    workflow = update_workflow(name, SAMPLE_VALUES[name])
    contact, _m, _j = api.subscribe("ann@example.com", "Newsletter")
    entered = api.update_contact(contact, **{name: SAMPLE_VALUES[name]})
    assert [e.workflow_id for e in entered] == [workflow.pk]
    # The bulk query of the same condition agrees that the contact now matches.
    assert Contact.objects.filter(compile_q(workflow.trigger_conditions), pk=contact.pk).exists()


@pytest.mark.django_db
def test_the_import_and_the_api_enter_the_same_workflows_for_the_same_change():
    ContactProperty.objects.create(name="points", type="number")
    newsletter = ContactList.objects.get_or_create(name="Newsletter")[0]
    by_name = update_workflow("first_name", "Zoé", title="Named Zoé")
    by_language = update_workflow("language", "fr", title="French")
    by_points = active_workflow(
        title="Loyal",
        scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
        trigger_conditions={
            "match": "all",
            "conditions": [{"field": "points", "operator": "gte", "value": 100}],
        },
        delays=((0, "days"),),
    )
    untouched = update_workflow("last_name", "Durand", title="Durand")
    for email in ("api@example.com", "csv@example.com"):
        api.subscribe(email, newsletter, properties={"points": 10}, last_name="Durand")

    api.update_contact(
        Contact.objects.get(email="api@example.com"),
        properties={"points": 120},
        first_name="Zoé",
        language="fr",
        last_name="Durand",
    )
    data = b"email,first_name,last_name,language,points\ncsv@example.com,Zo\xc3\xa9,Durand,fr,120\n"
    _delimiter, headers, _count = inspect_file(io.BytesIO(data), "utf-8")
    import_csv(
        io.BytesIO(data),
        contact_list=newsletter,
        headers=headers,
        mapping=propose_mapping(headers),
        delimiter=",",
        now=timezone.now(),
    )

    def entered(email):
        return set(
            Enrollment.objects.filter(contact__email=email).values_list("workflow_id", flat=True)
        )

    assert entered("api@example.com") == {by_name.pk, by_language.pk, by_points.pk}
    assert entered("csv@example.com") == entered("api@example.com")
    assert not untouched.enrollments.exists()
