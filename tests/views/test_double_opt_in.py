"""Double opt-in: a confirmation email with a signed, expiring link; only confirmed contacts enter."""

import re
import time
from unittest import mock

import pytest
from django.core import mail
from django.test import Client

from tests.factories import active_workflow
from tests.signup_helpers import committed
from wagtail_mailflow.api import subscribe
from wagtail_mailflow.engine.exits import suppress, unsubscribe_everywhere
from wagtail_mailflow.models import Contact, ContactList, Enrollment, ListMembership
from wagtail_mailflow.subscribe_form import make_form_config
from wagtail_mailflow.tokens import (
    ExpiredToken,
    InvalidConfirmToken,
    make_confirm_token,
    make_token,
    read_confirm_token,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_state")]

LINK = re.compile(r"https?://[^/\s]+(/mailflow/confirm/[^/\s]+/)")


@pytest.fixture
def letters():
    return ContactList.objects.create(name="Letters", double_opt_in=True)


@pytest.fixture
def welcome(letters):
    return active_workflow(delays=((0, "days"),), contact_list=letters)


def sign_up(client, capture, contact_list, email="ada@example.com", **extra):
    with committed(capture):
        return client.post(
            f"/mailflow/subscribe/{contact_list.pk}/",
            {"form": make_form_config(contact_list), "email": email},
            **extra,
        )


def confirm_path_in(message):
    return LINK.search(message.body)[1]


def test_signup_sends_a_confirmation_and_nothing_else(
    client, letters, welcome, django_capture_on_commit_callbacks
):
    response = sign_up(client, django_capture_on_commit_callbacks, letters)
    assert "we have sent you an email to confirm" in response.content.decode()
    membership = ListMembership.objects.get()
    assert membership.confirmed_at is None and not membership.is_subscribed
    contact = membership.contact
    assert contact.consent_at is None and contact.consent_source == ""
    assert not Enrollment.objects.exists()  # the engine refuses unconfirmed members
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == "Please confirm your subscription to Letters"
    assert message.from_email  # the site's sender
    html = message.alternatives[0][0]
    path = confirm_path_in(message)
    assert message.body.count(path) == 1 and path in html
    assert message.body.startswith("Hello,") and "valid for 7 days" in message.body
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" not in message.extra_headers


def test_get_shows_a_button_and_changes_nothing_post_confirms_and_welcomes(
    client, letters, welcome, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks, letters)
    path = confirm_path_in(mail.outbox[0])

    for _ in range(2):  # a mail scanner following the link, then the person
        response = client.get(path)
        assert response.status_code == 200
        assert "Yes, subscribe me" in response.content.decode()
        assert "a•••@example.com" in response.content.decode()
    assert response["Cache-Control"] == "no-store, private"
    assert ListMembership.objects.get().confirmed_at is None
    assert not Enrollment.objects.exists() and len(mail.outbox) == 1

    with committed(django_capture_on_commit_callbacks):
        response = client.post(path, {"action": "confirm"})
    assert response.status_code == 200
    assert "You are now subscribed to <strong>Letters</strong>" in response.content.decode()
    membership = ListMembership.objects.get()
    assert membership.confirmed_at is not None and membership.is_subscribed
    contact = Contact.objects.get()
    assert contact.consent_at == membership.confirmed_at
    assert contact.consent_source == f"double-opt-in:subscribe:/mailflow/subscribe/{letters.pk}/"
    assert Enrollment.objects.get().workflow == welcome
    assert [m.subject for m in mail.outbox][1:] == ["Hello there"]

    # Confirming again is harmless: no second enrollment, no second email.
    with committed(django_capture_on_commit_callbacks):
        response = client.post(path, {"action": "confirm"})
    assert "already confirmed" in response.content.decode()
    assert Enrollment.objects.count() == 1 and len(mail.outbox) == 2


def test_confirm_post_needs_csrf(letters, django_capture_on_commit_callbacks):
    subscribe("ada@example.com", letters)
    contact = Contact.objects.get()
    path = f"/mailflow/confirm/{make_confirm_token(contact.pk, letters.pk)}/"
    response = Client(enforce_csrf_checks=True).post(path)
    assert response.status_code == 403
    assert ListMembership.objects.get().confirmed_at is None


def test_signing_up_again_resends_until_confirmed(
    client, letters, welcome, django_capture_on_commit_callbacks
):
    first = sign_up(client, django_capture_on_commit_callbacks, letters)
    again = sign_up(client, django_capture_on_commit_callbacks, letters)
    assert first.content == again.content
    assert len(mail.outbox) == 2
    with committed(django_capture_on_commit_callbacks):
        assert client.post(confirm_path_in(mail.outbox[1])).status_code == 200
    assert len(mail.outbox) == 3  # the welcome email
    third = sign_up(client, django_capture_on_commit_callbacks, letters)
    assert third.content == first.content
    assert len(mail.outbox) == 3  # confirmed: no more confirmation emails
    assert Enrollment.objects.count() == 1


def test_suppressed_address_gets_no_confirmation_but_the_same_answer(
    client, letters, django_capture_on_commit_callbacks
):
    fresh = sign_up(client, django_capture_on_commit_callbacks, letters, email="new@example.com")
    mail.outbox.clear()
    contact = subscribe("bounced@example.com", ContactList.objects.create(name="Other"))[0]
    suppress(contact, Contact.SuppressionReason.HARD_BOUNCE)
    response = sign_up(
        client, django_capture_on_commit_callbacks, letters, email="bounced@example.com"
    )
    assert response.content == fresh.content
    assert mail.outbox == []


def test_confirming_lifts_an_earlier_unsubscribe_everywhere(
    client, letters, welcome, django_capture_on_commit_callbacks
):
    contact = subscribe("ada@example.com", ContactList.objects.create(name="Old"))[0]
    unsubscribe_everywhere(contact, source="link")
    sign_up(client, django_capture_on_commit_callbacks, letters)
    with committed(django_capture_on_commit_callbacks):
        assert client.post(confirm_path_in(mail.outbox[0])).status_code == 200
    contact.refresh_from_db()
    assert contact.unsubscribed_at is None
    assert Enrollment.objects.get(contact=contact).workflow == welcome


def test_expired_link_says_so_and_offers_a_new_one(
    client, letters, welcome, django_capture_on_commit_callbacks
):
    subscribe("ada@example.com", letters)
    contact = Contact.objects.get()
    eight_days_ago = time.time() - 8 * 86400
    with mock.patch("django.core.signing.time.time", return_value=eight_days_ago):
        token = make_confirm_token(contact.pk, letters.pk, "en")
    with pytest.raises(ExpiredToken):
        read_confirm_token(token)
    path = f"/mailflow/confirm/{token}/"

    response = client.get(path)
    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has expired" in html and "Send me a new link" in html
    response = client.post(path, {"action": "confirm"})  # an old page's button
    assert response.status_code == 410
    assert ListMembership.objects.get().confirmed_at is None

    response = client.post(path, {"action": "resend"})
    assert response.status_code == 200
    assert "We have sent a new confirmation link to a•••@example.com" in response.content.decode()
    assert len(mail.outbox) == 1
    new_path = confirm_path_in(mail.outbox[0])
    assert new_path != path
    with committed(django_capture_on_commit_callbacks):
        assert client.post(new_path).status_code == 200
    assert ListMembership.objects.get().confirmed_at is not None
    assert Enrollment.objects.count() == 1


def test_max_age_setting_is_honoured(settings, letters):
    subscribe("ada@example.com", letters)
    contact = Contact.objects.get()
    two_hours_ago = time.time() - 7200
    with mock.patch("django.core.signing.time.time", return_value=two_hours_ago):
        token = make_confirm_token(contact.pk, letters.pk)
    assert read_confirm_token(token).contact_id == contact.pk
    settings.WAGTAIL_MAILFLOW_CONFIRM_MAX_AGE = 3600
    with pytest.raises(ExpiredToken):
        read_confirm_token(token)


def test_forged_links_answer_400_with_a_reason(client, letters):
    subscribe("ada@example.com", letters)
    contact = Contact.objects.get()
    token = make_confirm_token(contact.pk, letters.pk)
    value, _sep, signature = token.rpartition(".")
    other = make_confirm_token(contact.pk + 1, letters.pk)
    forged = [
        token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"),  # altered signature
        other.rpartition(".")[0].replace(str(contact.pk + 1), str(contact.pk), 1)
        + "."
        + other.rpartition(".")[2],  # another contact's signature on this value
        make_token(contact.pk, letters.pk),  # an unsubscribe token: another salt
        "garbage",
    ]
    for bad in forged:
        with pytest.raises(InvalidConfirmToken):
            read_confirm_token(bad)
        response = client.get(f"/mailflow/confirm/{bad}/")
        assert response.status_code == 400, bad
        assert "The confirmation link is invalid or was altered." in response.content.decode()
        assert client.post(f"/mailflow/confirm/{bad}/").status_code == 400
    assert ListMembership.objects.get().confirmed_at is None


def test_link_of_a_membership_that_ended_answers_410(client, letters):
    subscribe("ada@example.com", letters)
    contact = Contact.objects.get()
    path = f"/mailflow/confirm/{make_confirm_token(contact.pk, letters.pk)}/"
    ListMembership.objects.all().delete()
    response = client.get(path)
    assert response.status_code == 410
    assert "This subscription no longer exists" in response.content.decode()


def test_confirmation_in_the_visitors_language(client, letters, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks, letters, HTTP_ACCEPT_LANGUAGE="fr")
    path = confirm_path_in(mail.outbox[0])
    assert read_confirm_token(path.split("/")[-2]).language == "fr"
    # The page is shown in that language whatever the browser says.
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="fr">' in response.content.decode()


def test_only_confirmed_contacts_enter_workflows_end_to_end(
    client, letters, welcome, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks, letters, email="yes@example.com")
    sign_up(client, django_capture_on_commit_callbacks, letters, email="no@example.com")
    yes_path = next(confirm_path_in(m) for m in mail.outbox if m.to == ["yes@example.com"])
    with committed(django_capture_on_commit_callbacks):
        assert client.post(yes_path).status_code == 200
    # A later sweep does not sweep in the one who never confirmed.
    from wagtail_mailflow.engine.tasks import dispatch

    dispatch()
    assert list(Enrollment.objects.values_list("contact__email", flat=True)) == ["yes@example.com"]
    welcome_emails = [m.to for m in mail.outbox if m.subject.startswith("Hello")]
    assert welcome_emails == [["yes@example.com"]]
