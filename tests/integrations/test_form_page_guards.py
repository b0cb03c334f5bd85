"""Signup form pages: the subscribe view's guards (rate limit, honeypot), and the visitors'
answers kept as contacts, not as Wagtail form submissions anyone editing pages can read."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.urls import reverse
from wagtail.contrib.forms.models import FormSubmission
from wagtail.models import GroupPagePermission, Page

from tests.signup_helpers import make_page, submit
from tests.testapp.models import SignupFormPage
from wagtail_mailflow.models import Contact, ContactList
from wagtail_mailflow.privacy import erase_contact
from wagtail_mailflow.rate_limit import FORM_PAGE_HONEYPOT_FIELD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_state")]


@pytest.fixture
def newsletter():
    return ContactList.objects.create(name="Newsletter")


@pytest.fixture
def keep_submissions(monkeypatch):
    monkeypatch.setattr(SignupFormPage, "mailflow_keep_submissions", True)


# -- 13: the same rate limit and honeypot as the subscribe view -------------------------------


def test_twelve_posts_from_one_address_create_at_most_the_limit(
    client, newsletter, settings, django_capture_on_commit_callbacks
):
    # Counted in fixed windows: a day's is never crossed during the test.
    settings.WAGTAIL_MAILFLOW_SUBSCRIBE_RATE = "5/d"
    page = make_page(newsletter)
    statuses = [
        submit(client, page, django_capture_on_commit_callbacks, your_email=f"bot{n}@example.com")[
            0
        ].status_code
        for n in range(12)
    ]
    assert statuses == [200] * 5 + [429] * 7, statuses
    assert Contact.objects.count() == 5
    # The subscribe view counts against the same limit: one budget per visitor.
    assert client.post(f"/mailflow/subscribe/{newsletter.pk}/", {}).status_code in (400, 429)


def test_the_honeypot_is_in_the_form_hidden_and_a_filled_one_stores_nothing(
    client, newsletter, keep_submissions, django_capture_on_commit_callbacks
):
    page = make_page(newsletter, to_address="team@example.com")
    html = client.get(page.url).content.decode()
    assert f'name="{FORM_PAGE_HONEYPOT_FIELD}"' in html
    assert 'aria-hidden="true"' in html and 'tabindex="-1"' in html
    response, _ = submit(
        client,
        page,
        django_capture_on_commit_callbacks,
        your_email="bot@example.com",
        **{FORM_PAGE_HONEYPOT_FIELD: "https://spam.example"},
    )
    assert response.status_code == 200
    assert b"Thank you for signing up" in response.content  # a bot learns nothing
    assert not Contact.objects.exists()
    assert not FormSubmission.objects.exists()
    assert mail.outbox == []
    # A person leaves it empty, and the honeypot is not stored with the answers.
    submit(client, page, django_capture_on_commit_callbacks, your_email="ada@example.com")
    assert Contact.objects.get().email == "ada@example.com"
    assert FORM_PAGE_HONEYPOT_FIELD not in FormSubmission.objects.get().form_data


# -- 12: form submissions of signup pages -------------------------------------------------------


def test_submissions_are_not_kept_by_default(
    client, newsletter, django_capture_on_commit_callbacks
):
    page = make_page(newsletter, to_address="team@example.com")
    response, _ = submit(
        client, page, django_capture_on_commit_callbacks, your_email="ada@example.com"
    )
    assert response.status_code == 200
    assert not FormSubmission.objects.exists()
    assert Contact.objects.get().email == "ada@example.com"
    # The notification email still goes out.
    assert [m.to for m in mail.outbox] == [["team@example.com"]]


def test_erasure_deletes_kept_submissions(
    client, newsletter, keep_submissions, django_capture_on_commit_callbacks
):
    page = make_page(newsletter)
    for email in ("Ada@Example.com", "bob@example.com"):
        submit(client, page, django_capture_on_commit_callbacks, your_email=email)
    assert FormSubmission.objects.count() == 2
    result = erase_contact(Contact.objects.get(email__iexact="ada@example.com"))
    assert result.form_submissions_deleted == 1
    assert [s.form_data["your_email"] for s in FormSubmission.objects.all()] == ["bob@example.com"]


def test_kept_submissions_are_listed_only_to_users_who_may_view_contacts(
    client, django_user_model, newsletter, keep_submissions, django_capture_on_commit_callbacks
):
    page = make_page(newsletter)
    submit(client, page, django_capture_on_commit_callbacks, your_email="ada@example.com")
    editor = django_user_model.objects.create_user("editor", "editor@example.com", "pw")
    group = Group.objects.create(name="Page editors")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    GroupPagePermission.objects.create(
        group=group, page=Page.get_first_root_node(), permission_type="change"
    )
    editor.groups.add(group)
    client.force_login(editor)
    listing = reverse("wagtailforms:list_submissions", args=[page.pk])
    assert client.get(listing).status_code in (302, 403)
    index = client.get(reverse("wagtailforms:index")).content.decode()
    assert "Join us" not in index
    group.permissions.add(Permission.objects.get(codename="view_contact"))
    response = client.get(listing)
    assert response.status_code == 200
    assert "ada@example.com" in response.content.decode()
