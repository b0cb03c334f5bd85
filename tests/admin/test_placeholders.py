"""The template editor's "Insert a placeholder" menu: on the new and edit pages, listing the
contact's fields and every property by label, each with the placeholder it inserts, and the
placeholder syntax it writes read back by the personalisation parser."""

import json
import re

import pytest
from django.urls import reverse

from tests.factories import ContactPropertyFactory, EmailTemplateFactory
from wagtail_mailflow.rendering.personalise import parse, placeholder
from wagtail_mailflow.viewsets import email_template_viewset

pytestmark = pytest.mark.django_db

CONFIG_RE = re.compile(
    r'<script id="mailflow-placeholders-config" type="application/json">(.*?)</script>', re.S
)


def menu(html):
    """The menu's groups as the page hands them to its script: label -> [(label, placeholder)]."""
    assert "data-mailflow-placeholder-menu" in html
    assert 'data-controller="mailflow-placeholders"' in html
    assert "wagtail_mailflow/js/placeholders.js" in html
    config = json.loads(CONFIG_RE.search(html).group(1))
    return {
        group["label"]: [(item["label"], item["placeholder"]) for item in group["items"]]
        for group in config["groups"]
    }


def test_the_new_template_page_lists_the_contact_fields_and_the_properties(admin_client):
    ContactPropertyFactory(name="city", label="Home town")
    ContactPropertyFactory(name="points", label="")  # no label: listed by its name
    html = admin_client.get(reverse(email_template_viewset.get_url_name("add"))).content.decode()
    assert "Insert a placeholder" in html
    assert "Value when the contact has none" in html
    assert menu(html) == {
        "Contact fields": [
            ("Email address", "{{ contact.email }}"),
            ("First name", "{{ contact.first_name }}"),
            ("Last name", "{{ contact.last_name }}"),
        ],
        "Contact properties": [
            ("Home town", "{{ contact.city }}"),
            ("Points", "{{ contact.points }}"),
        ],
    }


def test_a_property_defined_later_is_in_the_edit_page_menu(admin_client):
    template = EmailTemplateFactory()
    edit_url = reverse(email_template_viewset.get_url_name("edit"), args=[template.pk])
    assert "Contact properties" not in menu(admin_client.get(edit_url).content.decode())
    ContactPropertyFactory(name="plan", label="Subscription plan")
    groups = menu(admin_client.get(edit_url).content.decode())
    assert groups["Contact properties"] == [("Subscription plan", "{{ contact.plan }}")]


def test_the_menu_is_in_the_editor_language(admin_client):
    html = admin_client.get(
        reverse(email_template_viewset.get_url_name("add")), headers={"Accept-Language": "fr"}
    ).content.decode()
    assert menu(html)["Champs du contact"][1] == ("Prénom", "{{ contact.first_name }}")


@pytest.mark.parametrize(
    ("default", "written", "value"),
    [
        ("", "{{ contact.first_name }}", ""),
        ("friend", '{{ contact.first_name|default:"friend" }}', "friend"),
        ("l'ami", '{{ contact.first_name|default:"l\'ami" }}', "l'ami"),
        ('say "hi"', "{{ contact.first_name|default:'say \"hi\"' }}", 'say "hi"'),
        ("{curly}", '{{ contact.first_name|default:"{curly}" }}', "{curly}"),
    ],
)
def test_the_placeholder_written_is_the_one_the_parser_reads(default, written, value):
    assert placeholder("contact.first_name", default) == written
    program = parse(f"Hi {written}!", properties=[])
    assert program.render({}) == f"Hi {value}!"
    assert program.render({"first_name": "Ada"}) == "Hi Ada!"


@pytest.mark.parametrize("default", ["both ' and \"", "a }} b"])
def test_a_default_the_syntax_cannot_hold_is_refused(default):
    with pytest.raises(ValueError):
        placeholder("contact.first_name", default)
