"""Fixtures shared by the whole suite."""

import os

import pytest
from django.conf import settings


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL and Redis: skipped, saying why, without them;
    a failed run when MAILFLOW_REQUIRE_POSTGRES is set (CI's PostgreSQL section), so they never
    skip silently there."""
    if "postgresql" in settings.DATABASES["default"]["ENGINE"] and os.environ.get("REDIS_URL"):
        return
    needing = [item for item in items if item.get_closest_marker("postgres")]
    if not needing:
        return
    if os.environ.get("MAILFLOW_REQUIRE_POSTGRES"):
        raise pytest.UsageError(
            "MAILFLOW_REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL or REDIS_URL is "
            "not set"
        )
    skip = pytest.mark.skip(
        reason="needs PostgreSQL (DATABASE_URL=postgres://...) and Redis (REDIS_URL=redis://...)"
    )
    for item in needing:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_render_cache():
    """Per-process caches start empty: revision ids are reused after a rollback."""
    from wagtail_mailflow.engine import handover
    from wagtail_mailflow.rendering import clear_cache
    from wagtail_mailflow.sending.concurrent import WINDOW

    clear_cache()
    handover.PACE.seconds.clear()  # each test learns its backend's pace afresh
    WINDOW.clear()  # and how many ESP calls to keep in flight
    yield
    clear_cache()


@pytest.fixture
def signup_state(settings):
    """Signup tests: emails kept in memory, and rate-limit counters cleared before and after."""
    from django.core.cache import cache

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()
    yield
    cache.clear()
