"""Email templates: a Wagtail snippet with revisions, draft/publish and live preview."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import DraftStateMixin, PreviewableMixin, Revision, RevisionMixin
from wagtail.search import index

from ..rendering import preview_context, validate_template
from ..rendering.blocks import EmailBodyBlock


class EmailTemplate(DraftStateMixin, RevisionMixin, PreviewableMixin, index.Indexed, models.Model):
    """One email's content: subject, sender and a body of blocks rendered through MJML."""

    name = models.CharField(_("name"), max_length=255, help_text=_("Internal name."))
    subject = models.CharField(_("subject"), max_length=255)
    preheader = models.CharField(
        _("preheader"),
        max_length=255,
        blank=True,
        help_text=_("Short summary shown after the subject in most inboxes."),
    )
    from_name = models.CharField(_("from name"), max_length=255, blank=True)
    from_email = models.EmailField(_("from address"), blank=True)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    body = StreamField(EmailBodyBlock(), verbose_name=_("body"), blank=True)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    panels = [
        FieldPanel("name"),
        MultiFieldPanel(
            [FieldPanel("subject"), FieldPanel("preheader")],
            heading=_("Subject"),
        ),
        MultiFieldPanel(
            [FieldPanel("from_name"), FieldPanel("from_email"), FieldPanel("reply_to")],
            heading=_("Sender"),
        ),
        FieldPanel("body"),
    ]

    search_fields = [
        index.SearchField("name"),
        index.AutocompleteField("name"),
        index.SearchField("subject"),
    ]

    class Meta:
        ordering = ["name"]
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        errors = validate_template(self)
        if errors:
            raise ValidationError(errors)

    def get_preview_template(self, request, mode_name):
        return "wagtail_mailflow/email_preview.html"

    def get_preview_context(self, request, mode_name):
        context = super().get_preview_context(request, mode_name)
        context.update(preview_context(self, mode_name))
        return context

    preview_modes = [("html", _("HTML")), ("text", _("Plain text"))]

    def revision_for_sending(self) -> Revision:
        """The published revision a workflow freezes at activation.

        A template created in code (live, but never saved as a revision) gets
        its first revision published here, so there is always a revision to freeze.
        """
        if self.live_revision_id:
            return self.live_revision
        if not self.live:
            raise ValidationError(_("Publish the template '%(name)s' first.") % {"name": self.name})
        revision = self.save_revision(clean=False)
        revision.publish()
        self.refresh_from_db(fields=["live_revision"])
        return self.live_revision

    def copy_for_workflow(self, name: str) -> "EmailTemplate":
        """A published copy of this template's live content under a new name."""
        source = self.live_revision.as_object() if self.live_revision_id else self
        copy = EmailTemplate(
            name=name,
            subject=source.subject,
            preheader=source.preheader,
            from_name=source.from_name,
            from_email=source.from_email,
            reply_to=source.reply_to,
            body=source.body.raw_data,
        )
        copy.save()
        copy.save_revision(clean=False).publish()
        copy.refresh_from_db()
        return copy
