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
