"""The package's menu in Chromium's sidebar, at 1280 px, in English and in French: its label
is shown whole (not cut off by the sidebar's ellipsis), and workflows, templates and sent
emails each show their own icon."""

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect
from wagtail.users.models import UserProfile

from tests.browser.steps import PASSWORD
from wagtail_mailflow.viewsets import (
    MailflowViewSetGroup,
    delivery_viewset,
    email_template_viewset,
    workflow_viewset,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


#: Width, scroll width and text-overflow of a label: cut off when the text is wider than the box.
MEASURE = """(label) => ({
    text: label.textContent.trim(),
    client: label.clientWidth,
    scroll: label.scrollWidth,
    overflow: getComputedStyle(label).textOverflow,
})"""


def log_in_as(page: Page, base, django_user_model, language):
    user = django_user_model.objects.create_superuser(
        username="editor", email="editor@example.com", password=PASSWORD
    )
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = language
    profile.save()
    # Straight to the workflows: the dashboard needs Wagtail's root page, which a browser
    # test run after another may lack.
    page.goto(f"{base}/admin/login/?next={workflow_viewset.menu_url}")
    page.locator("#id_username").fill("editor")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(f"{base}{workflow_viewset.menu_url}")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_menu_label_is_whole_and_its_items_have_distinct_icons(
    page: Page, live_server, settings, django_user_model, language
):
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None
    page.set_default_timeout(15_000)
    page.set_viewport_size({"width": 1280, "height": 800})
    base = live_server.url
    log_in_as(page, base, django_user_model, language)
    with translation.override(language):
        label = str(MailflowViewSetGroup.menu_label)
    expect(page.locator("html")).to_have_attribute("lang", language)

    menu = page.locator(".sidebar-main-menu")
    group = menu.locator(
        ".sidebar-menu-item__link",
        has=page.locator(".menuitem-label").get_by_text(label, exact=True),
    )
    expect(group).to_be_visible()
    measured = group.locator(".menuitem-label").evaluate(MEASURE)
    assert measured["text"] == label
    assert measured["client"] > 0  # the sidebar is open, labels shown
    assert measured["overflow"] == "ellipsis"  # the sidebar would cut a longer label
    assert measured["scroll"] <= measured["client"], measured

    group.click()
    icons = {}
    for viewset in (workflow_viewset, email_template_viewset, delivery_viewset):
        item = menu.locator(f'a.sidebar-menu-item__link[href="{viewset.menu_url}"]')
        expect(item).to_be_visible()
        sub_label = item.locator(".menuitem-label").evaluate(MEASURE)
        assert sub_label["scroll"] <= sub_label["client"], sub_label
        icon = item.locator("svg use").get_attribute("href")
        # The icon is drawn: its symbol is in the page's sprite.
        assert page.locator(f"symbol{icon}").count() == 1, icon
        icons[viewset.name] = icon
    assert len(set(icons.values())) == 3, icons
