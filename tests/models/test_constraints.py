"""What the database itself guarantees: one delivery per step, one event per ESP event, one entry."""

import pytest
from django.core.checks import Error
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from wagtail_mailflow.checks import check_settings
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    Delivery,
    DeliveryEvent,
    EmailTemplate,
    EmailWorkflow,
    Enrollment,
    WorkflowStep,
)
from wagtail_mailflow.settings_helpers import database_from_url, q_cluster


@pytest.fixture
def setup(db):
    workflow = EmailWorkflow.objects.create(
        title="W", contact_list=ContactList.objects.create(name="L")
    )
    template = EmailTemplate.objects.create(name="T", subject="S", from_email="a@example.com")
    step = WorkflowStep.objects.create(workflow=workflow, template=template)
    contact = Contact.objects.create(email="x@example.com")
    return workflow, step, contact


def test_one_delivery_per_enrollment_and_step(setup):
    workflow, step, contact = setup
    enrollment = Enrollment.objects.create(workflow=workflow, contact=contact)
    kwargs = {"enrollment": enrollment, "step": step, "workflow": workflow, "contact": contact}
    Delivery.objects.create(due_at=timezone.now(), **kwargs)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(due_at=timezone.now(), **kwargs)
    assert Delivery.objects.count() == 1


def test_one_active_enrollment_per_contact_even_with_reentry_keys(setup):
    workflow, _step, contact = setup
    Enrollment.objects.create(workflow=workflow, contact=contact, entry_key="2025")
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(workflow=workflow, contact=contact, entry_key="2026")
    Enrollment.objects.filter(contact=contact).update(status=Enrollment.Status.COMPLETED)
    Enrollment.objects.create(workflow=workflow, contact=contact, entry_key="2026")
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            workflow=workflow, contact=contact, entry_key="2026", status="completed"
        )
    assert Enrollment.objects.count() == 2


def test_one_event_per_esp_event_id(db):
    DeliveryEvent.objects.create(
        esp="mailjet", event_id="m1:opened:1700000000", event_type="opened"
    )
    DeliveryEvent.objects.create(
        esp="postmark", event_id="m1:opened:1700000000", event_type="opened"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryEvent.objects.create(
            esp="mailjet", event_id="m1:opened:1700000000", event_type="opened"
        )
    assert DeliveryEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("retry", "timeout", "is_error"), [(60, 60, True), (63, 60, True), (64, 60, False)]
)
def test_check_refuses_retry_not_above_timeout_plus_three(retry, timeout, is_error):
    with override_settings(
        Q_CLUSTER={"name": "x", "orm": "default", "retry": retry, "timeout": timeout}
    ):
        errors = [m for m in check_settings() if isinstance(m, Error)]
    assert bool(errors) is is_error
    if is_error:
        assert errors[0].id == "wagtail_mailflow.E001"


def test_check_refuses_a_missing_base_url():
    with override_settings(WAGTAILADMIN_BASE_URL="", WAGTAIL_MAILFLOW_BASE_URL=None):
        errors = [m.id for m in check_settings() if isinstance(m, Error)]
    assert errors == ["wagtail_mailflow.E002"]


def test_q_cluster_helper_passes_the_check():
    for config in (q_cluster(), q_cluster("redis://127.0.0.1:6379/0", timeout=300)):
        assert config["retry"] > config["timeout"] + 3
        with override_settings(Q_CLUSTER=config):
            assert not [m for m in check_settings() if isinstance(m, Error)]
    assert "redis" in q_cluster("redis://h:6379/1") and "orm" in q_cluster()


def test_database_from_url():
    pg = database_from_url("postgres://postgres:s%40cret@127.0.0.1:5433/mail?sslmode=disable")
    assert pg["ENGINE"].endswith("postgresql")
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "mail",
        "postgres",
        "s@cret",
        "127.0.0.1",
        "5433",
    )
    assert pg["OPTIONS"] == {"sslmode": "disable"}
    lite = database_from_url(None, "/tmp/x.sqlite3")
    assert lite["NAME"] == "/tmp/x.sqlite3"
    assert "journal_mode=WAL" in lite["OPTIONS"]["init_command"]
    assert database_from_url("sqlite:////abs/path.db")["NAME"] == "/abs/path.db"
    assert database_from_url("sqlite:///rel.db")["NAME"] == "rel.db"
    with pytest.raises(ValueError, match="Unsupported"):
        database_from_url("mysql://x/y")
