"""Browser tests: Playwright drives the system's Chromium against Django's live server.

They run with the rest of the suite wherever ``/usr/bin/chromium`` exists (``make test``
installs it on Debian when it can) and are skipped, saying why, where it does not.
"""

import io
import os
from pathlib import Path

import pytest

from tests.browser.steps import PASSWORD

CHROMIUM = Path(os.environ.get("MAILFLOW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Where every run leaves its screenshots (gitignored); docs/img/ holds copies of them.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Skip the browser tests without Chromium, and run them last.

    Playwright's sync API keeps an asyncio loop running in the test thread
    from the first browser test to the end of the session; running the browser
    tests last keeps every other test out of that loop. They flush the database when they
    end, so a test after them would find no Wagtail site. This runs after pytest's own
    reordering, which groups the tests of a browser parameter together.
    """
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if not browser_items:
        return
    if not CHROMIUM.exists():
        if os.environ.get("MAILFLOW_REQUIRE_BROWSER"):
            raise pytest.UsageError(
                f"MAILFLOW_REQUIRE_BROWSER is set but Chromium is not at {CHROMIUM}"
            )
        skip = pytest.mark.skip(
            reason=f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
            "to run the browser tests"
        )
        for item in browser_items:
            item.add_marker(skip)
    others = [item for item in items if not item.get_closest_marker("browser")]
    items[:] = others + browser_items


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch the system's Chromium (Playwright downloads no browser here)."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A laptop-sized English window, so screenshots are the same on every machine."""
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "locale": "en-GB",
        "timezone_id": "Europe/Paris",
    }


@pytest.fixture(scope="session")
def playwright(playwright):
    """Playwright, with Django told that the loop it runs in this thread is not ours.

    Django refuses ORM calls from a thread with a running asyncio loop; the loop
    here only drives the browser, and the live server answers from its own thread.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield playwright
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` saves test-artifacts/screenshots/name.png.

    Transitions are finished first, and the PNG is reduced to 256 colours: the
    admin's flat colours survive, and the docs' copies stay a few dozen KB each.
    """
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        path = SCREENSHOTS / f"{name}.png"
        png = page.screenshot(animations="disabled")
        image = Image.open(io.BytesIO(png)).convert("RGB")
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        return path

    return take


@pytest.fixture
def editor(django_user_model):
    """A superuser who signs in through the admin's form with ``steps.PASSWORD``."""
    return django_user_model.objects.create_superuser(
        username="editor", email="editor@example.com", password=PASSWORD
    )
