"""Steps the browser tests share, taken as an editor takes them in the Wagtail admin.

Not a test module: the tests import from here, never from one another.
"""

import json
import re

from playwright.sync_api import Page, expect

from wagtail_mailflow.models import EmailTemplate

#: The password of the ``editor`` fixture (``conftest.py``).
PASSWORD = "correct horse battery staple"


def log_in(page: Page, base):
    """Through Wagtail's login form, as an editor would."""
    page.goto(f"{base}/admin/login/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/admin/")


def add_condition(builder, field, operator, value=None):
    """ "Add a condition", then its field, operator and value, as an editor picks them."""
    builder.get_by_role("button", name="Add a condition").click()
    row = builder.locator("[data-mailflow-conditions-target=row]").last
    row.get_by_label("Field").select_option(label=field)
    row.get_by_label("Operator").select_option(label=operator)
    if value is not None:
        row.get_by_label("Value").fill(value)
    return row


def choose_when_the_email_is_sent(page: Page, amount=None, unit=None):
    """Before the template editor: "When is this email sent?", immediately unless told."""
    expect(page.get_by_role("heading", name="When is this email sent?")).to_be_visible()
    if amount is None:
        page.get_by_label("Immediately").check()
    else:
        page.get_by_label("After a delay").check()
        page.get_by_label("Send after").fill(str(amount))
        page.get_by_label("Unit").select_option(unit)
    page.get_by_role("button", name="Write the email").click()


def design_template(page: Page, *, name, subject, heading, text, screenshot=None):
    """The template editor: sender and subject, a heading block and a text block, publish."""
    expect(page).to_have_url(re.compile(r"/admin/mailflow/templates/add/"))
    page.wait_for_load_state()
    if page.locator("#w-autosave-indicator").count():
        # Wagtail notes the form's state two seconds after it loads and autosaves what differs
        # from it; an editor faster than that would have nothing saved, so the walk waits.
        # On a loaded machine the two seconds can stretch: the wait is generous.
        page.wait_for_function("window.mailflowWatchingEdits === true", timeout=30_000)
    page.get_by_role("textbox", name=re.compile(r"^Name")).fill(name)
    page.get_by_role("textbox", name=re.compile(r"^Subject")).fill(subject)
    page.get_by_role("textbox", name=re.compile(r"^From address")).fill("news@example.com")
    body = page.locator("[data-contentpath=body]").first
    body.get_by_role("button", name="Insert a block").click()
    page.get_by_role("option", name="Heading", exact=True).click()
    body.locator("#body-0-value-text").fill(heading)
    body.get_by_role("button", name="Insert a block").last.click()
    page.get_by_role("option", name="Text", exact=True).click()
    rich_text = body.locator("[role=textbox][contenteditable=true]")
    rich_text.click()
    page.keyboard.type(text)
    expect(rich_text).to_have_text(text)
    # Draftail copies its content into the form a moment after the last keystroke.
    expect(body.locator("#body-1-value")).to_have_value(re.compile(re.escape(text)))
    # Wagtail 8's autosave creates the template in the background once the body changes,
    # and the editor carries on in its edit view; publishing from there comes back to the
    # workflow. (Wagtail 7.4 has no autosave: publishing creates it.) Publishing before the
    # autosave lands would post to the create view a second time, so the walk waits for it,
    # generously: a loaded machine takes seconds to notice the change and save.
    autosave = page.locator("#w-autosave-indicator")
    if autosave.count():
        expect(page).to_have_url(re.compile(r"/admin/mailflow/templates/edit/\d+/"), timeout=30_000)
        expect(autosave).to_have_attribute("data-w-autosave-state-value", "saved", timeout=30_000)
    if screenshot:
        screenshot()
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(f"'{name}' was added")
    template = EmailTemplate.objects.get(name=name)
    assert template.live
    published = json.dumps(template.live_revision.content)
    assert heading in published and text in published


def save_workflow(page: Page):
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("updated")
