"""Erasure keeps the wish, not the person: a do-not-contact record that imports and signups consult."""

import csv
import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import active_workflow
from tests.signup_helpers import committed
from wagtail_mailflow import api
from wagtail_mailflow import contact_import as service
from wagtail_mailflow.engine.exits import suppress, unsubscribe_everywhere
from wagtail_mailflow.models import (
    Contact,
    ContactImport,
    ContactList,
    DoNotContact,
    Enrollment,
    ListMembership,
)
from wagtail_mailflow.privacy import erase_contact, is_do_not_contact
from wagtail_mailflow.signup import confirm, subscribe_visitor

pytestmark = pytest.mark.django_db

EMAIL = "Ada.Lovelace@Example.com"


@pytest.fixture
def newsletter():
    return ContactList.objects.create(name="Newsletter")


def erased_after_unsubscribing(contact_list):
    contact, _m, _j = api.subscribe(EMAIL, contact_list)
    unsubscribe_everywhere(contact)
    erase_contact(contact)
    return contact


def test_erasing_an_unsubscribed_contact_keeps_a_record_without_personal_data(newsletter):
    erased_after_unsubscribing(newsletter)
    record = DoNotContact.objects.get()
    assert record.reason == DoNotContact.Reason.UNSUBSCRIBED
    assert len(record.address_hash) == 64
    stored = " ".join(str(v) for v in DoNotContact.objects.values_list().get()).lower()
    assert "lovelace" not in stored and "example" not in stored
    assert Contact.objects.count() == 0
    # Found whatever the case of the address.
    assert is_do_not_contact("ada.lovelace@example.com") == record
    assert is_do_not_contact(" ADA.LOVELACE@EXAMPLE.COM ") == record
    assert is_do_not_contact("someone@example.com") is None


def test_erasing_a_suppressed_contact_keeps_a_record(newsletter):
    contact, _m, _j = api.subscribe(EMAIL, newsletter)
    suppress(contact, reason=Contact.SuppressionReason.HARD_BOUNCE)
    erase_contact(contact)
    assert DoNotContact.objects.get().reason == DoNotContact.Reason.SUPPRESSED


def test_erasing_a_subscribed_contact_keeps_nothing(newsletter):
    contact, _m, _j = api.subscribe(EMAIL, newsletter)
    erase_contact(contact)
    assert DoNotContact.objects.count() == 0


def test_the_record_survives_a_key_rotation(settings, newsletter):
    erased_after_unsubscribing(newsletter)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key"
    assert is_do_not_contact(EMAIL) is not None
    settings.SECRET_KEY_FALLBACKS = []
    assert is_do_not_contact(EMAIL) is None  # the hash is keyed: a new key finds nothing


def test_an_import_skips_an_erased_address_with_a_reason(newsletter):
    erased_after_unsubscribing(newsletter)
    data = b"email\nada.lovelace@example.com\nnew@example.com\n"
    delimiter, headers, _count = service.inspect_file(io.BytesIO(data), "utf-8")
    problems = io.StringIO()
    result = service.import_csv(
        io.BytesIO(data),
        contact_list=newsletter,
        headers=headers,
        mapping=service.propose_mapping(headers),
        delimiter=delimiter,
        problems_file=problems,
    )
    assert (result.created, result.skipped, result.joined) == (1, 1, 1)
    assert list(Contact.objects.values_list("email", flat=True)) == ["new@example.com"]
    rows = list(csv.reader(io.StringIO(problems.getvalue())))[1:]
    assert [(row[0], row[1]) for row in rows] == [("2", "ada.lovelace@example.com")]
    assert "erased after it unsubscribed or bounced" in rows[0][3]


def test_a_signup_of_an_erased_address_mails_nothing_until_confirmed(newsletter):
    erased_after_unsubscribing(newsletter)
    workflow = active_workflow(contact_list=newsletter, delays=((0, "days"),))
    contact, membership, joined = api.subscribe(EMAIL, newsletter, source="form")
    assert joined is False
    assert contact.unsubscribed_at is not None
    assert contact.consent_at is None
    assert membership.left_at is None
    assert not Enrollment.objects.filter(workflow=workflow).exists()
    assert DoNotContact.objects.count() == 1

    # The mailbox confirmed (signup.confirm lifts the unsubscribe, then subscribes confirmed).
    Contact.objects.filter(pk=contact.pk).update(unsubscribed_at=None)
    contact, membership, joined = api.subscribe(EMAIL, newsletter, source="form", confirmed=True)
    assert joined is True
    assert Enrollment.objects.filter(workflow=workflow, contact=contact).count() == 1
    assert DoNotContact.objects.count() == 0


def test_erasure_removes_the_address_from_import_problems(settings, newsletter):
    settings.WAGTAIL_MAILFLOW_IMPORT_ASYNC_BYTES = None
    api.subscribe(EMAIL, newsletter)
    unsubscribe_everywhere(Contact.objects.get())
    data = b"email\nAda.Lovelace@example.com\nada.lovelace@EXAMPLE.com\nother@example.com\n"
    job = service.create_job(
        SimpleUploadedFile("c.csv", data), contact_list=newsletter, encoding="utf-8"
    )
    job = service.start_job(job)
    assert job.status == ContactImport.Status.DONE
    assert job.skipped_count == 1 and job.invalid_count == 1

    def mentions(job):
        job.refresh_from_db()
        with job.errors_file.open("rb") as stored:
            text = stored.read().decode("utf-8-sig")
        return (
            "lovelace" in text.lower(),
            "lovelace" in str(job.issues).lower(),
            text.count("[erased]"),
        )

    assert mentions(job) == (True, True, 0)
    erase_contact(Contact.objects.get(email__iexact=EMAIL))
    assert mentions(job) == (False, False, 2)
    assert ListMembership.objects.filter(contact__email="other@example.com").exists()


@pytest.mark.usefixtures("signup_state")
def test_a_public_signup_of_an_erased_address_sends_a_confirmation_and_joins_only_on_it(
    newsletter, django_capture_on_commit_callbacks
):
    welcome = active_workflow(contact_list=newsletter)
    erased_after_unsubscribing(newsletter)
    mail.outbox.clear()

    with committed(django_capture_on_commit_callbacks):
        signup = subscribe_visitor(EMAIL, newsletter, source="form")

    assert [m.to for m in mail.outbox] == [["Ada.Lovelace@example.com"]]
    assert "confirm" in mail.outbox[0].body.lower()
    assert signup.contact.unsubscribed_at is not None
    assert not Enrollment.objects.filter(workflow=welcome, contact=signup.contact).exists()

    confirm(signup.contact, newsletter)
    assert Enrollment.objects.filter(workflow=welcome, contact=signup.contact).count() == 1
    assert is_do_not_contact(EMAIL) is None
