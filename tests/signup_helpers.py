"""Helpers for the signup tests: commit a request's on-commit work as a real commit would."""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def committed(capture):
    """Run the on-commit callbacks of the block (and those they add), then forget them.

    pytest-django keeps every test in one transaction; ``capture(execute=True)``
    runs the callbacks but leaves them queued on the connection, where the
    engine's once-per-transaction wake-up would find them and not queue another.
    """
    start = len(connection.run_on_commit)
    with capture(execute=True) as callbacks:
        yield callbacks
    del connection.run_on_commit[start:]
