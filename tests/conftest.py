"""Fixtures shared by the whole suite."""

import pytest


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
