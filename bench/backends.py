"""Django's locmem email backend with a bounded outbox, for benchmarks."""

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

#: Messages kept in ``mail.outbox`` before it is emptied.
OUTBOX_LIMIT = 1000


class LocmemEmailBackend(EmailBackend):
    """Does what locmem does for every message (``message()``, a deep copy into the outbox).

    The outbox is emptied every OUTBOX_LIMIT messages and the total is kept in
    ``LocmemEmailBackend.sent``, so memory stays flat however many are sent.
    """

    sent = 0
    last = None

    def send_messages(self, messages):
        count = super().send_messages(messages)
        type(self).sent += count
        if len(mail.outbox) >= OUTBOX_LIMIT:
            type(self).last = mail.outbox[-1]
            del mail.outbox[:]
        return count

    @classmethod
    def reset(cls):
        cls.sent = 0
        cls.last = None
        mail.outbox = []
