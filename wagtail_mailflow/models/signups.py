"""Which answers of a signup form page go into which contact field or property."""

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel
from wagtail.models import Orderable

from ..contact_fields import MAPPABLE_FIELDS, label
from .contacts import ContactProperty


def contact_field_choices():
    """Choices for a mapping's target: the contact fields a form may fill, then the properties."""
    fields = [(name, label(name)) for name in MAPPABLE_FIELDS]
    properties = [(p.name, f"{p} ({p.name})") for p in ContactProperty.objects.all()]
    choices = [("", "---------"), (_("Contact fields"), fields)]
    if properties:
        choices.append((_("Contact properties"), properties))
    return choices


class SignupFieldMapping(Orderable):
    """One row of a form page's mapping: form field (its name or label) → contact field or property.

    Rows hang off ``wagtailcore.Page`` so that any page model using
    :class:`wagtail_mailflow.forms.MailflowSignupFormMixin` gets them without a
    model of its own; the mixin's admin form checks them against the page's
    form fields when the page is saved.
    """

    page = ParentalKey(
        "wagtailcore.Page",
        on_delete=models.CASCADE,
        related_name="mailflow_field_mappings",
        verbose_name=_("page"),
    )
    form_field = models.CharField(
        _("form field"),
        max_length=255,
        help_text=_("The form field's label or name, e.g. 'First name' or 'first_name'."),
    )
    contact_field = models.CharField(
        _("contact field or property"),
        max_length=63,
        help_text=_("Where the answer is stored on the contact."),
    )

    panels = [
        FieldPanel("form_field"),
        FieldPanel("contact_field", widget=forms.Select(choices=contact_field_choices)),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("signup field mapping")
        verbose_name_plural = _("signup field mappings")

    def __str__(self):
        return f"{self.form_field} → {self.contact_field}"
