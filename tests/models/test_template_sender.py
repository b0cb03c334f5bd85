"""A template's sender and subject become email headers: one line each, and a From name is
never dropped (it goes with the default address when the template has none)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import template_form_data
from wagtail_mailflow.models import EmailTemplate
from wagtail_mailflow.rendering import compile_template

pytestmark = pytest.mark.django_db

ONE_LINE = "Must fit on one line: an email header cannot contain a line break."


def template(**fields):
    values = {
        "name": "Welcome",
        "subject": "Hello",
        "from_name": "Example",
        "from_email": "news@example.com",
        "body": [{"type": "text", "value": "<p>Hi</p>"}],
    }
    values.update(fields)
    return EmailTemplate(**values)


@pytest.mark.parametrize(
    "field, value",
    [
        ("from_name", "Shop\nBcc: victim@example.com"),
        ("from_name", "Shop\r"),
        ("subject", "Hello\r\nBcc: victim@example.com"),
    ],
)
def test_a_line_break_in_a_header_field_is_refused_when_saved(field, value):
    with pytest.raises(ValidationError) as refused:
        template(**{field: value}).full_clean()
    assert refused.value.message_dict[field] == [ONE_LINE]


def test_the_editor_shows_the_refusal(admin_client):
    add_url = reverse("wagtailsnippets_wagtail_mailflow_emailtemplate:add")
    response = admin_client.post(add_url, template_form_data(from_name="Shop\nBcc: x@example.com"))
    assert response.status_code == 200
    assert ONE_LINE in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_a_from_name_without_any_address_is_refused(settings):
    settings.WAGTAIL_MAILFLOW_FROM_EMAIL = None
    with pytest.raises(ValidationError) as refused:
        template(from_email="").full_clean()
    assert refused.value.message_dict["from_email"] == [
        "Set a From address (or WAGTAIL_MAILFLOW_FROM_EMAIL)."
    ]


@pytest.mark.parametrize("default", ["news@example.com", "Site news <news@example.com>"])
def test_a_from_name_without_its_own_address_goes_with_the_default_address(settings, default):
    settings.WAGTAIL_MAILFLOW_FROM_EMAIL = default
    shop = template(from_email="", from_name="Shop")
    shop.full_clean()
    assert compile_template(shop).from_email == '"Shop" <news@example.com>'
