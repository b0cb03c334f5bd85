"""The sending pause: what it is now, and ending it on request.

Sending pauses (``SendingPause``, written by ``engine.outcomes``) when the ESP
refuses the account or the sender; while it lasts nothing is claimed and no
attempt is burned. The admin shows it across Mail automation and lets users
who may change workflows end it at once ("Resume now"): the pause is removed
and the workers are woken, so the emails it held go out now.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..models import EmailWorkflow, SendingPause


def active_pause(now: datetime.datetime | None = None) -> SendingPause | None:
    """The pause in force now, or None (one query)."""
    return SendingPause.objects.filter(until__gt=now or timezone.now()).order_by("-until").first()


def resume(now: datetime.datetime | None = None) -> bool:
    """End every pause now and wake the workers; returns whether one was in force."""
    now = now or timezone.now()
    with transaction.atomic():
        was_paused = SendingPause.objects.filter(until__gt=now).exists()
        SendingPause.objects.all().delete()
        signals.deliveries_due.send(sender=EmailWorkflow, workflow=None)
    return was_paused
