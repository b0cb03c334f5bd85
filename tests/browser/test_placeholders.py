"""The template editor's "Insert a placeholder" menu in Chromium: a first-name placeholder
with a default put into the subject and into a rich text block with clicks only (nothing
typed between braces), then the published template, its preview and the emails of a contact
with and without a first name."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import log_in
from tests.factories import ContactFactory
from wagtail_mailflow.models import ContactProperty, EmailTemplate
from wagtail_mailflow.rendering import compile_template, contact_values

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

SUBJECT = 'Hello {{ contact.first_name|default:"friend" }}!'
TEXT = 'Dear {{ contact.first_name|default:"reader" }}, welcome.'


def insert_placeholder(page: Page, label, default):
    """The menu: the value for contacts without one, then the field, as an editor clicks them."""
    page.get_by_role("button", name="Insert a placeholder").click()
    menu = page.locator(".mailflow-placeholders__menu")
    expect(menu).to_be_visible()
    menu.get_by_label("Value when the contact has none").fill(default)
    menu.get_by_role("button", name=re.compile(f"^{label}")).click()
    expect(menu).to_be_hidden()


def test_a_first_name_placeholder_inserted_from_the_menu_into_the_subject_and_a_text(
    page: Page, live_server, settings, editor, screenshot
):
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    ContactProperty.objects.create(name="city", label="Home town")
    page.set_default_timeout(15_000)
    base = live_server.url
    page.add_init_script(
        "document.addEventListener('w-unsaved:watch-edits',"
        " () => { window.mailflowWatchingEdits = true; });"
    )
    log_in(page, base)
    page.goto(f"{base}/admin/mailflow/templates/add/")
    page.wait_for_load_state()
    if page.locator("#w-autosave-indicator").count():
        # Autosave compares with the form's state noted two seconds after it loads.
        page.wait_for_function("window.mailflowWatchingEdits === true")
    status = page.locator("#mailflow-placeholders-status")
    expect(status).to_contain_text("Click into the subject")
    page.get_by_role("textbox", name=re.compile(r"^Name")).fill("Placeholders")
    page.get_by_role("textbox", name=re.compile(r"^From address")).fill("news@example.com")

    # The subject: the placeholder goes where the cursor is, before the "!".
    subject = page.get_by_role("textbox", name=re.compile(r"^Subject"))
    subject.fill("Hello !")
    subject.press("End")
    subject.press("ArrowLeft")
    expect(status).to_have_text("Inserts where the cursor is in: Subject")
    page.get_by_role("button", name="Insert a placeholder").click()
    menu = page.locator(".mailflow-placeholders__menu")
    # The contact's fields and the properties, by their labels, with what each inserts.
    expect(menu.locator(".mailflow-placeholders__item span")).to_have_text(
        ["Email address", "First name", "Last name", "Home town"]
    )
    expect(menu.locator(".mailflow-placeholders__item code")).to_have_text(
        [
            "{{ contact.email }}",
            "{{ contact.first_name }}",
            "{{ contact.last_name }}",
            "{{ contact.city }}",
        ]
    )
    screenshot(page, "placeholder-menu")
    # A value the placeholder cannot hold is refused, and nothing is inserted.
    menu.get_by_label("Value when the contact has none").fill('it\'s "fine"')
    menu.get_by_role("button", name=re.compile("^First name")).click()
    expect(menu.get_by_role("alert")).to_have_text("The value cannot contain both ' and \".")
    expect(subject).to_have_value("Hello !")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    insert_placeholder(page, "First name", "friend")
    expect(subject).to_have_value(SUBJECT)
    expect(subject).to_be_focused()

    # A text block (Draftail): typed before and after the inserted placeholder.
    body = page.locator("[data-contentpath=body]").first
    body.get_by_role("button", name="Insert a block").click()
    page.get_by_role("option", name="Text", exact=True).click()
    rich_text = body.locator("[role=textbox][contenteditable=true]")
    rich_text.click()
    page.keyboard.type("Dear ")
    expect(status).to_have_text("Inserts where the cursor is in: Text")
    insert_placeholder(page, "First name", "reader")
    page.keyboard.type(", welcome.")
    expect(rich_text).to_have_text(TEXT)
    # Draftail copies its content into the form a moment after the last change.
    hidden = body.locator("input[type=hidden][name$='-value']").first
    expect(hidden).to_have_value(re.compile(re.escape(TEXT.replace('"', '\\"'))))

    autosave = page.locator("#w-autosave-indicator")
    if autosave.count():
        # The autosave creates the template and the form carries on as its edit form.
        expect(page).to_have_url(re.compile(r"/admin/mailflow/templates/edit/\d+/"), timeout=30_000)
        expect(autosave).to_have_attribute("data-w-autosave-state-value", "saved", timeout=30_000)

    # Still there once the form is the template's edit form: a property, without a default.
    preheader = page.get_by_role("textbox", name=re.compile(r"^Preheader"))
    preheader.click()
    expect(status).to_have_text("Inserts where the cursor is in: Preheader")
    page.get_by_role("button", name="Insert a placeholder").click()
    home_town = page.locator(".mailflow-placeholders__menu").get_by_role(
        "button", name=re.compile("^Home town")
    )
    if autosave.count():
        # The insertion is an edit Wagtail notices: it is autosaved (and done before going on).
        with page.expect_response(
            lambda response: response.request.method == "POST" and "/edit/" in response.url,
            timeout=30_000,
        ):
            home_town.click()
    else:
        home_town.click()
    expect(preheader).to_have_value("{{ contact.city }}")

    # The preview shows the sample contact's first name.
    page.get_by_role("button", name="Toggle preview").click()
    preview = page.frame_locator("#w-preview-iframe")
    expect(preview.locator(".mailflow-subject")).to_have_text("Hello Jane!")
    expect(preview.frame_locator(".mailflow-html").locator("body")).to_contain_text(
        "Dear Jane, welcome."
    )

    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("'Placeholders'")

    template = EmailTemplate.objects.get(name="Placeholders")
    assert template.live
    stored = template.live_revision.as_object()
    assert stored.subject == SUBJECT
    assert stored.preheader == "{{ contact.city }}"
    [block] = stored.body
    assert block.block_type == "text"
    assert "Dear {{ contact.first_name|default:" in block.value.source

    compiled = compile_template(stored)
    ada = compiled.render(
        contact_values(ContactFactory(first_name="Ada", properties={"city": "Lyon"})), "#"
    )
    assert ada.subject == "Hello Ada!"
    assert ada.preheader == "Lyon"
    assert "Dear Ada, welcome." in ada.html and "Dear Ada, welcome." in ada.text
    nameless = compiled.render(contact_values(ContactFactory(first_name="")), "#")
    assert nameless.subject == "Hello friend!"
    assert "Dear reader, welcome." in nameless.html
    assert "Dear reader, welcome." in nameless.text
