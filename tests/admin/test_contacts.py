"""The contact pages of the admin: add with lists and typed properties, the contact's page,
listing filters, unsubscribe / suppress actions, export and erase with permissions."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.factories import ContactFactory, ContactListFactory, active_workflow
from wagtail_mailflow import api
from wagtail_mailflow.models import (
    Contact,
    ContactProperty,
    Delivery,
    EmailWorkflow,
    Enrollment,
    ListMembership,
)

pytestmark = pytest.mark.django_db

URL = "mailflow_contacts"


@pytest.fixture
def props():
    return {
        "city": ContactProperty.objects.create(name="city", type="text", label="City"),
        "points": ContactProperty.objects.create(name="points", type="number"),
        "vip": ContactProperty.objects.create(name="vip", type="boolean"),
        "birthday": ContactProperty.objects.create(name="birthday", type="date"),
    }


def add_data(**extra):
    data = {
        "email": "new@example.com",
        "first_name": "Ada",
        "last_name": "",
        "language": "",
        "timezone": "",
        "property__city": "",
        "property__points": "",
        "property__vip": "",
        "property__birthday": "",
    }
    data.update(extra)
    return data


def test_add_form_has_one_typed_field_per_property(admin_client, props):
    ContactListFactory(name="Newsletter")
    html = admin_client.get(reverse(f"{URL}:add")).content.decode()
    assert 'name="property__city"' in html
    assert 'name="property__points"' in html and 'type="number"' in html
    assert '<select name="property__vip"' in html
    assert 'name="property__birthday"' in html
    assert 'name="lists"' in html
    assert 'name="properties"' not in html  # no raw JSON


def test_add_contact_with_lists_and_properties_subscribes_and_welcomes(
    admin_client, admin_user, props, django_capture_on_commit_callbacks
):
    welcome = active_workflow(delays=((0, "days"),))
    other = ContactListFactory(name="Events")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse(f"{URL}:add"),
            add_data(
                lists=[welcome.contact_list_id, other.pk],
                consent_note="Signed up at our stand",
                **{
                    "property__city": "Lyon",
                    "property__points": "12,5",
                    "property__vip": "true",
                    "property__birthday": "1990-02-03",
                },
            ),
        )
    assert response.status_code == 302
    contact = Contact.objects.get(email="new@example.com")
    assert response["Location"] == reverse(f"{URL}:inspect", args=[contact.pk])
    assert contact.first_name == "Ada"
    assert contact.properties == {
        "city": "Lyon",
        "points": 12.5,
        "vip": True,
        "birthday": "1990-02-03",
    }
    memberships = ListMembership.objects.filter(contact=contact)
    assert {m.contact_list.name for m in memberships} == {"Newsletter", "Events"}
    assert {m.source for m in memberships} == {ListMembership.Source.ADMIN}
    assert memberships.first().source_detail == f"{admin_user.username}: Signed up at our stand"
    assert contact.consent_at is not None and contact.consent_source.startswith("admin")
    assert Enrollment.objects.filter(contact=contact, workflow=welcome).exists()
    assert ModelLogEntry.objects.filter(action="wagtail.create", object_id=str(contact.pk)).exists()


def test_add_contact_without_lists(admin_client, props):
    response = admin_client.post(reverse(f"{URL}:add"), add_data(**{"property__vip": "false"}))
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.properties == {"vip": False}
    assert not contact.memberships.exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("property__points", "lots", "is not a number"),
        ("property__birthday", "31/02/2020", "is not a date"),
        ("email", "not-an-email", "valid email"),
    ],
)
def test_add_contact_validation_errors_are_shown(admin_client, props, field, value, message):
    response = admin_client.post(reverse(f"{URL}:add"), add_data(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Contact.objects.exists()


def test_add_contact_duplicate_address_refused(admin_client, props):
    ContactFactory(email="New@Example.com")
    response = admin_client.post(reverse(f"{URL}:add"), add_data())
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Contact.objects.count() == 1


def test_edit_properties_fires_contact_update_trigger(admin_client, props):
    workflow = active_workflow(
        title="Loyalty",
        scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
        trigger_conditions={
            "match": "all",
            "conditions": [{"field": "points", "operator": "gte", "value": 100}],
        },
        delays=((0, "days"),),
    )
    contact, _m, _j = api.subscribe("ada@example.com", "Newsletter", properties={"points": 10})
    edit = reverse(f"{URL}:edit", args=[contact.pk])
    form = admin_client.get(edit).content.decode()
    assert 'value="10"' in form
    response = admin_client.post(
        edit, add_data(email="ada@example.com", **{"property__points": "150"})
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.properties == {"points": 150}
    assert Enrollment.objects.filter(workflow=workflow, contact=contact).count() == 1
    # Clearing a value removes the property.
    assert admin_client.post(edit, add_data(email="ada@example.com")).status_code == 302
    contact.refresh_from_db()
    assert contact.properties == {}


def make_history(contact, n):
    """n memberships, enrollments and deliveries for ``contact``."""
    for i in range(n):
        contact_list = ContactListFactory(name=f"History list {i}")
        workflow = active_workflow(
            title=f"History {contact.pk}-{i}", contact_list=contact_list, delays=((0, "days"),)
        )
        api.subscribe(contact.email, contact_list)
        assert Enrollment.objects.filter(workflow=workflow, contact=contact).exists()


def test_contact_page_shows_everything_in_constant_queries(admin_client):
    small = ContactFactory(email="small@example.com", properties={})
    big = ContactFactory(email="big@example.com")
    make_history(small, 1)
    make_history(big, 4)
    Contact.objects.filter(pk=big.pk).update(
        suppressed_at=timezone.now(), suppression_reason="complained"
    )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small_queries:
        response = admin_client.get(reverse(f"{URL}:inspect", args=[small.pk]))
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as big_queries:
        response = admin_client.get(reverse(f"{URL}:inspect", args=[big.pk]))
    html = response.content.decode()
    assert len(big_queries) == len(small_queries)
    for text in ("History list 3", f"History {big.pk}-3", "Spam complaint", "Sent"):
        assert text in html
    assert html.count("<tr>") >= 1 + 4 + 4 + 4
    assert "Export data" in html and "Erase" in html


def test_contact_page_lists_membership_source_and_enrollment_exit(admin_client):
    contact, membership, _j = api.subscribe(
        "ada@example.com", ContactListFactory(name="Newsletter"), source="form"
    )
    active_workflow(delays=((0, "days"),))
    api.unsubscribe(contact, "Newsletter")
    html = admin_client.get(reverse(f"{URL}:inspect", args=[contact.pk])).content.decode()
    assert "Form page" in html
    assert "Newsletter" in html


def test_listing_filters_and_search(admin_client):
    news = ContactListFactory(name="Newsletter")
    events = ContactListFactory(name="Events")
    api.subscribe("formed@example.com", news, source="form")
    api.subscribe("admined@example.com", events, source="admin")
    gone, _m, _j = api.subscribe("gone@example.com", news, source="form")
    api.unsubscribe(gone)
    bounced = ContactFactory(email="bounced@example.com")
    from wagtail_mailflow.engine.exits import suppress

    suppress(bounced, "bounced")

    def emails(**params):
        response = admin_client.get(reverse(f"{URL}:index"), params)
        assert response.status_code == 200
        html = response.content.decode()
        return {e for e in ("formed", "admined", "gone", "bounced") if f"{e}@example.com" in html}

    assert emails() == {"formed", "admined", "gone", "bounced"}
    assert emails(contact_list=news.pk) == {"formed"}  # gone left the list
    assert emails(source="admin") == {"admined"}
    assert emails(contact_list=news.pk, source="admin") == set()
    assert emails(state="unsubscribed") == {"gone"}
    assert emails(state="suppressed") == {"bounced"}
    assert emails(state="subscribed") == {"formed", "admined"}
    assert emails(q="admined") == {"admined"}
    assert admin_client.get(reverse(f"{URL}:index"), {"state": "bogus"}).status_code == 200


def test_actions_unsubscribe_and_suppress(admin_client):
    contact, membership, _j = api.subscribe("ada@example.com", ContactListFactory())
    action = reverse(f"{URL}:action", args=[contact.pk])
    response = admin_client.post(
        action, {"action": "unsubscribe_list", "membership": membership.pk}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.left_at is not None
    assert admin_client.post(action, {"action": "suppress"}).status_code == 302
    contact.refresh_from_db()
    assert contact.suppression_reason == Contact.SuppressionReason.MANUAL
    assert admin_client.post(action, {"action": "unsuppress"}).status_code == 302
    contact.refresh_from_db()
    assert contact.suppressed_at is None
    assert admin_client.post(action, {"action": "unsubscribe_all"}).status_code == 302
    contact.refresh_from_db()
    assert contact.unsubscribed_at is not None
    response = admin_client.post(action, {"action": "explode"}, follow=True)
    assert "Unknown action" in response.content.decode()
    response = admin_client.post(action, {"action": "unsubscribe_list", "membership": "x"})
    assert response.status_code == 302
    assert admin_client.get(action).status_code == 405


def test_export_downloads_json(admin_client):
    contact, _m, _j = api.subscribe("ada@example.com", ContactListFactory(name="Newsletter"))
    response = admin_client.get(reverse(f"{URL}:export", args=[contact.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["contact"]["email"] == "ada@example.com"
    assert data["memberships"][0]["list"] == "Newsletter"


@pytest.fixture
def editor(client):
    """A Wagtail editor who may view and change contacts, but not delete them."""
    user = get_user_model().objects.create_user("editor", "editor@example.com", "x")
    group = Group.objects.create(name="Contact editors")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_contact"),
        Permission.objects.get(codename="change_contact"),
    )
    user.groups.add(group)
    client.force_login(user)
    return client, group


def test_erase_needs_delete_permission(editor):
    client, group = editor
    contact = ContactFactory(email="ada@example.com")
    url = reverse(f"{URL}:delete", args=[contact.pk])
    assert client.get(url).status_code in (302, 403)
    assert client.post(url).status_code in (302, 403)
    assert Contact.objects.filter(pk=contact.pk).exists()
    html = client.get(reverse(f"{URL}:inspect", args=[contact.pk])).content.decode()
    assert url not in html
    group.permissions.add(Permission.objects.get(codename="delete_contact"))
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_actions_need_change_permission(client):
    user = get_user_model().objects.create_user("viewer", "v@example.com", "x")
    group = Group.objects.create(name="Viewers")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_contact"),
    )
    user.groups.add(group)
    client.force_login(user)
    contact = ContactFactory()
    response = client.post(reverse(f"{URL}:action", args=[contact.pk]), {"action": "suppress"})
    assert response.status_code in (302, 403)
    contact.refresh_from_db()
    assert contact.suppressed_at is None
    assert client.get(reverse(f"{URL}:export", args=[contact.pk])).status_code == 200


def test_erase_asks_for_confirmation_then_erases(admin_client, django_capture_on_commit_callbacks):
    welcome = active_workflow(delays=((0, "days"), (3, "days")))
    with django_capture_on_commit_callbacks(execute=True):
        contact, _m, _j = api.subscribe("ada@example.com", welcome.contact_list)
    url = reverse(f"{URL}:delete", args=[contact.pk])
    page = admin_client.get(url).content.decode()
    assert "Yes, erase this contact" in page
    assert Contact.objects.filter(pk=contact.pk).exists()
    response = admin_client.post(url, follow=True)
    assert "Contact erased" in response.content.decode()
    assert not Contact.objects.filter(email__iexact="ada@example.com").exists()
    enrollment = Enrollment.objects.get(workflow=welcome)
    assert enrollment.contact_id is None
    assert Delivery.objects.filter(workflow=welcome).count() >= 1
    entry = ModelLogEntry.objects.get(action="wagtail_mailflow.erase_contact")
    assert "ada" not in entry.label and entry.user_id is not None
