"""A segment or a contact-update trigger holds at most WAGTAIL_MAILFLOW_MAX_CONDITIONS conditions."""

import pytest
from django.core.exceptions import ValidationError

from wagtail_mailflow.conditions import ConditionError, validate
from wagtail_mailflow.models import ContactList, EmailWorkflow, Segment

pytestmark = pytest.mark.django_db


def conditions(count):
    return {
        "match": "any",
        "conditions": [
            {"field": "first_name", "operator": "equals", "value": f"name{i}"} for i in range(count)
        ],
    }


def test_a_segment_of_1200_conditions_is_refused_with_the_limit():
    segment = Segment(name="Huge", conditions=conditions(1200))
    with pytest.raises(ValidationError) as info:
        segment.full_clean()
    message = info.value.message_dict["conditions"][0]
    assert message == (
        "There are 1200 conditions; at most 100 are allowed. "
        "Split them into several segments or workflows."
    )


def test_the_limit_itself_is_allowed():
    Segment(name="Big", conditions=conditions(100)).full_clean()


def test_the_limit_is_a_setting(settings):
    settings.WAGTAIL_MAILFLOW_MAX_CONDITIONS = 3
    with pytest.raises(ConditionError, match="at most 3 are allowed"):
        validate(conditions(4))
    assert len(validate(conditions(3)).conditions) == 3
    settings.WAGTAIL_MAILFLOW_MAX_CONDITIONS = None
    assert len(validate(conditions(150)).conditions) == 150


def test_a_contact_update_trigger_is_capped_too():
    workflow = EmailWorkflow(
        title="Update",
        contact_list=ContactList.objects.create(name="News"),
        scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
        trigger_conditions=conditions(101),
    )
    errors = workflow.settings_errors()
    assert "at most 100 are allowed" in errors["trigger_conditions"]
