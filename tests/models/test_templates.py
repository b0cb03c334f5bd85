"""The EmailTemplate snippet: save-time validation, revisions, the admin and its live preview."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from wagtail.blocks import StreamBlockValidationError, StructBlockValidationError

from tests.factories import (
    ContactPropertyFactory,
    EmailTemplateFactory,
    heading,
    template_form_data,
)
from wagtail_mailflow import rendering
from wagtail_mailflow.models import EmailTemplate
from wagtail_mailflow.rendering.blocks import ButtonBlock, EmailBodyBlock, RawMJMLBlock
from wagtail_mailflow.viewsets import email_template_viewset

pytestmark = pytest.mark.django_db


def test_full_clean_refuses_bad_raw_mjml_with_position():
    template = EmailTemplate(
        name="Broken",
        subject="Hi",
        from_email="news@example.com",
        body=[{"type": "mjml", "value": "<mj-section>\n  <mj-bogus />\n</mj-section>"}],
    )
    with pytest.raises(ValidationError) as excinfo:
        template.full_clean()
    (message,) = excinfo.value.message_dict["body"]
    assert message == (
        "Block 1 (Raw MJML): Line 2, column 3: <mj-bogus> is not allowed here; "
        "use body tags such as <mj-section>."
    )


def test_full_clean_refuses_bad_syntax_and_missing_sender():
    template = EmailTemplate(name="Broken", subject="Hi {{ contact.first_name", body=[])
    with pytest.raises(ValidationError) as excinfo:
        template.full_clean()
    errors = excinfo.value.message_dict
    assert errors["subject"] == ["Line 1, column 4: '{{' is never closed with '}}'."]
    assert errors["from_email"] == ["Set a From address (or WAGTAIL_MAILFLOW_FROM_EMAIL)."]


def test_save_revision_validates_and_a_valid_template_publishes():
    template = EmailTemplateFactory(publish=False)
    template.subject = "{% load static %}"
    with pytest.raises(ValidationError):
        template.save_revision()
    template.subject = "Hello {{ contact.first_name }}"
    template.save_revision().publish()
    template.refresh_from_db()
    assert template.live_revision.as_object().subject == "Hello {{ contact.first_name }}"


def test_block_clean_refuses_bad_colours_links_and_raw_mjml():
    button = ButtonBlock()
    value = button.to_python(
        {
            "text": "Go",
            "url": "javascript:alert(1)",
            "background_color": "red",
            "text_color": "#fff",
            "align": "center",
        }
    )
    with pytest.raises(StructBlockValidationError) as excinfo:
        button.clean(value)
    assert "background_color" in excinfo.value.block_errors

    value["background_color"] = "#000"
    with pytest.raises(StructBlockValidationError) as excinfo:
        button.clean(value)
    assert set(excinfo.value.block_errors) == {"url"}

    value["url"] = "https://example.com/?email={{ contact.email }}"
    assert button.clean(value)["url"] == value["url"]

    with pytest.raises(ValidationError, match="mj-include"):
        RawMJMLBlock().clean("<mj-include path='x' />")


def test_stream_block_reports_raw_mjml_error_on_the_block():
    block = EmailBodyBlock()
    value = block.to_python([{"type": "mjml", "value": "<mj-section><script>x</script>"}])
    with pytest.raises(StreamBlockValidationError) as excinfo:
        block.clean(value)
    assert 0 in excinfo.value.block_errors


def test_copy_for_workflow_copies_the_live_content():
    template = EmailTemplateFactory(subject="Live subject")
    template.subject = "Draft subject"
    template.save_revision()  # a draft, not published
    copy = template.copy_for_workflow("Copy")
    assert copy.subject == "Live subject"
    assert copy.live and copy.live_revision_id


# -- the admin -------------------------------------------------------------------


def test_listing_shows_templates(admin_client):
    EmailTemplateFactory(name="Onboarding day 1", subject="Day one")
    response = admin_client.get(reverse(email_template_viewset.get_url_name("list")))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Onboarding day 1" in content
    assert "Day one" in content
    assert "Live" in content or "live" in content


def test_create_through_the_admin_then_edit_page(admin_client):
    response = admin_client.post(
        reverse(email_template_viewset.get_url_name("add")),
        template_form_data(**{"action-publish": "1"}),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    template = EmailTemplate.objects.get(name="Welcome")
    assert template.live and template.live_revision_id
    assert template.body[0].value["text"] == "Welcome {{ contact.first_name }}"

    edit = admin_client.get(
        reverse(email_template_viewset.get_url_name("edit"), args=[template.pk])
    )
    assert edit.status_code == 200
    assert "Welcome {{ contact.first_name }}" in edit.content.decode()


def test_admin_refuses_a_bad_template_with_the_message(admin_client):
    response = admin_client.post(
        reverse(email_template_viewset.get_url_name("add")),
        template_form_data(subject="Hi {% now 'Y' %}", from_email=""),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Template tags are not allowed" in content
    assert "Set a From address" in content
    assert not EmailTemplate.objects.exists()


def test_live_preview_renders_the_email_with_sample_data(admin_client):
    ContactPropertyFactory(name="city", label="City")
    template = EmailTemplateFactory()
    url = reverse(email_template_viewset.get_url_name("preview_on_edit"), args=[template.pk])
    data = template_form_data(subject="Hello {{ contact.first_name }} from {{ contact.city }}")

    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response.json()["is_valid"] is True

    html = admin_client.get(url, {"mode": "html"})
    assert html.status_code == 200
    content = html.content.decode()
    assert "Hello Jane from City" in content  # the subject line, with sample values
    assert "srcdoc=" in content and "Welcome Jane" in content  # the email itself
    assert "news@example.com" in content

    text = admin_client.get(url, {"mode": "text"})
    content = text.content.decode()
    assert "<pre" in content
    assert "Read the blog (https://example.com/blog)" in content


def test_revision_preview_renders(admin_client):
    template = EmailTemplateFactory(subject="Revision subject")
    url = reverse(
        email_template_viewset.get_url_name("revisions_view"),
        args=[template.pk, template.live_revision_id],
    )
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "Revision subject" in response.content.decode()


def test_preview_context_shows_errors_instead_of_failing():
    template = EmailTemplate(
        name="x", subject="Hi", body=[{"type": "mjml", "value": "<mj-section><mj-text>"}]
    )
    context = rendering.preview_context(template, "html")
    assert "<mj-text> is never closed" in context["error"]
    assert "email" not in context


def test_heading_factory_helper_is_valid():
    template = EmailTemplate(name="x", subject="s", from_email="a@example.com", body=[heading()])
    template.full_clean()
