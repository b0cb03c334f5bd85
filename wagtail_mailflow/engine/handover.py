"""The last checks before the ESP call, and handing rows over to it a group at a time.

Just before the ESP call, rows whose contact became unsubscribed, suppressed or
left the list are set aside; while the ESP calls go on, the contacts not yet
sent to are re-checked (``RECHECK_SECONDS``), so an unsubscribe during a batch
stops its later messages.
"""

import datetime
import time

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q

from .. import conf
from ..models import Delivery, Enrollment, ListMembership
from ..sending.concurrent import WINDOW
from .exits import stop

S = Delivery.Status


def unreachable_q() -> Q:
    """Deliveries whose contact may no longer receive this email (erased, unsubscribed, …)."""
    subscribed = ListMembership.objects.subscribed().filter(
        contact_id=OuterRef("contact_id"), contact_list_id=OuterRef("workflow__contact_list_id")
    )
    return (
        Q(contact__isnull=True)
        | Q(contact__unsubscribed_at__isnull=False)
        | Q(contact__suppressed_at__isnull=False)
        | ~Exists(subscribed)
    )


def set_aside_unreachable(token: str, now: datetime.datetime) -> int:
    """Claimed deliveries whose contact may no longer receive email: suppressed, enrollment exited.

    One query when every contact is still reachable (the usual case).
    """
    rows = list(
        Delivery.objects.filter(claim_token=token, status=S.CLAIMED)
        .filter(unreachable_q())
        .values_list("pk", "enrollment_id")
    )
    if rows:
        stop(
            Q(pk__in=[e for _pk, e in rows]),
            Q(pk__in=[pk for pk, _e in rows]),
            reason=Enrollment.ExitReason.SUPPRESSED,
            note="Not sent: the contact unsubscribed, was suppressed or left the list.",
            now=now,
        )
    return len(rows)


class Pace:
    """How long one message takes at each email backend in this process (a moving average)."""

    def __init__(self):
        self.seconds = {}

    @staticmethod
    def _backend():
        return getattr(settings, "EMAIL_BACKEND", "")

    def record(self, elapsed, messages):
        """Fold one batch's ESP time into the average of the current backend."""
        if messages:
            per_message = elapsed / messages
            previous = self.seconds.get(self._backend())
            self.seconds[self._backend()] = (
                per_message if previous is None else 0.7 * previous + 0.3 * per_message
            )

    def group_size(self):
        """How many rows to hand over at once so a group takes about HANDOVER_SECONDS."""
        seconds = self.seconds.get(self._backend())
        if seconds is None:
            return 8  # an unknown backend: start small, the pace is learnt from the first group
        target = float(conf.get("HANDOVER_SECONDS"))
        return max(1, int(target / max(seconds, 1e-6)))


#: The pace learnt in this process, shared by every batch.
PACE = Pace()


class Gate:
    """``should_send`` for a batch: rows are handed to the ESP a group at a time.

    Just before a group's first message, one UPDATE moves the group from
    ``claimed`` to ``sending`` (and counts the attempt). A worker killed
    mid-batch therefore leaves only its current group ``unknown``; the rest are
    still ``claimed`` and go out through another worker once the lease expires.
    Groups are sized from the measured pace to last about ``HANDOVER_SECONDS``:
    a fast backend hands a whole batch over in one UPDATE, a slow ESP pays one
    UPDATE per fraction of a second of ESP time.

    While the ESP calls go on, contacts not yet sent to are checked again (one
    query) every ``RECHECK_SECONDS``, so an unsubscribe during a batch stops its
    later messages.
    """

    def __init__(self, rows):
        self.rows = rows
        self.ids = [d.pk for d in rows]
        self.handed_upto = 0
        self.handed = 0
        self.withdrawn = set()
        self.checked_at = time.monotonic()

    def __call__(self, index: int) -> bool:
        """Whether message ``index`` may go out now (handing its group over first)."""
        if time.monotonic() - self.checked_at >= float(conf.get("RECHECK_SECONDS")):
            self.withdrawn.update(
                Delivery.objects.filter(pk__in=self.ids[index:])
                .filter(unreachable_q())
                .values_list("pk", flat=True)
            )
            self.checked_at = time.monotonic()
        if self.ids[index] in self.withdrawn:
            return False
        if index >= self.handed_upto:
            self._hand_over(index)
        return self.ids[index] not in self.withdrawn

    def _hand_over(self, index):
        size = PACE.group_size()
        if WINDOW.current() > 1:
            # Calls overlap: a group is one window, so a worker killed mid-batch leaves
            # about its calls in flight unknown, not half a second's worth of them.
            size = min(size, WINDOW.current())
        end = index + size
        group = [pk for pk in self.ids[index:end] if pk not in self.withdrawn]
        self.handed_upto = end
        if not group:
            return
        moved = Delivery.objects.filter(pk__in=group, status=S.CLAIMED).update(
            status=S.SENDING, attempts=F("attempts") + 1
        )
        handed = set(group)
        if moved != len(group):
            # Some rows left "claimed" meanwhile (an unsubscribe suppressed them).
            handed = set(
                Delivery.objects.filter(pk__in=group, status=S.SENDING).values_list("pk", flat=True)
            )
            self.withdrawn.update(set(group) - handed)
        for delivery in self.rows[index:end]:
            if delivery.pk in handed:
                delivery.handed = True
                delivery.attempts += 1
        self.handed += len(handed)
