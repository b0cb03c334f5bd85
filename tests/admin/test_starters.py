"""Starter templates: each a complete email of the product's blocks that renders and sends,
in English and French, offered on the "new email template" page."""

import pytest
from django.urls import reverse

from tests.factories import template_form_data
from wagtail_mailflow import rendering
from wagtail_mailflow.models import EmailTemplate
from wagtail_mailflow.rendering import starters
from wagtail_mailflow.viewsets import email_template_viewset

pytestmark = pytest.mark.django_db

KEYS = ["welcome", "thank_you", "birthday", "win_back", "date_reminder", "plain_letter"]


def test_the_six_starters_are_offered():
    assert [starter.key for starter in starters.STARTERS] == KEYS


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("key", KEYS)
def test_each_starter_is_a_valid_email_with_the_first_name(key, language):
    content = starters.starter_content(key, language)
    template = EmailTemplate(name=key, from_email="news@example.com", **content)
    template.save()
    assert rendering.template_problems(template) == []
    assert "contact.first_name" in content["subject"]
    compiled = rendering.compile_template(template, language)
    email = compiled.render(rendering.sample_values(), rendering.PREVIEW_UNSUBSCRIBE_URL)
    assert "Jane" in email.subject
    assert "<table" in email.html  # laid out by MJML, responsive


def test_french_starter_is_in_french():
    assert starters.starter_content("birthday", "fr")["subject"].startswith("Joyeux anniversaire")
    assert starters.starter_content("birthday", "en")["subject"].startswith("Happy birthday")


def test_create_page_offers_starters_and_prefills_the_chosen_one(admin_client):
    add_url = reverse(email_template_viewset.get_url_name("add"))
    html = admin_client.get(add_url).content.decode()
    for key in KEYS:
        assert f'href="{add_url}?starter={key}"' in html
    html = admin_client.get(add_url, {"starter": "birthday"}).content.decode()
    assert "Happy birthday" in html
    assert 'aria-current="true"' in html


def test_french_editor_gets_the_french_starter(admin_client, admin_user):
    add_url = reverse(email_template_viewset.get_url_name("add"))
    html = admin_client.get(
        add_url, {"starter": "welcome"}, headers={"Accept-Language": "fr"}
    ).content.decode()
    assert "Bienvenue" in html


def test_a_template_started_from_a_starter_is_published(admin_client):
    add_url = reverse(email_template_viewset.get_url_name("add"))
    response = admin_client.post(
        f"{add_url}?starter=plain_letter",
        template_form_data(name="Letter", **{"action-publish": "1"}),
    )
    assert response.status_code == 302
    assert EmailTemplate.objects.get(name="Letter").live


def test_template_editor_names_the_active_workflows_that_send_it(admin_client):
    from tests.factories import active_workflow

    workflow = active_workflow(title="Onboarding")
    template = workflow.steps.order_by("sort_order").first().template
    edit_url = reverse(email_template_viewset.get_url_name("edit"), args=[template.pk])
    html = admin_client.get(edit_url).content.decode()
    assert "data-mailflow-used-by" in html
    assert f'href="{reverse("mailflow_workflows:inspect", args=[workflow.pk])}">Onboarding<' in html
    workflow.stop()
    assert "data-mailflow-used-by" not in admin_client.get(edit_url).content.decode()
