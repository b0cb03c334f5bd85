"""An email backend for multi-process tests: one line per accepted message, appended to a file.

Each line is ``"<delivery id> <pid>\\n"``, written with a single ``os.write`` on a
file opened with ``O_APPEND``, so lines from concurrent processes never
interleave. The file is named by the ``MAILFLOW_SINK_FILE`` environment
variable; ``MAILFLOW_SINK_DELAY`` (seconds, default 0) simulates the time an
ESP call takes.
"""

import os
import time

from django.core.mail.backends.base import BaseEmailBackend

from wagtail_mailflow.sending.messages import DELIVERY_METADATA_KEY


class EmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.path = os.environ["MAILFLOW_SINK_FILE"]
        self.delay = float(os.environ.get("MAILFLOW_SINK_DELAY") or 0)

    def send_messages(self, email_messages):
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for message in email_messages:
                if self.delay:
                    time.sleep(self.delay)
                delivery = message.metadata[DELIVERY_METADATA_KEY]
                os.write(fd, f"{delivery} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return len(email_messages)
