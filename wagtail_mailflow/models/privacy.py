"""What is kept of an erased contact who asked not to be mailed: no personal data."""

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from ..tokens import address_hash, address_hashes


class DoNotContactQuerySet(models.QuerySet):
    def for_address(self, email):
        """The record of ``email`` (any case, any of the site's keys), or None."""
        return self.filter(address_hash__in=address_hashes(email)).first()

    def listed(self, emails):
        """The lowercased addresses among ``emails`` that have a record: one query."""
        by_hash = {}
        for email in emails:
            for digest in address_hashes(email):
                by_hash[digest] = email.strip().lower()
        if not by_hash:
            return set()
        found = self.filter(address_hash__in=list(by_hash)).values_list("address_hash", flat=True)
        return {by_hash[digest] for digest in found}

    def record(self, email, reason, *, now=None):
        """Keep (or refresh the reason of) the record of ``email``; returns it."""
        values = {"reason": reason}
        if now is not None:
            values["created_at"] = now
        record, _created = self.update_or_create(address_hash=address_hash(email), defaults=values)
        return record

    def forget(self, email):
        """Delete the record of ``email`` (the mailbox confirmed a new signup)."""
        return self.filter(address_hash__in=address_hashes(email)).delete()[0]


class DoNotContact(models.Model):
    """An erased address that must not be mailed again without proof from the mailbox.

    Written when a contact who was suppressed (a hard bounce, a complaint…) or
    unsubscribed from everything is erased. It holds no personal data: only a
    keyed hash of the lowercased address (``tokens.address_hash``), why, and when.
    Imports skip such an address; a signup for it waits for a confirmation.
    """

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed from all emails")
        SUPPRESSED = "suppressed", _("Suppressed (bounce, complaint or editor)")

    address_hash = models.CharField(_("address hash"), max_length=64, unique=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(_("recorded"), default=now, editable=False)

    objects = DoNotContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("do-not-contact record")
        verbose_name_plural = _("do-not-contact records")

    def __str__(self):
        return f"{self.get_reason_display()} ({self.created_at:%Y-%m-%d})"
