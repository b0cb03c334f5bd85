"""Wagtail form pages with MailflowSignupFormMixin: submissions subscribe, settings checked at save."""

import logging

import pytest
from django.core import mail
from django.urls import reverse
from wagtail.contrib.forms.models import FormSubmission
from wagtail.models import Page
from wagtail.test.utils.form_data import inline_formset, nested_form_data

from tests.factories import active_workflow
from tests.signup_helpers import committed, home, make_page, submit
from tests.testapp.models import SignupFormPage
from wagtail_mailflow.forms import MailflowSignupFormMixin
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    Enrollment,
    ListMembership,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_state")]


@pytest.fixture
def logged():
    """What the signup code logs (the suite runs with pytest's logging plugin off)."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect(level=logging.DEBUG)
    for name in ("wagtail_mailflow.signup", "wagtail_mailflow.integrations.form_pages"):
        logging.getLogger(name).addHandler(handler)
    yield records
    for name in ("wagtail_mailflow.signup", "wagtail_mailflow.integrations.form_pages"):
        logging.getLogger(name).removeHandler(handler)


@pytest.fixture
def newsletter():
    return ContactList.objects.create(name="Newsletter")


@pytest.fixture
def welcome(newsletter):
    return active_workflow(delays=((0, "days"),), contact_list=newsletter)


@pytest.fixture
def properties():
    ContactProperty.objects.create(name="city", type="text")
    ContactProperty.objects.create(name="points", type="number")


MAPPINGS = [("First name", "first_name"), ("city", "city"), ("Points", "points")]


def test_the_mixin_is_importable_from_a_short_path():
    assert issubclass(SignupFormPage, MailflowSignupFormMixin)
    # Cooperative: the mixin comes first and Wagtail's own process_form_submission still runs.
    assert SignupFormPage.__mro__.index(MailflowSignupFormMixin) < SignupFormPage.__mro__.index(
        Page
    )


def test_submission_subscribes_on_commit_with_mapped_fields_and_welcome_email(
    client, newsletter, welcome, properties, django_capture_on_commit_callbacks
):
    page = make_page(newsletter, mappings=MAPPINGS, to_address="team@example.com")
    response, callbacks = submit(
        client,
        page,
        django_capture_on_commit_callbacks,
        execute=False,
        your_email="Ada@Example.COM",
        first_name="Ada",
        city="London",
        points="12",
    )
    assert response.status_code == 200
    assert b"Thank you for signing up" in response.content
    # Not kept by default (the signup is a contact), the notification sent, nobody subscribed yet.
    assert not FormSubmission.objects.exists()
    assert [m.to for m in mail.outbox] == [["team@example.com"]]
    assert not Contact.objects.exists()

    with committed(django_capture_on_commit_callbacks):  # the commit
        for callback in callbacks:
            callback()

    contact = Contact.objects.get()
    assert contact.email == "Ada@example.com"
    assert contact.first_name == "Ada"
    assert contact.properties == {"city": "London", "points": 12}
    membership = ListMembership.objects.get(contact=contact)
    assert membership.contact_list == newsletter
    assert membership.source == ListMembership.Source.FORM
    assert membership.source_detail == f"Join us (page {page.pk})"
    assert contact.consent_source == f"form:Join us (page {page.pk})"
    assert Enrollment.objects.get(contact=contact).workflow == welcome
    assert [m.subject for m in mail.outbox] == ["New signup", "Hello Ada"]
    assert mail.outbox[1].to == ["Ada@example.com"]


def test_bad_property_value_is_skipped_with_a_warning_not_an_error(
    client, newsletter, welcome, properties, logged, django_capture_on_commit_callbacks
):
    page = make_page(newsletter, mappings=MAPPINGS)
    response, _ = submit(
        client,
        page,
        django_capture_on_commit_callbacks,
        your_email="bob@example.com",
        city="Paris",
        points="lots",
    )
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert contact.properties == {"city": "Paris"}
    assert ListMembership.objects.filter(contact=contact, contact_list=newsletter).exists()
    assert any("points" in r.getMessage() for r in logged if r.levelno == logging.WARNING)


def test_mapping_to_a_deleted_property_still_subscribes(
    client, newsletter, welcome, properties, django_capture_on_commit_callbacks
):
    page = make_page(newsletter, mappings=MAPPINGS)
    ContactProperty.objects.filter(name="city").delete()
    submit(
        client,
        page,
        django_capture_on_commit_callbacks,
        your_email="eve@example.com",
        city="Rome",
        points="3",
    )
    assert Contact.objects.get().properties == {"points": 3}


def test_consent_checkbox_must_be_ticked(
    client, newsletter, welcome, django_capture_on_commit_callbacks
):
    page = make_page(newsletter, consent_field="I agree to receive the newsletter")
    response, _ = submit(
        client, page, django_capture_on_commit_callbacks, your_email="no@example.com"
    )
    assert b"Thank you for signing up" in response.content  # the form itself was accepted
    assert not Contact.objects.exists()
    submit(
        client,
        page,
        django_capture_on_commit_callbacks,
        your_email="yes@example.com",
        i_agree_to_receive_the_newsletter="on",
    )
    assert list(Contact.objects.values_list("email", flat=True)) == ["yes@example.com"]


def test_text_field_chosen_for_the_address_is_validated_for_the_visitor(
    client, newsletter, django_capture_on_commit_callbacks
):
    page = make_page(newsletter, email_field="City")
    response, _ = submit(
        client, page, django_capture_on_commit_callbacks, your_email="a@example.com", city="Paris"
    )
    assert response.status_code == 200
    assert b"Enter a valid email address" in response.content
    assert not FormSubmission.objects.exists() and not Contact.objects.exists()


def test_page_without_a_list_subscribes_nobody(client, django_capture_on_commit_callbacks):
    page = make_page(None)
    response, callbacks = submit(
        client, page, django_capture_on_commit_callbacks, your_email="a@example.com"
    )
    assert response.status_code == 200 and callbacks == []
    assert not Contact.objects.exists()


def test_double_opt_in_list_sends_confirmation_instead_of_welcome(
    client, django_capture_on_commit_callbacks
):
    doi = ContactList.objects.create(name="Letters", double_opt_in=True)
    active_workflow(delays=((0, "days"),), contact_list=doi)
    page = make_page(doi)
    submit(client, page, django_capture_on_commit_callbacks, your_email="c@example.com")
    membership = ListMembership.objects.get()
    assert membership.confirmed_at is None and membership.source == ListMembership.Source.FORM
    assert not Enrollment.objects.exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Please confirm your subscription to Letters"
    assert "/mailflow/confirm/" in mail.outbox[0].body
    assert Contact.objects.get().consent_at is None  # consent comes with the confirmation


# -- editor validation at save ------------------------------------------------------------


def page_form_data(**overrides):
    data = {
        "title": "Sign up",
        "slug": "sign-up",
        "to_address": "",
        "mailflow_list": "",
        "mailflow_email_field": "",
        "mailflow_consent_field": "",
        "form_fields": inline_formset(
            [
                {"label": "Email address", "field_type": "email", "required": "on"},
                {"label": "Given name", "field_type": "singleline"},
                {"label": "Terms", "field_type": "checkbox"},
            ]
        ),
        "mailflow_field_mappings": inline_formset([]),
        "comments": inline_formset([]),
    }
    data.update(overrides)
    return nested_form_data(data)


def add_page(admin_client, **overrides):
    parent = home()
    url = reverse("wagtailadmin_pages:add", args=("testapp", "signupformpage", parent.pk))
    return admin_client.post(url, page_form_data(**overrides))


def errors_of(response):
    form = response.context["form"]
    rows = form.formsets["mailflow_field_mappings"].forms
    return form.errors, [row.errors for row in rows]


def test_admin_saves_a_valid_signup_page(admin_client, newsletter, properties):
    response = add_page(
        admin_client,
        mailflow_list=newsletter.pk,
        mailflow_email_field="Email address",
        mailflow_consent_field="terms",
        mailflow_field_mappings=inline_formset(
            [
                {"form_field": "Given name", "contact_field": "first_name"},
                {"form_field": "given_name", "contact_field": "city"},
            ]
        ),
    )
    assert response.status_code == 302, errors_of(response)
    page = SignupFormPage.objects.get(slug="sign-up")
    assert page.mailflow_list == newsletter
    assert [(m.form_field, m.contact_field) for m in page.mailflow_field_mappings.all()] == [
        ("Given name", "first_name"),
        ("given_name", "city"),
    ]


def test_admin_refuses_an_email_field_the_form_does_not_have(admin_client, newsletter):
    response = add_page(admin_client, mailflow_list=newsletter.pk, mailflow_email_field="mail")
    assert response.status_code == 200
    errors, _rows = errors_of(response)
    message = errors["mailflow_email_field"][0]
    assert "There is no form field 'mail'" in message and "email_address" in message
    assert not SignupFormPage.objects.filter(slug="sign-up").exists()


def test_admin_refuses_a_non_text_email_field_and_a_non_checkbox_consent(admin_client, newsletter):
    response = add_page(
        admin_client,
        mailflow_list=newsletter.pk,
        mailflow_email_field="Terms",
        mailflow_consent_field="Given name",
    )
    errors, _rows = errors_of(response)
    assert "must be an 'Email' or 'Single line text' field" in errors["mailflow_email_field"][0]
    assert "must be a 'Checkbox' field" in errors["mailflow_consent_field"][0]


def test_admin_needs_an_email_type_field_when_none_is_named(admin_client, newsletter):
    response = add_page(
        admin_client,
        mailflow_list=newsletter.pk,
        form_fields=inline_formset([{"label": "Name", "field_type": "singleline"}]),
    )
    errors, _rows = errors_of(response)
    assert "Add a form field of type 'Email'" in errors["mailflow_email_field"][0]


def test_admin_refuses_mapping_rows_that_point_nowhere(admin_client, newsletter, properties):
    response = add_page(
        admin_client,
        mailflow_list=newsletter.pk,
        mailflow_field_mappings=inline_formset(
            [
                {"form_field": "Surname", "contact_field": "last_name"},
                {"form_field": "Given name", "contact_field": "shoe_size"},
            ]
        ),
    )
    assert response.status_code == 200
    _errors, rows = errors_of(response)
    assert "There is no form field 'Surname'" in rows[0]["form_field"][0]
    assert (
        "'shoe_size' is neither a contact field nor a contact property"
        in (rows[1]["contact_field"][0])
    )


def test_admin_checks_against_fields_added_in_the_same_edit(admin_client, newsletter):
    response = add_page(
        admin_client,
        mailflow_list=newsletter.pk,
        mailflow_email_field="Work email",
        form_fields=inline_formset([{"label": "Work email", "field_type": "email"}]),
    )
    assert response.status_code == 302, errors_of(response)


def test_admin_offers_contact_fields_and_properties_as_targets(admin_client, properties):
    url = reverse("wagtailadmin_pages:add", args=("testapp", "signupformpage", home().pk))
    response = admin_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="first_name"' in html and 'value="city"' in html
