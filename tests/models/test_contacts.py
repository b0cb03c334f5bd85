"""Contacts: case-insensitive unique addresses and typed, validated properties."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    ListMembership,
    clean_properties,
    coerce_value,
    normalize_email,
)

T = ContactProperty.Type


def test_normalize_email_lowercases_domain_only():
    assert normalize_email("  Ann.Lee@Example.COM ") == "Ann.Lee@example.com"
    assert normalize_email("not-an-address") == "not-an-address"


@pytest.mark.django_db
def test_email_is_unique_whatever_its_case():
    Contact.objects.create(email="ann@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(email="ANN@example.com")
    assert Contact.objects.get_by_email("Ann@EXAMPLE.com").email == "ann@example.com"


@pytest.mark.django_db
def test_full_clean_reports_duplicate_address_in_words():
    Contact.objects.create(email="ann@example.com")
    with pytest.raises(ValidationError) as excinfo:
        Contact(email="Ann@Example.com").full_clean()
    assert "already exists" in str(excinfo.value)


@pytest.mark.parametrize(
    ("type_", "raw", "expected"),
    [
        (T.TEXT, "Paris", "Paris"),
        (T.TEXT, 12, "12"),
        (T.NUMBER, "12", 12),
        (T.NUMBER, "12,5", 12.5),
        (T.NUMBER, 3.0, 3),
        (T.NUMBER, "-0.25", -0.25),
        (T.NUMBER, "", None),
        (T.BOOLEAN, "yes", True),
        (T.BOOLEAN, "Non", False),
        (T.BOOLEAN, 1, True),
        (T.BOOLEAN, False, False),
        (T.DATE, "2024-02-29", "2024-02-29"),
        (T.DATE, datetime.date(2020, 1, 31), "2020-01-31"),
        (T.DATE, datetime.datetime(2020, 1, 31, 23, 0), "2020-01-31"),
        (T.DATE, None, None),
    ],
)
def test_coerce_value(type_, raw, expected):
    value = coerce_value(type_, raw, "p")
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("type_", "raw", "message"),
    [
        (T.NUMBER, "twelve", "not a number"),
        (T.NUMBER, "nan", "not a number"),
        (T.NUMBER, True, "expected a number"),
        (T.BOOLEAN, "maybe", "yes/no"),
        (T.DATE, "2023-02-29", "not a date"),
        (T.DATE, "31/01/2020", "not a date"),
        (T.TEXT, {"a": 1}, "expected text"),
    ],
)
def test_coerce_value_refuses_with_a_clear_message(type_, raw, message):
    with pytest.raises(ValidationError) as excinfo:
        coerce_value(type_, raw, "points")
    assert message in excinfo.value.messages[0]
    assert excinfo.value.messages[0].startswith("points")


@pytest.mark.django_db
def test_clean_properties_collects_every_error():
    ContactProperty.objects.create(name="points", type=T.NUMBER)
    ContactProperty.objects.create(name="birthday", type=T.DATE)
    with pytest.raises(ValidationError) as excinfo:
        clean_properties({"points": "lots", "birthday": "soon", "shoe_size": 42})
    messages = excinfo.value.messages
    assert len(messages) == 3
    assert any("Unknown contact property 'shoe_size'" in m for m in messages)


@pytest.mark.django_db
def test_contact_full_clean_coerces_properties():
    ContactProperty.objects.create(name="points", type=T.NUMBER)
    ContactProperty.objects.create(name="vip", type=T.BOOLEAN)
    contact = Contact(email="bob@example.com", properties={"points": "10", "vip": "oui"})
    contact.full_clean()
    assert contact.properties == {"points": 10, "vip": True}


@pytest.mark.parametrize("name", ["City", "2fast", "email", "unsubscribe_url", "a-b", ""])
def test_property_names_are_validated(name):
    with pytest.raises(ValidationError):
        ContactProperty(name=name, type=T.TEXT).clean_fields()


@pytest.mark.django_db
def test_membership_subscribed_respects_double_opt_in_and_leaving():
    contact = Contact.objects.create(email="c@example.com")
    simple = ContactList.objects.create(name="Simple")
    confirmed = ContactList.objects.create(name="Confirmed", double_opt_in=True)
    m1 = ListMembership.objects.create(contact=contact, contact_list=simple)
    m2 = ListMembership.objects.create(contact=contact, contact_list=confirmed)
    assert m1.is_subscribed and not m2.is_subscribed
    assert set(ListMembership.objects.subscribed()) == {m1}
    m2.confirmed_at = m2.joined_at
    m2.save()
    m1.left_at = m1.joined_at
    m1.save()
    assert set(ListMembership.objects.subscribed()) == {m2}
    assert not m1.is_subscribed and m2.is_subscribed


@pytest.mark.django_db
def test_one_membership_per_contact_and_list():
    contact = Contact.objects.create(email="d@example.com")
    newsletter = ContactList.objects.create(name="Newsletter")
    ListMembership.objects.create(contact=contact, contact_list=newsletter)
    with pytest.raises(IntegrityError), transaction.atomic():
        ListMembership.objects.create(contact=contact, contact_list=newsletter)


@pytest.mark.django_db
def test_reachable_excludes_unsubscribed_and_suppressed():
    from django.utils import timezone

    ok = Contact.objects.create(email="ok@example.com")
    Contact.objects.create(email="unsub@example.com", unsubscribed_at=timezone.now())
    Contact.objects.create(
        email="bounced@example.com", suppressed_at=timezone.now(), suppression_reason="bounced"
    )
    assert list(Contact.objects.reachable()) == [ok]
