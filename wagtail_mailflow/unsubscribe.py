# Shim: old import path, removed once every import is updated.
"""Unsubscribe tokens and links now live in :mod:`wagtail_mailflow.tokens`."""

from .tokens import (  # noqa: F401
    InvalidToken,
    make_token,
    read_token,
    unsubscribe_path,
    unsubscribe_url,
    unsubscribe_url_maker,
)
