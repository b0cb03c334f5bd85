"""Admin listings cost a constant number of queries, however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import active_workflow
from wagtail_mailflow.models import Contact, Delivery, EmailWorkflow

pytestmark = pytest.mark.django_db


def _count(client, url):
    client.get(url)  # warm per-process caches (menus, permissions, content types)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _workflows(n, start=0):
    for i in range(start, start + n):
        workflow = active_workflow(title=f"Workflow {i}", delays=((0, "days"), (1, "days")))
        if i % 3 == 1:
            workflow.lock()
        elif i % 3 == 2:
            workflow.stop()


def test_workflow_listing_constant_queries(admin_client):
    url = reverse("mailflow_workflows:index")
    _workflows(2)
    few = _count(admin_client, url)
    _workflows(10, start=2)
    many = _count(admin_client, url)
    assert EmailWorkflow.objects.count() == 12
    assert many == few


def test_sent_emails_listing_constant_queries(admin_client):
    from wagtail_mailflow import api
    from wagtail_mailflow.engine.dispatch import run_due

    active_workflow(delays=((0, "days"),))
    url = reverse("mailflow_deliveries:index")
    api.subscribe("first@example.com", "Newsletter")
    run_due()
    few = _count(admin_client, url)
    for i in range(15):
        api.subscribe(f"c{i}@example.com", "Newsletter")
    run_due()
    many = _count(admin_client, url)
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 16
    assert many == few


def test_contact_listing_constant_queries(admin_client):
    url = reverse("mailflow_contacts:index")
    Contact.objects.create(email="one@example.com")
    few = _count(admin_client, url)
    Contact.objects.bulk_create([Contact(email=f"p{i}@example.com") for i in range(20)])
    many = _count(admin_client, url)
    assert many == few
