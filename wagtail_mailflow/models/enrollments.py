"""Enrollments: one contact's passage through one workflow."""

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from .contacts import Contact
from .workflows import EmailWorkflow


class Enrollment(models.Model):
    """A contact inside a workflow: when it entered, where it is, how it ended."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In the workflow")
        COMPLETED = "completed", _("Completed")
        EXITED = "exited", _("Exited")

    class ExitReason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        SUPPRESSED = "suppressed", _("Address suppressed")
        LEFT_LIST = "left_list", _("Left the list")
        ERASED = "erased", _("Contact erased")
        MANUAL = "manual", _("Removed by an editor")

    workflow = models.ForeignKey(
        EmailWorkflow,
        verbose_name=_("workflow"),
        on_delete=models.CASCADE,
        related_name="enrollments",
    )
    # Nullable so that erasing a contact keeps its enrollments, anonymous, for statistics.
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="enrollments",
    )
    #: Distinguishes allowed re-entries: '' for the only entry of a workflow
    #: without re-entry, the year for birthdays, the spell for reactivation.
    entry_key = models.CharField(_("entry key"), max_length=64, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    exit_reason = models.CharField(
        _("exit reason"), max_length=20, choices=ExitReason.choices, blank=True
    )
    entered_at = models.DateTimeField(_("entered"), default=now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["-entered_at"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "contact", "entry_key"], name="mailflow_enrollment_entry_unique"
            ),
            # Whatever the re-entry rules, a contact is in a workflow at most once at a time.
            models.UniqueConstraint(
                fields=["workflow", "contact"],
                condition=Q(status="active"),
                name="mailflow_enrollment_one_active",
            ),
        ]
        indexes = [models.Index(fields=["workflow", "status"], name="mailflow_enrol_wf_status")]

    def __str__(self):
        return f"{self.contact or '—'} in {self.workflow}"
