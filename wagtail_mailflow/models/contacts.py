"""Contacts, their typed properties, lists and memberships."""

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import ProtectedError
from django.db.models.functions import Lower
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from ..conditions import ConditionError, compile_q, evaluate
from ..conditions import validate as validate_conditions
from ..contact_fields import (
    MAX_LENGTHS,
    PropertyType,
    coerce_value,
    label,
    validate_property_name,
)

__all__ = [
    "Contact",
    "ContactList",
    "ContactProperty",
    "ListMembership",
    "Segment",
    "clean_properties",
    "coerce_value",
    "normalize_email",
    # Stored in migration 0001 as this module's attribute.
    "validate_property_name",
]


class ContactProperty(models.Model):
    """A typed property that contacts may carry (text, number, boolean or date)."""

    Type = PropertyType

    name = models.CharField(
        _("name"),
        max_length=63,
        unique=True,
        validators=[validate_property_name],
        help_text=_("Used in conditions and in emails, e.g. {{ contact.city }}."),
    )
    label = models.CharField(_("label"), max_length=255, blank=True)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.TEXT)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact property")
        verbose_name_plural = _("contact properties")

    def __str__(self):
        return self.label or self.name

    def coerce(self, raw):
        """Turn a raw value into this property's stored JSON form, or raise ValidationError."""
        return coerce_value(self.type, raw, self.name)

    def used_by(self):
        """The segments and workflows whose conditions (or date) read this property.

        Segments and workflows are few: their stored conditions are read here
        rather than searched as JSON, which each database does its own way.
        """
        segment_model = apps.get_model("wagtail_mailflow", "Segment")
        workflow_model = apps.get_model("wagtail_mailflow", "EmailWorkflow")
        users = [
            segment
            for segment in segment_model.objects.only("pk", "name", "conditions")
            if self.name in _condition_fields(segment.conditions)
        ]
        users += [
            workflow
            for workflow in workflow_model.objects.only(
                "pk", "title", "trigger_conditions", "date_property"
            )
            if workflow.date_property_id == self.pk
            or self.name in _condition_fields(workflow.trigger_conditions)
        ]
        return users

    def delete(self, *args, **kwargs):
        """Refused (``ProtectedError``) while a segment or a workflow uses the property."""
        users = self.used_by()
        if users:
            raise ProtectedError(
                _("The property “%(name)s” is used by: %(users)s.")
                % {"name": self.name, "users": ", ".join(str(user) for user in users)},
                set(users),
            )
        return super().delete(*args, **kwargs)


def _condition_fields(spec):
    """The field names a stored condition set reads (whatever else it holds)."""
    conditions = spec.get("conditions") if isinstance(spec, dict) else None
    if not isinstance(conditions, list):
        return set()
    return {c.get("field") for c in conditions if isinstance(c, dict)}


class ContactQuerySet(models.QuerySet):
    def get_by_email(self, email):
        """The contact with this address, whatever its case."""
        return self.get(email__iexact=normalize_email(email))

    def reachable(self):
        """Contacts that may receive marketing email at all."""
        return self.filter(unsubscribed_at__isnull=True, suppressed_at__isnull=True)


def normalize_email(email):
    """Trim an address and lowercase its domain (the local part keeps its case)."""
    email = (email or "").strip()
    local, sep, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if sep else email


class Contact(models.Model):
    """One email address, with its properties, consent and suppression state."""

    class SuppressionReason(models.TextChoices):
        HARD_BOUNCE = "bounced", _("Hard bounce")
        SOFT_BOUNCES = "soft_bounced", _("Repeated soft bounces")
        COMPLAINT = "complained", _("Spam complaint")
        REJECTED = "rejected", _("Rejected by the ESP")
        MANUAL = "manual", _("Suppressed by an editor")

    email = models.EmailField(label("email"), max_length=MAX_LENGTHS["email"])
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("site user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mailflow_contact",
    )
    first_name = models.CharField(
        label("first_name"), max_length=MAX_LENGTHS["first_name"], blank=True
    )
    last_name = models.CharField(
        label("last_name"), max_length=MAX_LENGTHS["last_name"], blank=True
    )
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    language = models.CharField(label("language"), max_length=MAX_LENGTHS["language"], blank=True)
    timezone = models.CharField(label("timezone"), max_length=MAX_LENGTHS["timezone"], blank=True)

    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_source = models.CharField(_("consent source"), max_length=255, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    suppressed_at = models.DateTimeField(_("suppressed at"), null=True, blank=True)
    suppression_reason = models.CharField(
        _("suppression reason"), max_length=20, choices=SuppressionReason.choices, blank=True
    )
    last_engaged_at = models.DateTimeField(_("last opened or clicked"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), default=now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="mailflow_contact_email_ci_unique",
                violation_error_message=_("A contact with this email address already exists."),
            ),
        ]
        indexes = [
            models.Index(fields=["last_engaged_at"], name="mailflow_contact_engaged"),
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def clean(self):
        self.email = normalize_email(self.email)
        self.properties = clean_properties(self.properties or {})

    @property
    def is_reachable(self):
        """True when nothing forbids sending marketing email to this contact."""
        return self.unsubscribed_at is None and self.suppressed_at is None


def clean_properties(values, definitions=None):
    """Validate and coerce a mapping of property values against their definitions.

    Unknown property names and values of the wrong type raise one
    ``ValidationError`` listing every problem. ``None`` removes a value.
    """
    if not isinstance(values, dict):
        raise ValidationError(_("Properties must be a mapping of name to value."))
    if definitions is None:
        definitions = {p.name: p for p in ContactProperty.objects.filter(name__in=list(values))}
    cleaned, errors = {}, []
    for name, raw in values.items():
        prop = definitions.get(name)
        if prop is None:
            errors.append(
                ValidationError(
                    _("Unknown contact property '%(name)s'."), code="unknown", params={"name": name}
                )
            )
            continue
        try:
            value = prop.coerce(raw)
        except ValidationError as exc:
            errors.append(exc)
            continue
        if value is not None:
            cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


class ContactList(models.Model):
    """A named list contacts subscribe to; workflows draw their contacts from one."""

    name = models.CharField(_("name"), max_length=255, unique=True)
    description = models.TextField(_("description"), blank=True)
    double_opt_in = models.BooleanField(
        _("double opt-in"),
        default=False,
        help_text=_("New members must confirm by email before any workflow sends to them."),
    )
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact list")
        verbose_name_plural = _("contact lists")

    def __str__(self):
        return self.name


class ListMembershipQuerySet(models.QuerySet):
    def subscribed(self):
        """Memberships that are current (not left) and confirmed where the list needs it."""
        return self.filter(left_at__isnull=True).filter(
            models.Q(contact_list__double_opt_in=False) | models.Q(confirmed_at__isnull=False)
        )


class ListMembership(models.Model):
    """A contact's membership of a list: when and how it joined, and whether it left."""

    class Source(models.TextChoices):
        FORM = "form", _("Form page")
        SUBSCRIBE = "subscribe", _("Subscribe form")
        API = "api", _("API")
        ADMIN = "admin", _("Added in the admin")
        IMPORT = "import", _("CSV import")
        USER = "user", _("Site user registration")

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="memberships"
    )
    contact_list = models.ForeignKey(
        ContactList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="memberships"
    )
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.API
    )
    source_detail = models.CharField(_("source detail"), max_length=255, blank=True)
    joined_at = models.DateTimeField(_("joined"), default=now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    objects = ListMembershipQuerySet.as_manager()

    class Meta:
        ordering = ["-joined_at"]
        verbose_name = _("list membership")
        verbose_name_plural = _("list memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "contact_list"], name="mailflow_membership_unique"
            ),
        ]

    def __str__(self):
        return f"{self.contact} → {self.contact_list}"

    @property
    def is_subscribed(self):
        """True when current and, for double opt-in lists, confirmed."""
        if self.left_at is not None:
            return False
        return not self.contact_list.double_opt_in or self.confirmed_at is not None


class Segment(models.Model):
    """A named set of conditions on contacts, evaluated in bulk or for one contact."""

    name = models.CharField(_("name"), max_length=255, unique=True)
    description = models.TextField(_("description"), blank=True)
    conditions = models.JSONField(
        _("conditions"),
        default=dict,
        help_text=_('{"match": "all" or "any", "conditions": [{"field", "operator", "value"}]}'),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self):
        return self.name

    def clean(self):
        try:
            validate_conditions(self.conditions)
        except ConditionError as exc:
            raise ValidationError({"conditions": str(exc)}) from exc

    def contacts(self, queryset=None):
        """The contacts matching this segment, as a queryset."""
        qs = queryset if queryset is not None else Contact.objects.all()
        return qs.filter(compile_q(self.conditions))

    def matches(self, contact):
        """Whether one contact matches (same answer as ``contacts()``)."""
        return evaluate(self.conditions, contact)
