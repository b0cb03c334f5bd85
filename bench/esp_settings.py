"""Settings for the ESP benchmark: the dispatch benchmark's, sending through anymail's Mailjet backend.

Read from the environment, which ``bench/esp_speed.py`` sets for itself and
for the ``qcluster`` processes it starts:

* ``MAILFLOW_BENCH_ESP_URL``: the test ESP's API root (``http://127.0.0.1:<port>/v3.1/``);
* ``MAILFLOW_BENCH_SQLITE`` or ``DATABASE_URL``: the database (see ``bench/settings.py``);
* ``REDIS_URL``: when set, django-q2's broker is Redis, else the ORM broker;
* ``MAILFLOW_BENCH_WORKERS``: workers per cluster (default 2);
* ``WAGTAIL_MAILFLOW_SEND_CONCURRENCY``, ``WAGTAIL_MAILFLOW_SEND_RATE``: passed
  through as the settings of the same names when set.
"""

import os

from bench.settings import *  # noqa: F403
from wagtail_mailflow.settings_helpers import q_cluster

EMAIL_BACKEND = "anymail.backends.mailjet.EmailBackend"
POST_OFFICE = {"BACKENDS": {"default": EMAIL_BACKEND}}
ANYMAIL = {
    "MAILJET_API_KEY": "k",
    "MAILJET_SECRET_KEY": "s",
    "MAILJET_API_URL": os.environ.get("MAILFLOW_BENCH_ESP_URL", "http://127.0.0.1:9/v3.1/"),
}
Q_CLUSTER = q_cluster(
    os.environ.get("REDIS_URL"),
    name="mailflow-bench-esp",
    workers=int(os.environ.get("MAILFLOW_BENCH_WORKERS") or 2),
)

if os.environ.get("WAGTAIL_MAILFLOW_SEND_CONCURRENCY"):
    WAGTAIL_MAILFLOW_SEND_CONCURRENCY = int(os.environ["WAGTAIL_MAILFLOW_SEND_CONCURRENCY"])
if os.environ.get("WAGTAIL_MAILFLOW_SEND_RATE"):
    WAGTAIL_MAILFLOW_SEND_RATE = os.environ["WAGTAIL_MAILFLOW_SEND_RATE"]
if os.environ.get("WAGTAIL_MAILFLOW_BATCH_SIZE"):
    WAGTAIL_MAILFLOW_BATCH_SIZE = int(os.environ["WAGTAIL_MAILFLOW_BATCH_SIZE"])
