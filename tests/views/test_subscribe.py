"""The subscribe view and {% mailflow_subscribe_form %}: validation, honeypot, rate limit, privacy."""

import pytest
from django.core import mail
from django.template import TemplateSyntaxError
from django.test import Client

from tests.factories import active_workflow
from tests.signup_helpers import committed, form_of, render_tag
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    Enrollment,
    ListMembership,
)
from wagtail_mailflow.rate_limit import parse_rate
from wagtail_mailflow.subscribe_form import make_form_config

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_state")]

THANKS = "You are subscribed to <strong>Newsletter</strong>."


@pytest.fixture
def newsletter():
    return ContactList.objects.create(name="Newsletter")


@pytest.fixture
def welcome(newsletter):
    return active_workflow(delays=((0, "days"),), contact_list=newsletter)


def post(client, capture, data, html=None, **extra):
    action, config = form_of(html or render_tag())
    with committed(capture):
        return client.post(action, {"form": config, **data}, **extra)


def test_tag_renders_a_working_form(
    client, newsletter, welcome, django_capture_on_commit_callbacks
):
    ContactProperty.objects.create(name="city", label="Your city", type="text")
    html = render_tag('"Newsletter" fields="first_name city" button="Join"')
    assert 'action="/mailflow/subscribe/newsletter/"' in html
    assert 'type="email"' in html and 'name="first_name"' in html and "Your city" in html
    assert "csrfmiddlewaretoken" in html and ">Join</button>" in html
    assert 'name="website"' in html and 'aria-hidden="true"' in html  # the honeypot, hidden
    response = post(
        client,
        django_capture_on_commit_callbacks,
        {"email": "ada@example.com", "first_name": "Ada", "city": "London"},
        html=html,
    )
    assert response.status_code == 200
    assert THANKS in response.content.decode()
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.properties) == (
        "ada@example.com",
        "Ada",
        {"city": "London"},
    )
    membership = ListMembership.objects.get()
    assert membership.source == ListMembership.Source.SUBSCRIBE
    assert membership.source_detail == "/mailflow/subscribe/newsletter/"
    assert Enrollment.objects.get().workflow == welcome
    assert [(m.to, m.subject) for m in mail.outbox] == [(["ada@example.com"], "Hello Ada")]


def test_invalid_email_re_renders_the_form_with_the_error(
    client, newsletter, django_capture_on_commit_callbacks
):
    response = post(client, django_capture_on_commit_callbacks, {"email": "not-an-address"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address, like name@example.com." in html
    assert 'value="not-an-address"' in html  # what they typed is kept
    assert 'name="form"' in html  # the page's form can be posted again
    assert not Contact.objects.exists()
    response = post(client, django_capture_on_commit_callbacks, {"email": ""})
    assert "Enter your email address." in response.content.decode()


def test_honeypot_pretends_success_and_stores_nothing(
    client, newsletter, welcome, django_capture_on_commit_callbacks
):
    response = post(
        client,
        django_capture_on_commit_callbacks,
        {"email": "bot@example.com", "website": "http://spam.example"},
    )
    assert response.status_code == 200 and THANKS in response.content.decode()
    assert not Contact.objects.exists() and not ListMembership.objects.exists()
    assert mail.outbox == []


def test_rate_limit_answers_429_with_a_reason(
    settings, client, newsletter, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_MAILFLOW_SUBSCRIBE_RATE = "2/m"
    for n in range(2):
        response = post(client, django_capture_on_commit_callbacks, {"email": f"a{n}@example.com"})
        assert response.status_code == 200
    response = post(client, django_capture_on_commit_callbacks, {"email": "a3@example.com"})
    assert response.status_code == 429
    assert "Too many signups from your network" in response.content.decode()
    assert response["Retry-After"] == "60"
    assert Contact.objects.count() == 2
    # Another visitor is not affected.
    response = post(
        client,
        django_capture_on_commit_callbacks,
        {"email": "b@example.com"},
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 200


def test_rate_setting_parsing():
    assert parse_rate("5/m") == (5, 60)
    assert parse_rate("100/2h") == (100, 7200)
    assert parse_rate(None) is None
    with pytest.raises(Exception, match="must look like '5/m'"):
        parse_rate("five a minute")


def test_no_rate_limit_when_disabled(
    settings, client, newsletter, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_MAILFLOW_SUBSCRIBE_RATE = None
    for n in range(7):
        response = post(client, django_capture_on_commit_callbacks, {"email": f"x{n}@example.com"})
        assert response.status_code == 200
    assert Contact.objects.count() == 7


def test_duplicate_gets_the_same_thank_you_and_no_second_enrollment(
    client, newsletter, welcome, django_capture_on_commit_callbacks
):
    first = post(client, django_capture_on_commit_callbacks, {"email": "ada@example.com"})
    again = post(client, django_capture_on_commit_callbacks, {"email": "ADA@example.com"})
    new = post(client, django_capture_on_commit_callbacks, {"email": "bob@example.com"})
    assert first.status_code == again.status_code == new.status_code == 200
    assert first.content == again.content == new.content  # nothing tells a known address apart
    assert Enrollment.objects.filter(contact__email="ada@example.com").count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.com"]


def test_csrf_is_enforced(newsletter):
    client = Client(enforce_csrf_checks=True)
    action, config = form_of(render_tag())
    response = client.post(action, {"form": config, "email": "a@example.com"})
    assert response.status_code == 403
    assert not Contact.objects.exists()


def test_forged_or_foreign_form_config_is_refused(
    client, newsletter, django_capture_on_commit_callbacks
):
    private = ContactList.objects.create(name="Staff only")
    action, config = form_of(render_tag())
    with committed(django_capture_on_commit_callbacks):
        tampered = client.post(action, {"form": config[:-2] + "xx", "email": "a@example.com"})
        # A form signed for the newsletter cannot be pointed at another list's URL.
        moved = client.post(
            f"/mailflow/subscribe/{private.pk}/", {"form": config, "email": "a@example.com"}
        )
        missing = client.post(action, {"email": "a@example.com"})
    for response in (tampered, moved, missing):
        assert response.status_code == 400
        assert "This signup form is not valid for this list" in response.content.decode()
    assert not Contact.objects.exists()


def test_list_can_be_named_by_id_in_the_url(client, newsletter, django_capture_on_commit_callbacks):
    with committed(django_capture_on_commit_callbacks):
        response = client.post(
            f"/mailflow/subscribe/{newsletter.pk}/",
            {"form": make_form_config(newsletter), "email": "id@example.com"},
        )
    assert response.status_code == 200
    assert ListMembership.objects.get().contact.email == "id@example.com"


def test_get_is_not_allowed(client, newsletter):
    response = client.get("/mailflow/subscribe/newsletter/")
    assert response.status_code == 405


def test_consent_box_must_be_ticked(client, newsletter, django_capture_on_commit_callbacks):
    html = render_tag('"Newsletter" consent="I agree to receive emails."')
    assert "I agree to receive emails." in html
    response = post(
        client, django_capture_on_commit_callbacks, {"email": "a@example.com"}, html=html
    )
    assert "Tick this box to subscribe." in response.content.decode()
    assert not Contact.objects.exists()
    response = post(
        client,
        django_capture_on_commit_callbacks,
        {"email": "a@example.com", "consent": "on"},
        html=html,
    )
    assert THANKS in response.content.decode()
    assert Contact.objects.filter(email="a@example.com").exists()


def test_typed_property_fields_are_validated(
    client, newsletter, django_capture_on_commit_callbacks
):
    ContactProperty.objects.create(name="points", type="number")
    html = render_tag('"Newsletter" fields="points"')
    response = post(
        client,
        django_capture_on_commit_callbacks,
        {"email": "a@example.com", "points": "many"},
        html=html,
    )
    assert "Enter a number." in response.content.decode()
    assert not Contact.objects.exists()


def test_next_redirects_to_the_sites_own_page_only_on_this_host(
    client, newsletter, django_capture_on_commit_callbacks
):
    html = render_tag('"Newsletter" next="/welcome/"')
    response = post(
        client, django_capture_on_commit_callbacks, {"email": "a@example.com"}, html=html
    )
    assert response.status_code == 303 and response["Location"] == "/welcome/"
    html = render_tag('"Newsletter" next="https://evil.example/"')
    response = post(
        client, django_capture_on_commit_callbacks, {"email": "b@example.com"}, html=html
    )
    assert response.status_code == 200 and THANKS in response.content.decode()


def test_tag_with_unknown_list_or_field(settings, newsletter):
    settings.DEBUG = False
    assert render_tag('"No such list"') == ""
    assert render_tag('"Newsletter" fields="shoe_size"') == ""
    settings.DEBUG = True
    with pytest.raises(TemplateSyntaxError, match="There is no contact list 'No such list'"):
        render_tag('"No such list"')
    with pytest.raises(TemplateSyntaxError, match="'shoe_size' is neither a contact field"):
        render_tag('"Newsletter" fields="shoe_size"')


def test_templates_are_overridable(
    settings, tmp_path, client, newsletter, django_capture_on_commit_callbacks
):
    folder = tmp_path / "wagtail_mailflow" / "subscribe"
    folder.mkdir(parents=True)
    (folder / "thanks.html").write_text("Custom thanks for {{ contact_list.name }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    response = post(client, django_capture_on_commit_callbacks, {"email": "a@example.com"})
    assert response.content.decode() == "Custom thanks for Newsletter"
