"""The workflow editor in Chromium: a new email template written from a workflow that is
not saved yet. The button saves the workflow as a draft (or shows the form's errors, as
"Create" would), asks when the email is sent, the template editor opens, and publishing the
template comes back to the workflow with the email added. An email added in the Emails
section has no delay until the editor chooses one."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import (
    choose_when_the_email_is_sent,
    design_template,
    log_in,
    save_workflow,
)
from wagtail_mailflow.models import ContactList, EmailWorkflow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


@pytest.fixture
def newsletter():
    return ContactList.objects.create(name="Newsletter")


def test_a_new_workflow_gets_its_first_email_written_before_it_is_saved(
    page: Page, live_server, settings, editor, newsletter
):
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    page.set_default_timeout(15_000)
    page.add_init_script(
        "document.addEventListener('w-unsaved:watch-edits',"
        " () => { window.mailflowWatchingEdits = true; });"
    )
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/admin/mailflow/workflows/")
    page.get_by_role("link", name="Add email workflow").click()
    page.locator("#mailflow-scenario-welcome").get_by_role("link").click()
    emails = page.locator("#panel-mailflow_emails-section")
    new_template = emails.get_by_role("button", name="Create a new email template")
    expect(emails).to_contain_text("The workflow is saved as a draft with what you have entered")

    # Without a title the workflow cannot be saved: the errors show, as "Create" shows them.
    page.locator("#panel-mailflow_eligibility-section").get_by_label("Contact list").select_option(
        label="Newsletter"
    )
    new_template.click()
    expect(page.locator(".messages")).to_contain_text("could not be created due to errors")
    expect(page).to_have_url(re.compile(r"/admin/mailflow/workflows/new/"))
    title = page.locator("#panel-mailflow_details-section").get_by_label("Title")
    expect(page.locator("#panel-mailflow_details-section")).to_contain_text(
        "This field is required."
    )
    assert not EmailWorkflow.objects.exists()

    # With one, the draft is saved with what the form holds and the template editor opens.
    title.fill("Welcome series")
    emails.get_by_role("button", name="Create a new email template").click()
    # When is it sent? Not answered, the page says so; then immediately.
    expect(page.get_by_role("heading", name="When is this email sent?")).to_be_visible()
    page.get_by_role("button", name="Write the email").click()
    expect(page.get_by_text("Choose when this email is sent.")).to_be_visible()
    choose_when_the_email_is_sent(page)
    design_template(
        page,
        name="Hello and welcome",
        subject="Hello and welcome",
        heading="Welcome aboard!",
        text="Thank you for joining our newsletter.",
    )
    workflow = EmailWorkflow.objects.get()
    expect(page).to_have_url(re.compile(rf"/admin/mailflow/workflows/edit/{workflow.pk}/"))
    assert (workflow.title, workflow.status, workflow.contact_list) == (
        "Welcome series",
        EmailWorkflow.Status.DRAFT,
        newsletter,
    )
    expect(page.locator(".messages")).to_contain_text(
        "'Hello and welcome' was added to 'Welcome series'"
    )
    emails = page.locator("#panel-mailflow_emails-section")
    expect(emails.locator("#id_steps-0-delay_amount")).to_have_value("0")
    assert [step.template.name for step in workflow.steps.all()] == ["Hello and welcome"]

    # "Add email" in the Emails section: the new row's delay is empty, and must be chosen.
    emails.get_by_role("button", name="Add email").click()
    row = emails.locator("[data-inline-panel-child]:not(.deleted)").last
    expect(row.get_by_label("Send after")).to_have_value("")
    expect(row.get_by_label("Unit")).to_have_value("")
    row.get_by_role("button", name=re.compile("Choose")).click()
    chooser = page.locator(".modal-dialog")
    chooser.get_by_role("link", name="Hello and welcome").click()
    expect(chooser).to_be_hidden()
    page.get_by_role("button", name="Save", exact=True).click()
    row = page.locator("#panel-mailflow_emails-section [data-inline-panel-child]").last
    expect(row).to_contain_text("Choose when this email is sent.")
    assert workflow.steps.count() == 1
    row.get_by_label("Send after").fill("2")
    row.get_by_label("Unit").select_option("days")
    save_workflow(page)
    assert [(s.delay_amount, s.delay_unit) for s in workflow.steps.order_by("sort_order")] == [
        (0, "days"),
        (2, "days"),
    ]
