"""A contact property that conditions read: its deletion is refused (saying where), and a
condition that cannot be evaluated never loses a signup or an import."""

import io

import pytest
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from tests.factories import active_workflow
from tests.signup_helpers import form_of, render_tag
from wagtail_mailflow import api
from wagtail_mailflow import contact_import as service
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    EmailWorkflow,
    Enrollment,
    ListMembership,
    Segment,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_state")]

CITY = {"match": "all", "conditions": [{"field": "city", "operator": "equals", "value": "Paris"}]}
VIP = {"match": "all", "conditions": [{"field": "vip", "operator": "is_true"}]}


@pytest.fixture
def used():
    """city read by a segment of a welcome workflow; vip by a contact-update trigger."""
    city = ContactProperty.objects.create(name="city", type="text")
    vip = ContactProperty.objects.create(name="vip", type="boolean")
    newsletter = ContactList.objects.create(name="Newsletter")
    segment = Segment.objects.create(name="Parisians", conditions=CITY)
    welcome = active_workflow(
        contact_list=newsletter, delays=((0, "days"),), segment=segment, title="Welcome"
    )
    update = active_workflow(
        contact_list=newsletter,
        delays=((0, "days"),),
        title="VIP",
        scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
        trigger_conditions=VIP,
    )
    return city, vip, newsletter, segment, welcome, update


def test_deleting_a_property_in_use_is_refused_naming_the_users(used):
    city, vip, _newsletter, segment, welcome, update = used
    with pytest.raises(ProtectedError) as info:
        city.delete()
    assert info.value.protected_objects == {segment}
    with pytest.raises(ProtectedError) as info:
        vip.delete()
    assert info.value.protected_objects == {update}
    assert "VIP" in str(info.value.args[0])
    unused = ContactProperty.objects.create(name="unused", type="text")
    unused.delete()
    assert set(ContactProperty.objects.values_list("name", flat=True)) == {"city", "vip"}


def test_the_admin_refuses_and_shows_where_it_is_used(used, admin_client):
    city, _vip, _newsletter, segment, _welcome, _update = used
    url = reverse("mailflow_properties:delete", args=[city.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "cannot be deleted" in html
    assert reverse("mailflow_segments:edit", args=[segment.pk]) in html
    assert "Yes, delete" not in html
    response = admin_client.post(url)
    assert response.status_code in (302, 403)
    assert ContactProperty.objects.filter(pk=city.pk).exists()

    unused = ContactProperty.objects.create(name="unused", type="text")
    response = admin_client.post(reverse("mailflow_properties:delete", args=[unused.pk]))
    assert response.status_code == 302
    assert not ContactProperty.objects.filter(pk=unused.pk).exists()


def test_a_vanished_property_never_loses_a_signup(used, admin_client, settings):
    settings.WAGTAIL_MAILFLOW_SUBSCRIBE_RATE = None
    _city, _vip, newsletter, _segment, welcome, update = used
    # Gone behind the model's back (a queryset delete, a migration): conditions now fail.
    ContactProperty.objects.all().delete()

    action, config = form_of(render_tag())
    response = Client().post(action, {"form": config, "email": "ann@example.com"})
    assert response.status_code in (200, 303)
    ann = Contact.objects.get(email="ann@example.com")
    assert ListMembership.objects.filter(contact=ann, contact_list=newsletter).exists()

    api.update_contact(ann, first_name="Ann")  # the contact-update trigger cannot be read
    assert Contact.objects.get(pk=ann.pk).first_name == "Ann"

    data = b"email\nbob@example.com\n"
    delimiter, headers, _count = service.inspect_file(io.BytesIO(data), "utf-8")
    result = service.import_csv(
        io.BytesIO(data),
        contact_list=newsletter,
        headers=headers,
        mapping=service.propose_mapping(headers),
        delimiter=delimiter,
    )
    assert (result.created, result.joined) == (1, 1)
    assert Enrollment.objects.count() == 0  # the entries were skipped, the contacts stored

    page = admin_client.get(reverse("mailflow_workflows:inspect", args=[welcome.pk]))
    assert "The segment “Parisians” cannot be evaluated" in page.content.decode()
    page = admin_client.get(reverse("mailflow_workflows:inspect", args=[update.pk]))
    assert "The trigger condition cannot be evaluated" in page.content.decode()
