"""Fixtures shared by the whole suite."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_render_cache():
    """Per-process caches start empty: revision ids are reused after a rollback."""
    from wagtail_mailflow.engine import dispatch
    from wagtail_mailflow.rendering import clear_cache

    clear_cache()
    dispatch._PACE.seconds.clear()  # each test learns its backend's pace afresh
    yield
    clear_cache()
