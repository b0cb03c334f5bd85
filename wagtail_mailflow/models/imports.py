"""A CSV import of contacts into a list: the uploaded file, its mapping, and what the import did."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from .contacts import ContactList


class ContactImport(models.Model):
    """One CSV file on its way into a contact list, from upload to result.

    The uploaded file stays in the default storage between the admin steps
    (mapping, preview) and until the import has run, so a worker can read it.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Being prepared")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed, nothing imported")

    class Encoding(models.TextChoices):
        UTF8 = "utf-8", _("UTF-8 (with or without BOM)")
        LATIN1 = "latin-1", _("Latin-1 (ISO-8859-1)")

    file = models.FileField(_("file"), upload_to="wagtail_mailflow/imports/", blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    encoding = models.CharField(
        _("encoding"), max_length=10, choices=Encoding.choices, default=Encoding.UTF8
    )
    delimiter = models.CharField(_("delimiter"), max_length=1, default=",")
    headers = models.JSONField(_("column headers"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=list, blank=True)
    contact_list = models.ForeignKey(
        ContactList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="imports"
    )
    confirmed = models.BooleanField(_("memberships confirmed"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), default=now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("contacts created"), default=0)
    updated_count = models.PositiveIntegerField(_("contacts updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("contacts unchanged"), default=0)
    joined_count = models.PositiveIntegerField(_("new list members"), default=0)
    skipped_count = models.PositiveIntegerField(_("rows skipped"), default=0)
    invalid_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    #: The first problems found (row, column, message), shown on the result page.
    issues = models.JSONField(_("problems"), default=list, blank=True)
    errors_file = models.FileField(
        _("problems as CSV"), upload_to="wagtail_mailflow/imports/", blank=True
    )
    error_message = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")

    def __str__(self):
        return self.file_name

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)


class StagedImportRow(models.Model):
    """One valid row of an import on its way in, and then what applying it changed.

    An import first stages every valid row here in short transactions, so the
    file is read and checked completely before any contact changes; then it
    applies the rows chunk by chunk, each chunk in a short transaction of its
    own that records here what it did (the contact created, the values it
    replaced, the membership it started). If applying fails half-way, these
    records undo the chunks already applied: the import is all or nothing while
    signups and unsubscribes keep being written between its chunks. The rows of
    a run are deleted when it ends.
    """

    class Outcome(models.TextChoices):
        PENDING = "", _("Not applied yet")
        CREATED = "created", _("New contact")
        UPDATED = "updated", _("Contact updated")
        UNCHANGED = "unchanged", _("Contact unchanged")
        SKIPPED = "skipped", _("Skipped")

    run = models.CharField(_("run"), max_length=32)
    contact_list_id = models.BigIntegerField(_("list"))
    row = models.PositiveIntegerField(_("row"))
    email_key = models.CharField(_("lowercased address"), max_length=254)
    email = models.CharField(_("email"), max_length=254)
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default="", blank=True
    )
    contact_id = models.BigIntegerField(_("contact"), null=True, blank=True)
    joined = models.BooleanField(_("joined the list"), default=False)
    #: The contact's values before this row changed them, to undo it.
    previous = models.JSONField(_("previous values"), null=True, blank=True)
    #: What conditions saw before and after the change, for the contact-update triggers.
    state_before = models.JSONField(_("state before"), null=True, blank=True)
    state_after = models.JSONField(_("state after"), null=True, blank=True)
    created_at = models.DateTimeField(_("staged"), default=now, editable=False)

    class Meta:
        verbose_name = _("staged import row")
        verbose_name_plural = _("staged import rows")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "email_key"], name="mailflow_staged_unique_email"
            )
        ]
        indexes = [models.Index(fields=["run", "row"], name="mailflow_staged_run_row")]

    def __str__(self):
        return f"{self.run}:{self.row}"
