"""Wagtail form pages as signup forms: a page mixin that subscribes whoever submits the form.

::

    from wagtail.contrib.forms.models import AbstractEmailForm
    from wagtail_mailflow.forms import MailflowSignupFormMixin

    class SignupPage(MailflowSignupFormMixin, AbstractEmailForm):
        content_panels = AbstractEmailForm.content_panels + [
            ...,
            *MailflowSignupFormMixin.mailflow_panels,
        ]

The mixin must come before ``AbstractForm`` / ``AbstractEmailForm``. Posts get the
subscribe view's guards (the same rate limit and a honeypot field). Its
``process_form_submission`` sends the notification email as usual but keeps no
Wagtail form submission unless the page class sets ``mailflow_keep_submissions =
True`` (the signups are contacts, under contact permissions and erasure; kept
submissions are listed only to users who may view contacts, and erasing a contact
deletes them). Then, once the transaction commits, it subscribes the address through
:func:`wagtail_mailflow.signup.subscribe_visitor` with source "form",
which starts the list's welcome workflows, or emails a confirmation link on a
double opt-in list. The editor picks the list, the form field holding the
address, an optional consent checkbox, and which answers go into which contact
field or property; the page's admin form checks those names against the page's
form fields when the page is saved.
"""

import logging
from functools import partial

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.forms import WagtailAdminFormPageForm
from wagtail.contrib.forms.models import AbstractFormField
from wagtail.contrib.forms.utils import get_field_clean_name

from ..contact_fields import MAPPABLE_FIELDS
from ..models import ContactProperty, ListMembership
from ..rate_limit import (
    FORM_PAGE_HONEYPOT_FIELD,
    caught_by_honeypot,
    honeypot_field,
    rate_limited,
    rate_limited_response,
)
from ..signup import Signup, subscribe_visitor

logger = logging.getLogger(__name__)

#: Wagtail form field types that can hold an address, and the one type a consent box may have.
EMAIL_FIELD_TYPES = ("email", "singleline")
CONSENT_FIELD_TYPES = ("checkbox",)

#: A page's form fields as ``(clean_name, label, field_type)`` triples.
FormFields = list[tuple[str, str, str]]


def resolve_field(reference: str | None, fields: FormFields) -> str | None:
    """The clean name of the form field ``reference`` names (by name or label), or None.

    ``fields`` are ``(clean_name, label, field_type)`` triples.
    """
    reference = (reference or "").strip()
    if not reference:
        return None
    for clean_name, _label, _type in fields:
        if clean_name == reference:
            return clean_name
    as_name = get_field_clean_name(reference)
    for clean_name, label, _type in fields:
        if clean_name == as_name or label.strip().lower() == reference.lower():
            return clean_name
    return None


def _field_type(clean_name, fields):
    return next((t for name, _label, t in fields if name == clean_name), None)


def _describe(fields):
    return ", ".join(f"'{label}' ({name})" for name, label, _t in fields) or _("none yet")


def page_settings_problems(
    *, contact_list, email_field: str, consent_field: str, fields: FormFields
) -> dict[str, str]:
    """Problems of a page's signup settings as ``{model field: message}`` (empty when fine)."""
    errors = {}
    if contact_list is None:
        if email_field or consent_field:
            errors["mailflow_list"] = _("Choose the list that people who submit this form join.")
        return errors
    if email_field:
        name = resolve_field(email_field, fields)
        if name is None:
            errors["mailflow_email_field"] = _(
                "There is no form field '%(name)s'. The form's fields are: %(fields)s."
            ) % {"name": email_field, "fields": _describe(fields)}
        elif _field_type(name, fields) not in EMAIL_FIELD_TYPES:
            errors["mailflow_email_field"] = _(
                "The field holding the address must be an 'Email' or 'Single line text' field."
            )
    elif not any(t == "email" for _n, _l, t in fields):
        errors["mailflow_email_field"] = _(
            "Add a form field of type 'Email' for the address, or name the field that holds it."
        )
    if consent_field:
        name = resolve_field(consent_field, fields)
        if name is None:
            errors["mailflow_consent_field"] = _(
                "There is no form field '%(name)s'. The form's fields are: %(fields)s."
            ) % {"name": consent_field, "fields": _describe(fields)}
        elif _field_type(name, fields) not in CONSENT_FIELD_TYPES:
            errors["mailflow_consent_field"] = _("The consent field must be a 'Checkbox' field.")
    return errors


def mapping_problems(
    form_field: str, contact_field: str, fields: FormFields, property_names: set[str]
) -> dict[str, str]:
    """Problems of one mapping row as ``{row field: message}``."""
    errors = {}
    if resolve_field(form_field, fields) is None:
        errors["form_field"] = _(
            "There is no form field '%(name)s'. The form's fields are: %(fields)s."
        ) % {"name": form_field, "fields": _describe(fields)}
    if contact_field not in MAPPABLE_FIELDS and contact_field not in property_names:
        errors["contact_field"] = _(
            "'%(name)s' is neither a contact field nor a contact property."
        ) % {"name": contact_field}
    return errors


class MailflowFormPageForm(WagtailAdminFormPageForm):
    """The page editor's form: checks the signup settings against the form fields being saved."""

    def clean(self):
        cleaned_data = super().clean()
        fields = self._mailflow_form_fields()
        values = {
            name: cleaned_data.get(name, getattr(self.instance, name, None))
            for name in ("mailflow_email_field", "mailflow_consent_field")
        }
        contact_list = (
            cleaned_data["mailflow_list"]
            if "mailflow_list" in cleaned_data
            else getattr(self.instance, "mailflow_list", None)
        )
        problems = page_settings_problems(
            contact_list=contact_list,
            email_field=values["mailflow_email_field"],
            consent_field=values["mailflow_consent_field"],
            fields=fields,
        )
        for name, message in problems.items():
            if name in self.fields:
                self.add_error(name, message)
            else:
                self.add_error(None, message)
        mappings = self.formsets.get("mailflow_field_mappings")
        if mappings is not None:
            property_names = set(ContactProperty.objects.values_list("name", flat=True))
            for row in mappings.forms:
                if not row.is_valid() or row.cleaned_data.get("DELETE"):
                    continue
                if not row.cleaned_data.get("form_field"):
                    continue
                for name, message in mapping_problems(
                    row.cleaned_data["form_field"],
                    row.cleaned_data.get("contact_field", ""),
                    fields,
                    property_names,
                ).items():
                    row.add_error(name, message)
        return cleaned_data

    def _mailflow_form_fields(self):
        """``(clean_name, label, field_type)`` of the form fields as they are being saved."""
        fields = []
        for related in self.instance._meta.related_objects:
            if not issubclass(related.related_model, AbstractFormField):
                continue
            formset = self.formsets.get(related.related_name)
            if formset is None:
                continue
            for row in formset.forms:
                if not row.is_valid() or row.cleaned_data.get("DELETE"):
                    continue
                label = row.cleaned_data.get("label") or ""
                clean_name = row.instance.clean_name or get_field_clean_name(label)
                fields.append((clean_name, label, row.cleaned_data.get("field_type")))
        return fields


class MailflowSignupFormMixin(models.Model):
    """Makes a Wagtail form page subscribe the address it collects to a contact list."""

    mailflow_list = models.ForeignKey(
        "wagtail_mailflow.ContactList",
        verbose_name=gettext_lazy("contact list"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=gettext_lazy(
            "People who submit this form join this list (and its welcome workflows). "
            "Leave empty to subscribe nobody."
        ),
    )
    mailflow_email_field = models.CharField(
        gettext_lazy("email field"),
        max_length=255,
        blank=True,
        help_text=gettext_lazy(
            "Label or name of the form field holding the address. "
            "Empty: the first field of type 'Email'."
        ),
    )
    mailflow_consent_field = models.CharField(
        gettext_lazy("consent checkbox"),
        max_length=255,
        blank=True,
        help_text=gettext_lazy(
            "Optional: label or name of a checkbox field. The visitor is subscribed only when "
            "it is ticked; make the field required to refuse the form otherwise."
        ),
    )

    base_form_class = MailflowFormPageForm

    #: Keep Wagtail's form submissions of this page (off: the signups are contacts, governed
    #: by contact permissions and erasure). When kept, only users who may view contacts see
    #: them, and erasing a contact deletes its submissions.
    mailflow_keep_submissions = False

    #: Add these to the page's ``content_panels`` (or another tab).
    mailflow_panels = [
        MultiFieldPanel(
            [
                FieldPanel("mailflow_list"),
                FieldPanel("mailflow_email_field"),
                FieldPanel("mailflow_consent_field"),
            ],
            heading=gettext_lazy("Newsletter signup"),
        ),
        InlinePanel(
            "mailflow_field_mappings",
            heading=gettext_lazy("Answers copied to the contact"),
            label=gettext_lazy("Answer"),
            help_text=gettext_lazy(
                "Which form fields fill which contact fields or properties. "
                "Answers that do not fit a property's type are skipped."
            ),
        ),
    ]

    class Meta:
        abstract = True

    def _mailflow_fields(self):
        return [(f.clean_name, f.label, f.field_type) for f in self.get_form_fields()]

    def serve(self, request, *args, **kwargs):
        """A signup post gets the subscribe view's guards: its rate limit and a honeypot."""
        if request.method == "POST" and self.mailflow_list_id:
            if rate_limited(request, "subscribe"):
                return rate_limited_response(request)
            if caught_by_honeypot(request.POST, FORM_PAGE_HONEYPOT_FIELD):
                return self.render_landing_page(request, None, *args, **kwargs)
        return super().serve(request, *args, **kwargs)

    def get_form(self, *args, **kwargs):
        """The visitor's form, with the honeypot; a text field chosen for the address is
        validated as one."""
        form = super().get_form(*args, **kwargs)
        if self.mailflow_list_id:
            form.fields[FORM_PAGE_HONEYPOT_FIELD] = honeypot_field()
        if self.mailflow_list_id and self.mailflow_email_field:
            name = resolve_field(self.mailflow_email_field, self._mailflow_fields())
            field = form.fields.get(name) if name else None
            if field is not None and validate_email not in field.validators:
                field.validators.append(validate_email)
        return form

    def process_form_submission(self, form):
        """Store the submission only if the page keeps them, then subscribe once it commits."""
        form.cleaned_data.pop(FORM_PAGE_HONEYPOT_FIELD, None)
        if self.mailflow_keep_submissions:
            submission = super().process_form_submission(form)
        else:
            submission = None
            if getattr(self, "to_address", ""):  # AbstractEmailForm's notification email
                self.send_mail(form)
        if self.mailflow_list_id:
            transaction.on_commit(
                partial(
                    self.mailflow_subscribe,
                    dict(form.cleaned_data),
                    language=translation.get_language(),
                )
            )
        return submission

    def mailflow_address_field(self, fields: FormFields | None = None) -> str | None:
        """The clean name of the form field holding the address: the one the editor named,
        else the first field of type *Email*; None when there is none."""
        fields = self._mailflow_fields() if fields is None else fields
        if self.mailflow_email_field:
            return resolve_field(self.mailflow_email_field, fields)
        return next((name for name, _l, t in fields if t == "email"), None)

    def mailflow_signup_values(self, cleaned_data: dict) -> tuple[str | None, dict]:
        """``(email, {contact field or property: answer})``; email None when nobody subscribes."""
        fields = self._mailflow_fields()
        email_name = self.mailflow_address_field(fields)
        if email_name is None:
            logger.warning("Form page %s: no email field %r", self.pk, self.mailflow_email_field)
            return None, {}
        email = (cleaned_data.get(email_name) or "").strip()
        if not email:
            return None, {}
        if self.mailflow_consent_field:
            consent_name = resolve_field(self.mailflow_consent_field, fields)
            if consent_name is None or not cleaned_data.get(consent_name):
                return None, {}
        values = {}
        for row in self.mailflow_field_mappings.all():
            name = resolve_field(row.form_field, fields)
            if name is None:
                logger.warning("Form page %s: no form field %r to map", self.pk, row.form_field)
                continue
            if name in cleaned_data and cleaned_data[name] not in (None, "", [], ()):
                values[row.contact_field] = cleaned_data[name]
        return email, values

    def mailflow_subscribe(
        self, cleaned_data: dict, *, language: str | None = None
    ) -> Signup | None:
        """Subscribe the submission's address to the page's list (runs after the commit)."""
        contact_list = self.mailflow_list
        if contact_list is None:
            return None
        email, values = self.mailflow_signup_values(cleaned_data)
        if email is None:
            return None
        try:
            return subscribe_visitor(
                email,
                contact_list,
                source=ListMembership.Source.FORM,
                source_detail=f"{self.title} (page {self.pk})",
                values=values,
                language=language,
                site=self.get_site(),
            )
        except ValidationError as exc:
            logger.warning("Form page %s: not subscribed: %s", self.pk, "; ".join(exc.messages))
        except Exception:
            # The submission itself is stored; a failed signup must not turn into a 500.
            logger.exception("Form page %s: could not subscribe the submitted address", self.pk)
        return None
