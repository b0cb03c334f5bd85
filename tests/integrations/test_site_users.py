"""Site users as contacts: registrations, profile saves, email changes, the setting's checks."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save

from tests.factories import active_workflow
from tests.testapp.models import Profile
from wagtail_mailflow.checks import check_user_sync, check_user_sync_database
from wagtail_mailflow.integrations import site_users as user_sync
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    EmailWorkflow,
    Enrollment,
    ListMembership,
)

pytestmark = pytest.mark.django_db

User = get_user_model()

SYNC = {
    "fields": {"first_name": "first_name", "last_name": "last_name"},
    "properties": {"city": "profile.city", "points": "profile.loyalty_points"},
    "signup_list": "Newsletter",
    "profile_model": "testapp.Profile",
    "profile_user_field": "user",
}


@pytest.fixture
def logged():
    """The messages user sync logs (the suite runs with pytest's logging plugin off)."""

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.text = ""

        def emit(self, record):
            self.text += record.getMessage() + "\n"

    handler = Collect()
    user_sync.logger.addHandler(handler)
    yield handler
    user_sync.logger.removeHandler(handler)


@pytest.fixture
def properties():
    ContactProperty.objects.create(name="city", type="text")
    ContactProperty.objects.create(name="points", type="number")


@pytest.fixture
def sync(settings, properties):
    settings.WAGTAIL_MAILFLOW_USER_SYNC = SYNC
    yield SYNC
    # the settings fixture restores the setting; setting_changed disconnects the receivers


@pytest.fixture
def welcome():
    return active_workflow(delays=((0, "days"),))


def register(capture, **fields):
    """Create a user and its profile in one transaction, as a registration view would."""
    fields.setdefault("username", "ada")
    profile_fields = {
        k: fields.pop(k) for k in ("city", "loyalty_points", "birthday") if k in fields
    }
    with capture(execute=True):
        user = User.objects.create_user(password="x", **fields)
        Profile.objects.create(user=user, **profile_fields)
    return user


def test_receivers_connected_only_with_the_setting(settings):
    assert not post_save.has_listeners(Profile)
    settings.WAGTAIL_MAILFLOW_USER_SYNC = SYNC
    assert post_save.has_listeners(Profile)
    settings.WAGTAIL_MAILFLOW_USER_SYNC = None
    assert not post_save.has_listeners(Profile)


def test_registration_creates_linked_contact_subscribed_on_commit(
    sync, welcome, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user = User.objects.create_user(
            "ada", "Ada@Example.COM", "x", first_name="Ada", last_name="Lovelace"
        )
        Profile.objects.create(user=user, city="London", loyalty_points=12)
        # Nothing before the registering transaction commits.
        assert not Contact.objects.exists()
    assert len(callbacks) == 1
    callbacks[0]()
    contact = Contact.objects.get()
    assert contact.user == user
    assert contact.email == "Ada@example.com"
    assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
    assert contact.properties == {"city": "London", "points": 12}
    membership = ListMembership.objects.get(contact=contact)
    assert membership.contact_list.name == "Newsletter"
    assert membership.source == ListMembership.Source.USER
    assert contact.consent_at is not None
    assert contact.consent_source == "user:registration"
    enrollment = Enrollment.objects.get(contact=contact)
    assert enrollment.workflow == welcome


def test_registration_without_email_creates_no_contact(sync, django_capture_on_commit_callbacks):
    register(django_capture_on_commit_callbacks, email="")
    assert not Contact.objects.exists()


def test_registration_with_invalid_email_is_no_error(sync, django_capture_on_commit_callbacks):
    register(django_capture_on_commit_callbacks, email="not-an-address")
    assert not Contact.objects.exists()


def test_registration_without_signup_list_creates_contact_only(
    settings, properties, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_MAILFLOW_USER_SYNC = {**SYNC, "signup_list": None}
    user = register(django_capture_on_commit_callbacks, email="bob@example.com", city="Paris")
    contact = Contact.objects.get(user=user)
    assert contact.properties == {"city": "Paris", "points": 0}
    assert not ListMembership.objects.exists()


def test_registration_links_existing_contact_and_keeps_unsubscribe(
    sync, welcome, django_capture_on_commit_callbacks
):
    existing = Contact.objects.create(email="ada@example.com", unsubscribed_at="2024-01-01T00:00Z")
    user = register(django_capture_on_commit_callbacks, email="ada@example.com")
    existing.refresh_from_db()
    assert existing.user == user
    assert Contact.objects.count() == 1
    assert not ListMembership.objects.exists()  # unsubscribed from everything: not re-added
    assert not Enrollment.objects.exists()


def test_missing_signup_list_does_not_break_registration(
    settings, properties, django_capture_on_commit_callbacks, logged
):
    settings.WAGTAIL_MAILFLOW_USER_SYNC = {**SYNC, "signup_list": "No such list"}
    user = register(django_capture_on_commit_callbacks, email="eve@example.com")
    assert User.objects.filter(pk=user.pk).exists()
    assert "could not create the contact" in logged.text


@pytest.fixture
def member(sync, welcome, django_capture_on_commit_callbacks):
    user = register(
        django_capture_on_commit_callbacks,
        email="ada@example.com",
        first_name="Ada",
        city="London",
        loyalty_points=10,
    )
    return user, Contact.objects.get(user=user)


def test_profile_save_with_mapped_change_updates_contact_and_triggers(member):
    user, contact = member
    points_workflow = active_workflow(
        title="Loyalty",
        scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
        trigger_conditions={
            "match": "all",
            "conditions": [{"field": "points", "operator": "gte", "value": 100}],
        },
        delays=((0, "days"),),
    )
    profile = user.profile
    profile.loyalty_points = 150
    profile.save()
    contact.refresh_from_db()
    assert contact.properties == {"city": "London", "points": 150}
    assert Enrollment.objects.filter(workflow=points_workflow, contact=contact).exists()


def test_profile_save_without_mapped_change_does_no_work(member, django_assert_num_queries):
    user, contact = member
    before = contact.updated_at
    profile = Profile.objects.get(user=user)
    profile.birthday = "1990-05-01"  # not mapped
    with django_assert_num_queries(2) as captured:  # the profile UPDATE + reading the contact
        profile.save()
    assert not any(
        q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
        and "wagtail_mailflow" in q["sql"]
        for q in captured.captured_queries
    )
    contact.refresh_from_db()
    assert contact.updated_at == before


def test_user_save_without_mapped_change_does_no_work(member, django_assert_num_queries):
    user, contact = member
    user.is_staff = True
    with django_assert_num_queries(2):  # the user UPDATE + reading the contact
        user.save()
    with django_assert_num_queries(1):  # login: update_fields touch nothing mapped
        user.save(update_fields=["last_login"])


def test_user_save_with_name_change_updates_contact(member):
    user, contact = member
    user.last_name = "King"
    user.save()
    contact.refresh_from_db()
    assert contact.last_name == "King"
    assert contact.first_name == "Ada"


def test_email_change_moves_contact(member):
    user, contact = member
    user.email = "countess@example.com"
    user.save()
    contact.refresh_from_db()
    assert contact.email == "countess@example.com"


def test_email_change_to_another_contacts_address_keeps_it(member, logged):
    user, contact = member
    Contact.objects.create(email="taken@example.com")
    user.email = "TAKEN@example.com"
    user.save()
    contact.refresh_from_db()
    assert contact.email == "ada@example.com"
    assert "another contact already has" in logged.text


def test_invalid_profile_value_is_skipped_not_fatal(settings, member, logged):
    ContactProperty.objects.filter(name="city").update(type="number")
    user, contact = member
    user.profile.city = "Berlin"
    user.profile.loyalty_points = 20
    user.profile.save()
    contact.refresh_from_db()
    assert contact.properties["points"] == 20
    assert contact.properties["city"] == "London"
    assert "city" in logged.text


def test_unlinked_user_save_creates_nothing(sync):
    ContactList.objects.create(name="Newsletter")
    user = User.objects.create_user("old", "old@example.com", "x")  # no on_commit run
    user.first_name = "Old"
    user.save()
    assert not Contact.objects.exists()
    contact = user_sync.sync_user(user)
    assert contact.user == user and contact.first_name == "Old"
    assert ListMembership.objects.filter(contact=contact, source="user").exists()


# -- system checks -------------------------------------------------------------


def error_ids(settings, value, database=False):
    settings.WAGTAIL_MAILFLOW_USER_SYNC = value
    errors = check_user_sync()
    if database:
        errors += check_user_sync_database(databases=["default"])
    return sorted(e.id for e in errors)


def test_check_accepts_good_mapping(settings, properties):
    ContactList.objects.create(name="Newsletter")
    assert error_ids(settings, SYNC, database=True) == []


def test_check_not_a_dict_or_unknown_key(settings):
    assert error_ids(settings, ["x"]) == ["wagtail_mailflow.E101"]
    assert error_ids(settings, {"feilds": {}}) == ["wagtail_mailflow.E101"]


def test_check_unknown_profile_model(settings):
    assert error_ids(settings, {**SYNC, "profile_model": "testapp.Nope"}) == [
        "wagtail_mailflow.E102"
    ]


def test_check_profile_user_field_not_a_user_link(settings):
    assert error_ids(settings, {**SYNC, "profile_user_field": "city"}) == ["wagtail_mailflow.E103"]


def test_check_unknown_field_paths(settings):
    value = {
        "fields": {"first_name": "given_name"},
        "properties": {"city": "profile.town"},
        "profile_model": "testapp.Profile",
    }
    assert error_ids(settings, value) == ["wagtail_mailflow.E104", "wagtail_mailflow.E104"]
    no_profile = {"properties": {"city": "profile.city"}}
    assert error_ids(settings, no_profile) == ["wagtail_mailflow.E108"]


def test_check_unknown_contact_field(settings):
    assert error_ids(settings, {"fields": {"nickname": "username"}}) == ["wagtail_mailflow.E105"]


def test_check_unknown_property_and_list(settings):
    assert error_ids(settings, SYNC, database=True) == [
        "wagtail_mailflow.E106",
        "wagtail_mailflow.E106",
        "wagtail_mailflow.E107",
    ]
