"""Data rights: exporting everything about a contact, erasing it while statistics stay right."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from tests.factories import active_workflow
from wagtail_mailflow import api
from wagtail_mailflow.engine.dispatch import run_due
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    ContactProperty,
    Delivery,
    DeliveryEvent,
    Enrollment,
    ListMembership,
)
from wagtail_mailflow.privacy import erase_contact, export_contact

pytestmark = pytest.mark.django_db

EMAIL = "Ada.Lovelace@example.com"


@pytest.fixture
def history(settings):
    """Ada: two lists, a welcome workflow half-way (one sent, one scheduled), tracked events."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ContactProperty.objects.create(name="city", type="text")
    workflow = active_workflow(delays=((0, "days"), (3, "days")))
    bystander, _m, _j = api.subscribe("other@example.com", "Newsletter")
    contact, _m, _j = api.subscribe(
        EMAIL, "Newsletter", properties={"city": "London"}, first_name="Ada"
    )
    api.subscribe(EMAIL, ContactList.objects.create(name="Events"), source="form")
    assert run_due().sent == 2
    sent = Delivery.objects.get(contact=contact, status="sent")
    sent.esp_message_id = "msg-1"
    sent.last_error = f"Earlier attempt: 452 mailbox full for <{EMAIL.lower()}>"
    sent.save()
    DeliveryEvent.objects.create(
        delivery=sent, esp="mailjet", event_id="e1", message_id="msg-1", event_type="opened"
    )
    DeliveryEvent.objects.create(
        delivery=sent,
        esp="mailjet",
        event_id="e2",
        message_id="msg-1",
        event_type="clicked",
        url="https://example.com/offer?token=secret-ada",
        description="clicked",
    )
    # A bounce for an unknown message that quotes the address.
    DeliveryEvent.objects.create(
        esp="mailjet",
        event_id="e3",
        event_type="bounced",
        description=f"550 unknown user {EMAIL}",
    )
    run_due_later = Delivery.objects.filter(contact=contact, status="scheduled")
    assert run_due_later.count() == 1
    log(contact, "wagtail.edit")  # history entries carry the address as their label
    return workflow, contact, bystander


def statistics(workflow):
    """What a workflow's statistics count: entries, completions, emails by status, events."""
    return {
        "entered": Enrollment.objects.filter(workflow=workflow).count(),
        "completed": Enrollment.objects.filter(workflow=workflow, status="completed").count(),
        "sent": Delivery.objects.filter(workflow=workflow, sent_at__isnull=False).count(),
        "events": dict(
            DeliveryEvent.objects.filter(delivery__workflow=workflow)
            .values_list("event_type")
            .annotate(n=Count("pk"))
        ),
    }


def test_export_contains_everything(history):
    workflow, contact, _bystander = history
    data = export_contact(contact)
    json.dumps(data)  # JSON-ready as is
    assert data["contact"]["email"] == EMAIL.split("@")[0] + "@example.com"
    assert data["contact"]["first_name"] == "Ada"
    assert data["properties"] == {"city": "London"}
    assert data["consent"]["given_at"] and data["consent"]["source"] == "api"
    assert {(m["list"], m["source"]) for m in data["memberships"]} == {
        ("Newsletter", "api"),
        ("Events", "form"),
    }
    assert [(e["workflow"], e["status"]) for e in data["enrollments"]] == [
        (workflow.title, "active")
    ]
    statuses = sorted(d["status"] for d in data["deliveries"])
    assert statuses == ["scheduled", "sent"]
    sent = next(d for d in data["deliveries"] if d["status"] == "sent")
    assert sent["sent_at"] and sent["esp_message_id"] == "msg-1"
    assert [e["type"] for e in sent["events"]] == ["opened", "clicked"]
    assert sent["events"][1]["url"].endswith("token=secret-ada")
    # Nothing about the other contact.
    assert "other@example.com" not in json.dumps(data)


def test_export_query_count_does_not_grow(history, django_assert_max_num_queries):
    _workflow, contact, _bystander = history
    with django_assert_max_num_queries(6):
        export_contact(contact)


def test_erase_removes_personal_data_and_keeps_counts(history):
    workflow, contact, bystander = history
    before = statistics(workflow)
    result = erase_contact(contact)
    assert result.erased is True
    assert result.enrollments_exited == 1
    assert result.deliveries_withdrawn == 1
    assert result.memberships_deleted == 2

    assert not Contact.objects.filter(email__iexact=EMAIL).exists()
    with pytest.raises(Contact.DoesNotExist):
        Contact.objects.get_by_email(EMAIL)
    assert not ListMembership.objects.filter(contact_id=contact.pk).exists()
    assert statistics(workflow) == before

    enrollment = Enrollment.objects.get(workflow=workflow, contact__isnull=True)
    assert enrollment.status == "exited" and enrollment.exit_reason == "erased"
    deliveries = Delivery.objects.filter(enrollment=enrollment)
    assert set(deliveries.values_list("status", flat=True)) == {"sent", "suppressed"}
    assert not deliveries.filter(contact__isnull=False).exists()

    # No trace of the address or personal tokens anywhere.
    texts = [
        *Delivery.objects.values_list("last_error", flat=True),
        *DeliveryEvent.objects.values_list("url", flat=True),
        *DeliveryEvent.objects.values_list("description", flat=True),
        *ModelLogEntry.objects.values_list("label", flat=True),
        *(json.dumps(d) for d in ModelLogEntry.objects.values_list("data", flat=True)),
    ]
    joined = "\n".join(texts).lower()
    assert EMAIL.lower() not in joined
    assert "secret-ada" not in joined
    assert "mailbox full" in joined  # the rest of the error is kept

    erase_log = ModelLogEntry.objects.get(action="wagtail_mailflow.erase_contact")
    assert erase_log.object_id == str(contact.pk)
    assert erase_log.label == f"Contact #{contact.pk} (erased)"

    # Other contacts untouched; the engine carries on without the erased one.
    assert Enrollment.objects.get(contact=bystander).status == "active"
    assert run_due().sent == 0


def test_erase_is_idempotent(history):
    _workflow, contact, _bystander = history
    assert erase_contact(contact).erased
    again = erase_contact(contact)
    assert not again.erased and again.deliveries_kept == 0
    assert erase_contact(Contact(pk=None)).erased is False


def test_erased_address_can_subscribe_again_as_new_contact(history):
    workflow, contact, _bystander = history
    erase_contact(contact)
    new, _m, joined = api.subscribe(EMAIL, "Newsletter")
    assert joined and new.pk != contact.pk
    assert Enrollment.objects.filter(workflow=workflow, contact=new).exists()


def test_export_command(history, tmp_path):
    out = io.StringIO()
    call_command("mailflow_export_contact", EMAIL.upper().replace("EXAMPLE", "example"), stdout=out)
    assert json.loads(out.getvalue())["properties"] == {"city": "London"}
    target = tmp_path / "ada.json"
    call_command("mailflow_export_contact", EMAIL, "--output", str(target), stdout=io.StringIO())
    assert json.loads(target.read_text())["contact"]["first_name"] == "Ada"
    with pytest.raises(CommandError, match="No contact"):
        call_command("mailflow_export_contact", "nobody@example.com")


def test_erase_command(history):
    workflow, contact, _bystander = history
    out = io.StringIO()
    call_command("mailflow_erase_contact", EMAIL, "--noinput", stdout=out)
    assert "erased" in out.getvalue()
    assert not Contact.objects.filter(pk=contact.pk).exists()
    out = io.StringIO()
    call_command("mailflow_erase_contact", EMAIL, "--noinput", stdout=out)
    assert "nothing to erase" in out.getvalue()


def test_erase_command_asks_first(history, monkeypatch):
    _workflow, contact, _bystander = history
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    out = io.StringIO()
    call_command("mailflow_erase_contact", EMAIL, stdout=out)
    assert "Cancelled" in out.getvalue()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_suppressing_an_erased_contact_id_is_a_no_op():
    # A delivery in the ESP's hands when its contact was erased reports back with no contact.
    from wagtail_mailflow.engine.exits import suppress

    assert suppress([None], Contact.SuppressionReason.REJECTED).contacts == 0
