"""The editor guide, walked end to end in Chromium against the live server.

An editor builds a segment with the condition builder, then the welcome series
of docs/editor-guide.md in the Wagtail admin (for that segment, two emails
designed with blocks on the spot), reviews and activates it; a visitor signs up
on the site's signup page and gets the welcome email; the statistics count
them. Then the replacement recipe (duplicate, edit the copy, lock the original,
activate the copy); a contact-update workflow whose condition is built with the
builder, which the editor's change to the visitor's contact sets off; and the
end of a workflow's life (stop, archive, delete). Screenshots of the key
screens land in test-artifacts/screenshots/ on every run; docs/img/ holds
copies of them.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect
from wagtail.models import Locale, Site
from wagtail.models import Page as WagtailPage

from tests.browser.steps import (
    add_condition,
    choose_when_the_email_is_sent,
    design_template,
    log_in,
    save_workflow,
)
from tests.testapp.models import SignupFormPage
from wagtail_mailflow.models import (
    ContactList,
    ContactProperty,
    Delivery,
    EmailTemplate,
    EmailWorkflow,
    Segment,
)

pytestmark = [
    pytest.mark.browser,
    # The live server answers from its own thread: it only sees committed data. Restoring
    # the migrations' data (Wagtail's root page and site) keeps other tests' world intact.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    # pytest-playwright's own base_url fixture; nothing to change on our side.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

Status = EmailWorkflow.Status
VISITOR = "ada@example.com"
SEGMENT = "Example readers"
SEGMENT_WORDS = "Email address ends with '@example.com'"
WELCOME_TRIGGER = (
    "Trigger: a new contact joins 'Newsletter'; only contacts who match the segment "
    f"'{SEGMENT}' ({SEGMENT_WORDS})"
)


@pytest.fixture
def newsletter():
    # The site's contacts carry loyalty points, which a contact-update workflow can watch.
    ContactProperty.objects.create(name="points", label="Loyalty points", type="number")
    return ContactList.objects.create(name="Newsletter")


@pytest.fixture
def signup_page(newsletter):
    """The site's signup page: a Wagtail form page that subscribes to the newsletter."""
    Locale.objects.get_or_create(language_code="en")
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is None:
        root = WagtailPage.get_first_root_node() or WagtailPage.add_root(
            instance=WagtailPage(title="Root", slug="root")
        )
        home = root.add_child(instance=WagtailPage(title="Home", slug="home"))
        site = Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    page = SignupFormPage(title="Join our newsletter", slug="join", mailflow_list=newsletter)
    site.root_page.add_child(instance=page)
    page.form_fields.create(sort_order=0, label="Your email", field_type="email", required=True)
    page.save_revision().publish()
    return page


def test_the_editor_guide_end_to_end(
    page: Page, browser, live_server, settings, editor, newsletter, signup_page, screenshot
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None  # no avatar fetched from the internet
    page.set_default_timeout(15_000)
    walk(page, browser, live_server.url, screenshot, signup_page)


def walk(page: Page, browser, base, screenshot, signup_page):
    """The guide, step by step; ``screenshot(page, name)`` keeps the key screens."""
    page.add_init_script(
        "document.addEventListener('w-unsaved:watch-edits',"
        " () => { window.mailflowWatchingEdits = true; });"
    )
    log_in(page, base)
    build_a_segment(page, base)
    welcome = create_the_welcome_series(page, base, screenshot)
    open_row_action(page, base, "Welcome series", "review")
    review_and_activate(page, welcome, screenshot, activate_label="Save and activate")
    expect(page.locator("#mailflow-read-only-banner")).to_contain_text("This workflow is active")
    screenshot(page, "05-active-read-only")
    assert EmailWorkflow.objects.get(pk=welcome.pk).status == Status.ACTIVE

    # -- A visitor signs up on the site, the welcome email goes out at once ------------------
    visitor = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        signup = visitor.new_page()
        signup.goto(base + signup_page.url)
        signup.get_by_label("Your email").fill(VISITOR)
        signup.get_by_role("button", name="Sign up").click()
        expect(signup.get_by_role("heading", name="Thank you for signing up")).to_be_visible()
    finally:
        visitor.close()
    welcome_emails = [m for m in mail.outbox if m.to == [VISITOR]]
    assert [m.subject for m in welcome_emails] == ["Hello and welcome, friend"]
    assert "Welcome aboard!" in welcome_emails[0].body
    deliveries = Delivery.objects.filter(contact__email=VISITOR).order_by("step__sort_order")
    assert [(d.step.template.name, d.status) for d in deliveries] == [
        ("Hello and welcome", Delivery.Status.SENT),
        ("Save up to 15% this week", Delivery.Status.SCHEDULED),
    ]

    # -- Statistics: one contact entered, one email sent ---------------------------------------
    open_row_action(page, base, "Welcome series", "statistics")
    expect(page.locator("[data-figure=entered]")).to_have_text("1")
    expect(page.locator("[data-figure=sent_total]")).to_have_text("1")
    expect(page.locator("[data-figure=in_workflow]")).to_have_text("1")
    screenshot(page, "06-statistics")

    # -- The replacement recipe: duplicate, edit the copy, lock the original, activate the copy
    open_row_action(
        page,
        base,
        "Welcome series",
        "duplicate",
        before_click=lambda: screenshot(page, "07-listing-actions"),
    )
    page.get_by_label("Name of the new workflow").fill("Welcome series v2")
    page.get_by_role("button", name="Duplicate", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("'Welcome series v2' is a draft copy")
    copy = EmailWorkflow.objects.get(title="Welcome series v2")
    emails = page.locator("#panel-mailflow_emails-section")
    emails.locator("#id_steps-1-delay_amount").fill("5")
    save_workflow(page)
    assert [(s.delay_amount, s.delay_unit) for s in copy.steps.order_by("sort_order")] == [
        (0, "days"),
        (5, "days"),
    ]

    open_row_action(page, base, "Welcome series", "lock")
    expect(page.locator("[data-mailflow-confirm=lock]")).to_be_visible()
    page.get_by_role("button", name="Yes, lock").click()
    expect(page.locator(".messages")).to_contain_text("Workflow 'Welcome series' is locked.")

    open_row_action(page, base, "Welcome series v2", "review")
    review_and_activate(page, copy, screenshot=None, activate_label="Save and activate")
    assert_lines(
        page,
        [
            WELCOME_TRIGGER,
            "'Hello and welcome' is sent immediately",
            "'Save up to 15% this week' is sent 5 days later",
        ],
    )
    assert dict(EmailWorkflow.objects.values_list("title", "status")) == {
        "Welcome series": Status.LOCKED,
        "Welcome series v2": Status.ACTIVE,
    }

    # -- A contact update: the visitor reaches 100 loyalty points, the reward goes out at once
    reward = create_the_loyalty_reward(page, base, screenshot)
    open_row_action(page, base, "Loyalty reward", "review")
    assert_lines(
        page,
        [
            "Trigger: a contact of 'Newsletter' is updated and now matches: Loyalty points ≥ 100",
            "'Your loyalty reward' is sent immediately",
        ],
    )
    review_and_activate(page, reward, screenshot=None, activate_label="Save and activate")
    give_points_to_the_visitor(page, base, "150")
    reward_emails = [m for m in mail.outbox if m.subject == "Your loyalty reward"]
    assert [m.to for m in reward_emails] == [[VISITOR]]
    assert "Thank you for your loyalty." in reward_emails[0].body
    assert list(
        Delivery.objects.filter(workflow=reward).values_list("contact__email", "status")
    ) == [(VISITOR, Delivery.Status.SENT)]
    # The Sent emails listing shows it.
    page.goto(f"{base}/admin/mailflow/sent-emails/")
    row = page.get_by_role("row").filter(has_text="Loyalty reward")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(VISITOR)
    # A change that leaves the condition true enters nobody a second time.
    give_points_to_the_visitor(page, base, "180")
    assert len([m for m in mail.outbox if m.subject == "Your loyalty reward"]) == 1

    # -- Stop, archive, delete ------------------------------------------------------------------
    open_row_action(page, base, "Welcome series v2", "stop")
    page.get_by_role("button", name="Yes, stop").click()
    expect(page.locator(".messages")).to_contain_text("Workflow 'Welcome series v2' is stopped.")

    open_row_action(page, base, "Welcome series v2", "archive")
    page.get_by_role("button", name="Yes, archive").click()
    expect(page.locator(".messages")).to_contain_text("Workflow 'Welcome series v2' is archived.")
    # Archived workflows live under their own tab only.
    expect(page.locator("[data-mailflow-status-tab=archived]")).to_have_attribute(
        "aria-current", "page"
    )
    page.locator("[data-mailflow-status-tab=all]").click()
    expect(page.get_by_role("link", name="Welcome series v2", exact=True)).to_have_count(0)
    page.locator("[data-mailflow-status-tab=archived]").click()

    open_row_action(page, base, "Welcome series v2", "delete", tab="archived")
    page.get_by_role("button", name=re.compile("Yes, delete")).click()
    expect(page.locator(".messages")).to_contain_text("deleted")
    assert dict(EmailWorkflow.objects.values_list("title", "status")) == {
        "Welcome series": Status.LOCKED,
        "Loyalty reward": Status.ACTIVE,
    }


def build_a_segment(page: Page, base):
    """A segment of the example.com addresses, built as rows: no JSON typed."""
    page.goto(f"{base}/admin/mailflow/segments/")
    page.get_by_role("link", name="Add segment").click()
    page.get_by_role("textbox", name=re.compile("^Name")).fill(SEGMENT)
    builder = page.locator("[data-controller=mailflow-conditions]")
    expect(builder.locator("textarea")).to_be_hidden()
    add_condition(builder, "Email address", "ends with", "@example.com")
    expect(builder.locator("[data-mailflow-conditions-target=count]")).to_have_text(
        "0 contacts match now."
    )
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(SEGMENT)
    assert Segment.objects.get(name=SEGMENT).conditions == {
        "match": "all",
        "conditions": [{"field": "email", "operator": "ends_with", "value": "@example.com"}],
    }


def create_the_loyalty_reward(page: Page, base, screenshot):
    """A contact-update workflow: its condition built as a row, then one email designed."""
    page.goto(f"{base}/admin/mailflow/workflows/")
    page.get_by_role("link", name="Add email workflow").click()
    page.locator("#mailflow-scenario-property_update").get_by_role("link").click()
    page.locator("#panel-mailflow_details-section").get_by_label("Title").fill("Loyalty reward")
    page.locator("#panel-mailflow_eligibility-section").get_by_label("Contact list").select_option(
        label="Newsletter"
    )
    trigger = page.locator("#panel-mailflow_trigger-section")
    add_condition(trigger, "Loyalty points", "is at least", "100")
    expect(trigger.locator("[data-mailflow-conditions-target=count]")).to_have_text(
        "0 contacts of 'Newsletter' match now."
    )
    trigger.scroll_into_view_if_needed()
    screenshot(page, "08-contact-update-condition")
    # Not saved yet: "Create a new email template" saves it as a draft on the way.
    page.locator("#mailflow-new-template").click()
    workflow = EmailWorkflow.objects.get(title="Loyalty reward")
    assert workflow.scenario == EmailWorkflow.Scenario.PROPERTY_UPDATE
    assert workflow.trigger_conditions == {
        "match": "all",
        "conditions": [{"field": "points", "operator": "gte", "value": 100}],
    }
    choose_when_the_email_is_sent(page)
    design_template(
        page,
        name="Your loyalty reward",
        subject="Your loyalty reward",
        heading="100 points!",
        text="Thank you for your loyalty.",
    )
    emails = page.locator("#panel-mailflow_emails-section")
    expect(emails.locator("#id_steps-0-delay_amount")).to_have_value("0")
    return workflow


def give_points_to_the_visitor(page: Page, base, points):
    """The editor opens the visitor's contact from the contacts listing and sets her points."""
    page.goto(f"{base}/admin/mailflow/contacts/")
    page.get_by_role("link", name=VISITOR, exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/mailflow/contacts/edit/\d+/"))
    page.get_by_label("Loyalty points").fill(points)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("updated")


def create_the_welcome_series(page: Page, base, screenshot):
    """Scenario card, details, eligibility, then two emails designed on the spot."""
    page.goto(f"{base}/admin/mailflow/workflows/")
    page.get_by_role("link", name="Add email workflow").click()
    expect(page.locator("[data-mailflow-scenario]")).to_have_count(5)
    screenshot(page, "01-scenario-cards")
    page.locator("#mailflow-scenario-welcome").get_by_role("link").click()

    details = page.locator("#panel-mailflow_details-section")
    details.get_by_label("Title").fill("Welcome series")
    details.get_by_label("Language").select_option("en")
    details.get_by_label("Timezone").fill("Europe/Paris")  # typed, with suggestions
    eligibility = page.locator("#panel-mailflow_eligibility-section")
    eligibility.get_by_label("Contact list").select_option(label="Newsletter")
    eligibility.get_by_label("Segment").select_option(label=SEGMENT)
    expect(eligibility.locator("[data-mailflow-eligible-count]")).to_contain_text(
        "0 contacts are eligible now"
    )
    # Every weekday, any hour, unless the editor narrows the sending period.
    sending = page.locator("#panel-mailflow_sending-section")
    expect(sending.locator("input[name=sending_days]:checked")).to_have_count(7)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Workflow 'Welcome series' created")
    workflow = EmailWorkflow.objects.get(title="Welcome series")
    assert (
        workflow.scenario,
        workflow.contact_list.name,
        workflow.segment.name,
        workflow.timezone,
    ) == (EmailWorkflow.Scenario.WELCOME, "Newsletter", SEGMENT, "Europe/Paris")

    # Email 1, sent immediately: "Create a new email template" comes back with it added.
    page.locator("#mailflow-new-template").click()
    choose_when_the_email_is_sent(page)
    design_template(
        page,
        name="Hello and welcome",
        subject="Hello and welcome, {{ contact.first_name|default:'friend' }}",
        heading="Welcome aboard!",
        text="Thank you for joining our newsletter.",
        screenshot=lambda: screenshot(page, "03-template-editor"),
    )
    emails = page.locator("#panel-mailflow_emails-section")
    expect(emails.locator("#id_steps-0-delay_amount")).to_have_value("0")

    # Email 2, three days later.
    page.locator("#mailflow-new-template").click()
    choose_when_the_email_is_sent(page, 3, "days")
    design_template(
        page,
        name="Save up to 15% this week",
        subject="Save up to 15% this week",
        heading="A welcome gift",
        text="Use the code WELCOME15 before Sunday.",
    )
    emails = page.locator("#panel-mailflow_emails-section")
    expect(emails.locator("#id_steps-1-delay_amount")).to_have_value("3")
    expect(emails.locator("#id_steps-1-delay_unit")).to_have_value("days")
    emails.scroll_into_view_if_needed()
    screenshot(page, "02-workflow-editor")
    save_workflow(page)
    steps = workflow.steps.order_by("sort_order")
    assert [(s.template.name, s.delay_amount, s.delay_unit) for s in steps] == [
        ("Hello and welcome", 0, "days"),
        ("Save up to 15% this week", 3, "days"),
    ]
    return workflow


def assert_lines(page: Page, expected):
    expect(page.locator("[data-mailflow-description-line]")).to_have_text(expected)


def review_and_activate(page: Page, workflow, screenshot, activate_label):
    """On the review page: the plain words, "Save and activate", confirm the dialog."""
    expect(page.locator("#mailflow-activation-problems")).to_have_count(0)
    if screenshot:
        assert_lines(
            page,
            [
                WELCOME_TRIGGER,
                "'Hello and welcome' is sent immediately",
                "'Save up to 15% this week' is sent 3 days later",
            ],
        )
        screenshot(page, "04-review")
    page.get_by_role("button", name=activate_label).click()
    dialog = page.locator("#mailflow-activate-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Yes, activate").click()
    expect(page.locator(".messages")).to_contain_text(f"Workflow '{workflow.title}' is active.")


def open_row_action(page: Page, base, title, action, tab="all", before_click=None):
    """The listing row's "More options" dropdown, then one of its actions."""
    query = "" if tab == "all" else f"?status={tab}"
    page.goto(f"{base}/admin/mailflow/workflows/{query}")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=title, exact=True))
    row.get_by_role("button", name=re.compile("More options")).click()
    item = row.locator(f"[data-mailflow-action={action}]")
    expect(item).to_be_visible()
    if before_click:
        before_click()
    item.click()


def test_a_draft_is_test_sent_and_deleted_and_a_template_starts_from_a_starter(
    page: Page, live_server, settings, editor, newsletter
):
    from tests.factories import make_workflow

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    page.set_default_timeout(15_000)
    base = live_server.url
    draft = make_workflow(title="Trial draft", contact_list=newsletter)
    log_in(page, base)

    # A draft is tried out before activation: "Send a test" from its actions menu.
    open_row_action(page, base, "Trial draft", "test_send")
    page.get_by_role("button", name=re.compile("Send")).first.click()
    expect(page.get_by_text(re.compile("sent to editor@example.com"))).to_be_visible()
    assert [m.to for m in mail.outbox] == [["editor@example.com"]]

    # And discarded: "Delete", confirmed.
    open_row_action(page, base, "Trial draft", "delete")
    page.get_by_role("button", name=re.compile("Yes, delete")).click()
    expect(page.get_by_role("link", name="Trial draft", exact=True)).to_have_count(0)
    assert not EmailWorkflow.objects.filter(pk=draft.pk).exists()

    # A new template from the birthday starter, published as it is.
    page.goto(f"{base}/admin/mailflow/templates/add/")
    page.locator("[data-mailflow-starter=birthday]").click()
    expect(page.locator("#id_subject")).to_have_value(re.compile("Happy birthday"))
    page.locator("#id_from_email").fill("news@example.com")
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text(re.compile("created and published"))).to_be_visible()
    assert (
        EmailTemplate.objects.filter(subject__startswith="Happy birthday", live=True).count() == 1
    )
