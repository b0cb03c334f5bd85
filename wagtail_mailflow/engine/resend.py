"""Sending a failed or unknown email again, on request, through the normal claim path.

Nothing is sent here: the deliveries go back to ``scheduled``, due now, with
their attempts reset, and the workers are woken (``signals.deliveries_due``).
The dispatcher then claims them like any other due email: the contact is
checked just before the ESP call (unsubscribed, suppressed or off the list:
not sent), the sending period and a sending pause are respected, and the
outcome is recorded as usual. The enrollment is not moved: its next email
already exists (or it completed), so a resent email that is sent now leaves it
as it is.

Only ``failed`` and ``unknown`` deliveries of workflows that send (active or
locked) whose contact may still receive email are taken; each row is taken
with a conditional UPDATE, so two people resending at once resend it once.
An ``unknown`` email may have reached the recipient: sending it again may
deliver it twice (the admin's confirmation says so).
"""

import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import signals
from ..models import Delivery, EmailWorkflow
from .claim import SENDABLE_WORKFLOWS
from .handover import unreachable_q

S = Delivery.Status

#: The statuses a delivery may be sent again from.
RESENDABLE = (S.FAILED, S.UNKNOWN)

NOTE = "Sent again on request at {when}; previous outcome: {status}."


def resendable(queryset: QuerySet | None = None) -> QuerySet:
    """The deliveries of ``queryset`` that may be sent again (one query when evaluated)."""
    queryset = Delivery.objects.all() if queryset is None else queryset
    return queryset.filter(status__in=RESENDABLE, workflow__status__in=SENDABLE_WORKFLOWS).exclude(
        unreachable_q()
    )


def send_again(delivery_ids, now: datetime.datetime | None = None) -> int:
    """Schedule these ``failed``/``unknown`` deliveries again, due now; returns how many.

    Deliveries that may not be sent again (another status, a workflow that does
    not send, a contact who may not receive email) are left alone.
    """
    now = now or timezone.now()
    ids = list(
        resendable(Delivery.objects.filter(pk__in=list(delivery_ids))).values_list("pk", flat=True)
    )
    if not ids:
        return 0
    done = 0
    with transaction.atomic():
        for status in RESENDABLE:  # the note says what each was
            done += Delivery.objects.filter(pk__in=ids, status=status).update(
                status=S.SCHEDULED,
                due_at=now,
                attempts=0,
                claim_token="",
                claimed_until=None,
                last_error=NOTE.format(when=now.isoformat(timespec="seconds"), status=status),
            )
        if done:
            signals.deliveries_due.send(sender=EmailWorkflow, workflow=None)
    return done
