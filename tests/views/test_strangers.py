"""A visitor is a stranger until the mailbox answers: a signup for a known address fills only
what is missing, never undoes an unsubscribe without a confirmed link, and confirmation links
never take their host from the request."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from wagtail.models import Site

from tests.factories import active_workflow
from tests.signup_helpers import committed
from wagtail_mailflow.api import subscribe
from wagtail_mailflow.engine.exits import unsubscribe_everywhere, unsubscribe_from_list
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    Enrollment,
    ListMembership,
)
from wagtail_mailflow.subscribe_form import make_form_config

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_state")]

LINK = re.compile(r"(https?://[^/\s]+)(/mailflow/confirm/[^/\s]+/)")


@pytest.fixture
def news():
    return ContactList.objects.create(name="News")


@pytest.fixture
def letters():
    return ContactList.objects.create(name="Letters", double_opt_in=True)


def sign_up(client, capture, contact_list, email="ada@example.com", fields=(), **data):
    with committed(capture):
        return client.post(
            f"/mailflow/subscribe/{contact_list.pk}/",
            {"form": make_form_config(contact_list, fields=fields), "email": email, **data},
        )


def confirm_link(message):
    return LINK.search(message.body)


def confirm_by_link(client, capture, message):
    path = confirm_link(message)[2]
    with committed(capture):
        return client.post(path)


# -- 14: what a stranger may change ------------------------------------------------------------


def test_a_signup_fills_what_is_missing_and_changes_nothing_set(
    client, news, django_capture_on_commit_callbacks
):
    ContactProperty.objects.create(name="city", type="text")
    ContactProperty.objects.create(name="points", type="number")
    subscribe("ada@example.com", news, first_name="Ada", properties={"city": "London"})
    response = sign_up(
        client,
        django_capture_on_commit_callbacks,
        news,
        fields=["first_name", "last_name", "city", "points"],
        first_name="Mallory",
        last_name="Lovelace",
        city="Paris",
        points="3",
    )
    assert response.status_code == 200
    ada = Contact.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assert ada.properties == {"city": "London", "points": 3}


def test_a_signup_never_undoes_a_list_unsubscribe_without_the_mailbox(
    client, news, django_capture_on_commit_callbacks
):
    welcome = active_workflow(delays=((0, "days"),), contact_list=news)
    ada, membership, _joined = subscribe("ada@example.com", news, first_name="Ada")
    Enrollment.objects.all().delete()
    unsubscribe_from_list(ada, news)
    mail.outbox.clear()
    stranger = sign_up(client, django_capture_on_commit_callbacks, news)
    fresh = sign_up(client, django_capture_on_commit_callbacks, news, email="new@example.com")
    # The same page as anyone's: it tells nobody who unsubscribed.
    assert stranger.status_code == fresh.status_code == 200
    assert stranger.content == fresh.content
    membership.refresh_from_db()
    assert membership.left_at is not None
    assert not Enrollment.objects.filter(contact=ada).exists()
    # An email IS sent to the address, asking for confirmation.
    (message,) = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert "confirm" in message.subject.lower()
    response = confirm_by_link(client, django_capture_on_commit_callbacks, message)
    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.left_at is None and membership.confirmed_at is not None
    assert Enrollment.objects.filter(contact=ada, workflow=welcome).count() == 1


def test_an_address_unsubscribed_from_everything_gets_an_email_and_rejoins_on_confirmation(
    client, letters, django_capture_on_commit_callbacks
):
    ada, _m, _j = subscribe("ada@example.com", letters, confirmed=True)
    unsubscribe_everywhere(ada)
    mail.outbox.clear()
    response = sign_up(client, django_capture_on_commit_callbacks, letters)
    assert "we have sent you an email to confirm" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    ada.refresh_from_db()
    assert ada.unsubscribed_at is not None
    assert ListMembership.objects.get(contact=ada).left_at is not None
    confirm_by_link(client, django_capture_on_commit_callbacks, mail.outbox[0])
    ada.refresh_from_db()
    assert ada.unsubscribed_at is None
    assert ListMembership.objects.get(contact=ada).is_subscribed


def test_unsubscribed_from_everything_and_a_new_list_waits_for_the_mailbox(
    client, news, letters, django_capture_on_commit_callbacks
):
    welcome = active_workflow(delays=((0, "days"),), contact_list=news)
    ada, _m, _j = subscribe("ada@example.com", letters, confirmed=True)
    unsubscribe_everywhere(ada)
    mail.outbox.clear()
    sign_up(client, django_capture_on_commit_callbacks, news)
    assert not Enrollment.objects.filter(contact=ada).exists()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    ada.refresh_from_db()
    assert ada.unsubscribed_at is not None
    confirm_by_link(client, django_capture_on_commit_callbacks, mail.outbox[0])
    assert Enrollment.objects.filter(contact=ada, workflow=welcome).count() == 1
    # Only the list signed up to: the earlier one stays left.
    assert ListMembership.objects.get(contact=ada, contact_list=letters).left_at is not None


def test_an_old_confirmation_link_does_not_undo_a_later_unsubscribe(
    client, letters, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks, letters)
    (message,) = mail.outbox
    confirm_by_link(client, django_capture_on_commit_callbacks, message)
    ada = Contact.objects.get()
    # Links are stamped in whole seconds: the unsubscribe comes two seconds after this one.
    unsubscribe_everywhere(ada, now=timezone.now() + datetime.timedelta(seconds=2))
    response = confirm_by_link(client, django_capture_on_commit_callbacks, message)
    assert response.status_code == 410
    ada.refresh_from_db()
    assert ada.unsubscribed_at is not None
    assert ListMembership.objects.get().left_at is not None


# -- 15: the subject is text, not HTML ---------------------------------------------------------


def test_the_confirmation_subject_is_not_html_escaped(client, django_capture_on_commit_callbacks):
    offers = ContactList.objects.create(name="News & <offers>", double_opt_in=True)
    sign_up(client, django_capture_on_commit_callbacks, offers)
    (message,) = mail.outbox
    assert message.subject == "Please confirm your subscription to News & <offers>"


# -- 17: the link's host is never the request's -------------------------------------------------


@pytest.mark.parametrize("configured", ["https://news.example.org", ""])
def test_the_confirmation_link_never_takes_the_request_host(
    client, letters, settings, django_capture_on_commit_callbacks, configured
):
    settings.WAGTAILADMIN_BASE_URL = configured
    settings.WAGTAIL_MAILFLOW_BASE_URL = None
    site = Site.objects.get(is_default_site=True)
    with committed(django_capture_on_commit_callbacks):
        client.post(
            f"/mailflow/subscribe/{letters.pk}/",
            {"form": make_form_config(letters), "email": "ada@example.com"},
            HTTP_HOST="evil.example",
        )
    (message,) = mail.outbox
    host = confirm_link(message)[1]
    assert "evil.example" not in message.body
    assert host == (configured or site.root_url)
