"""The condition builder in Chromium: a segment and a contact-update trigger built with
clicks (no JSON typed), the live count following each change, an error shown next to its
row, and the JSON each form saves."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.steps import add_condition, log_in
from tests.factories import ContactFactory
from wagtail_mailflow.models import (
    ContactList,
    ContactProperty,
    EmailWorkflow,
    ListMembership,
    Segment,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


@pytest.fixture
def newsletter():
    ContactProperty.objects.create(name="points", label="Loyalty points", type="number")
    ContactProperty.objects.create(name="signed_up", label="Signed up", type="date")
    newsletter = ContactList.objects.create(name="Newsletter")
    today = timezone.now().astimezone(datetime.UTC).date()
    for email, properties in [
        ("ann@example.com", {"points": 150, "signed_up": str(today - datetime.timedelta(10))}),
        ("bob@example.com", {"points": 50, "signed_up": str(today - datetime.timedelta(100))}),
        ("cy@example.com", {"points": 300}),
    ]:
        contact = ContactFactory(email=email, properties=properties)
        ListMembership.objects.create(contact=contact, contact_list=newsletter)
    ContactFactory(email="outsider@example.com", properties={"points": 500})
    return newsletter


def test_a_segment_and_a_contact_update_trigger_built_with_clicks(
    page: Page, live_server, settings, editor, newsletter, screenshot
):
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    page.set_default_timeout(15_000)
    base = live_server.url
    log_in(page, base)

    # -- A segment ------------------------------------------------------------------------------
    page.goto(base + reverse("mailflow_segments:add"))
    page.get_by_role("textbox", name=re.compile("^Name")).fill("Loyal newcomers")
    builder = page.locator("[data-controller=mailflow-conditions]")
    count = builder.locator("[data-mailflow-conditions-target=count]")
    # With JavaScript the rows replace the JSON textarea.
    expect(builder.locator("textarea")).to_be_hidden()
    expect(builder.locator("[data-mailflow-conditions-target=empty]")).to_be_visible()
    expect(count).to_have_text("4 contacts match now.")
    # No condition is an answer too: a segment of every contact can be saved.
    expect(builder.locator("textarea")).to_have_value('{"match":"all","conditions":[]}')

    points = add_condition(builder, "Loyalty points", "is at least", "100")
    # Only the operators of a number, in words.
    expect(points.get_by_label("Operator").locator("option")).to_have_text(
        [
            "equals",
            "does not equal",
            "is more than",
            "is at least",
            "is less than",
            "is at most",
            "is set",
            "is not set",
        ]
    )
    expect(points.get_by_label("Value")).to_have_attribute("type", "number")
    expect(count).to_have_text("3 contacts match now.")

    builder.get_by_label("Count the matching contacts of").select_option(label="Newsletter")
    expect(count).to_have_text("2 contacts of 'Newsletter' match now.")
    expect(builder.locator("[data-mailflow-conditions-target=samples] li")).to_have_text(
        ["For example:", "ann@example.com", "cy@example.com"]
    )

    recent = add_condition(builder, "Signed up", "is within the last (days)")
    expect(recent.locator("[data-role=days]")).to_be_visible()
    recent.get_by_label("Value").fill("30")
    expect(count).to_have_text("1 contact of 'Newsletter' matches now.")

    # A row left without its value: the error is next to that row, and goes with it.
    unfinished = add_condition(builder, "First name", "is")
    expect(unfinished.locator("[data-role=error]")).to_have_text(
        "Condition 3: “first_name” needs a value."
    )
    expect(count).to_have_text("")
    unfinished.get_by_role("button", name="Remove this condition").click()
    expect(builder.locator("[data-role=error]:visible")).to_have_count(0)
    expect(count).to_have_text("1 contact of 'Newsletter' matches now.")

    builder.get_by_label("Contacts match").select_option(label="any of these conditions")
    expect(count).to_have_text("2 contacts of 'Newsletter' match now.")
    builder.get_by_label("Contacts match").select_option(label="all of these conditions")
    expect(count).to_have_text("1 contact of 'Newsletter' matches now.")
    # "is set" needs no value.
    named = add_condition(builder, "Loyalty points", "is set")
    expect(named.get_by_label("Value")).to_be_hidden()
    expect(count).to_have_text("1 contact of 'Newsletter' matches now.")
    page.evaluate(
        "document.querySelector('[data-controller=mailflow-conditions]')"
        ".closest('section').scrollIntoView()"
    )
    screenshot(page, "condition-builder")
    named.get_by_role("button", name="Remove this condition").click()

    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Loyal newcomers")
    assert Segment.objects.get(name="Loyal newcomers").conditions == {
        "match": "all",
        "conditions": [
            {"field": "points", "operator": "gte", "value": 100},
            {"field": "signed_up", "operator": "within_last_days", "value": 30},
        ],
    }

    # -- A contact-update trigger ----------------------------------------------------------------
    page.goto(f"{base}/admin/mailflow/workflows/")
    page.get_by_role("link", name="Add email workflow").click()
    page.locator("#mailflow-scenario-property_update").get_by_role("link").click()
    page.locator("#panel-mailflow_details-section").get_by_label("Title").fill("Loyalty reward")
    trigger = page.locator("#panel-mailflow_trigger-section")
    count = trigger.locator("[data-mailflow-conditions-target=count]")
    expect(count).to_have_text("Choose a contact list to see how many of its contacts match.")
    add_condition(trigger, "Loyalty points", "is more than", "200")
    page.locator("#panel-mailflow_eligibility-section").get_by_label("Contact list").select_option(
        label="Newsletter"
    )
    # The count follows the workflow's own list.
    expect(count).to_have_text("1 contact of 'Newsletter' matches now.")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(re.compile("Loyalty reward"))
    workflow = EmailWorkflow.objects.get(title="Loyalty reward")
    assert workflow.scenario == EmailWorkflow.Scenario.PROPERTY_UPDATE
    assert workflow.trigger_conditions == {
        "match": "all",
        "conditions": [{"field": "points", "operator": "gt", "value": 200}],
    }
    # Opened again, the builder shows the saved row.
    page.goto(base + reverse("mailflow_workflows:edit", args=[workflow.pk]))
    row = page.locator("#panel-mailflow_trigger-section [data-mailflow-conditions-target=row]")
    expect(row.get_by_label("Field")).to_have_value("points")
    expect(row.get_by_label("Operator")).to_have_value("gt")
    expect(row.get_by_label("Value")).to_have_value("200")
