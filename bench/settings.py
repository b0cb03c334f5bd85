"""Settings for the benchmarks: the test project, a fresh file database, locmem email.

``MAILFLOW_BENCH_SQLITE`` (set by the benchmark to a file in a temporary
directory) or ``DATABASE_URL`` (``postgres://…``) chooses the database. The
task queue uses the ORM broker without ``sync``, so a wake-up after an entry is
one queued row, exactly as on a site, and never runs the dispatch inline.
"""

import os

from tests.testapp.settings import *  # noqa: F403
from tests.testapp.settings import INSTALLED_APPS
from wagtail_mailflow.settings_helpers import database_from_url, q_cluster

DEBUG = False
DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL"), os.environ.get("MAILFLOW_BENCH_SQLITE", "bench.sqlite3")
    )
}
Q_CLUSTER = q_cluster(None, name="mailflow-bench")
INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]

# Django's locmem backend (render the MIME message, deep-copy it into an outbox),
# with the outbox emptied as it fills so 100,000 emails do not stay in memory.
EMAIL_BACKEND = "bench.backends.LocmemEmailBackend"
POST_OFFICE = {"BACKENDS": {"default": EMAIL_BACKEND}}

WAGTAIL_MAILFLOW_BASE_URL = "https://example.com"
WAGTAIL_MAILFLOW_POSTAL_ADDRESS = "1 Example Street, 75001 Paris, France"
# Warnings only: django-q's "Enqueued" and post_office's per-batch lines would
# otherwise be printed in the middle of the figures.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django-q": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "post_office": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
