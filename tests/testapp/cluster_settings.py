"""Settings for the real ``qcluster`` processes started by tests/engine/test_concurrency.py.

The test suite's settings, pointed at the pytest-django test database and at a
Redis queue of its own, with real (not inline) workers, a file sink for email
and short leases so a killed worker's claims come back within seconds.
Every value comes from the environment the test sets.
"""

import os

from wagtail_mailflow.settings_helpers import q_cluster

from .settings import *  # noqa: F403
from .settings import DATABASES
from .settings import Q_CLUSTER as SUITE_Q_CLUSTER

DATABASES["default"]["NAME"] = os.environ["MAILFLOW_TEST_DB_NAME"]

Q_CLUSTER = q_cluster(
    os.environ["REDIS_URL"],
    # The suite's name signs task packages, so the test process can queue tasks for these
    # clusters; the cluster name (the Redis queue) is unique to the run.
    name=SUITE_Q_CLUSTER["name"],
    cluster_name=os.environ["MAILFLOW_CLUSTER_NAME"],
    workers=int(os.environ.get("MAILFLOW_CLUSTER_WORKERS", "2")),
    timeout=int(os.environ.get("MAILFLOW_CLUSTER_TIMEOUT", "60")),
    sync=False,
    # Only successful dispatch results would be stored; nothing reads them here.
    save_limit=-1,
)

EMAIL_BACKEND = "tests.testapp.sink_backend.EmailBackend"
WAGTAIL_MAILFLOW_LEASE_SECONDS = int(os.environ.get("MAILFLOW_LEASE_SECONDS", "5"))
WAGTAIL_MAILFLOW_BATCH_SIZE = int(os.environ.get("MAILFLOW_BATCH_SIZE", "50"))
WAGTAIL_MAILFLOW_SEND_CONCURRENCY = int(os.environ.get("MAILFLOW_SEND_CONCURRENCY", "1"))
