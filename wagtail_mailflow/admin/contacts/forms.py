"""The contact form: the built-in fields, one field per contact property, lists to join."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.widgets import AdminDateInput

from ... import api, contact_fields
from ...models import (
    Contact,
    ContactList,
    ContactProperty,
    ListMembership,
)
from ...models.workflows import validate_timezone
from ..forms import choice_widgets

Source = ListMembership.Source


#: The built-in fields the form edits: the address and those an editor may change.
FORM_FIELDS = ["email", *contact_fields.EDITABLE_FIELDS]

PROPERTY_PREFIX = "property__"
BOOLEAN_CHOICES = [
    ("", gettext_lazy("Not set")),
    ("true", gettext_lazy("Yes")),
    ("false", gettext_lazy("No")),
]


def property_formfield(prop):
    """A form field for one contact property, by its type; values are checked by its coercion."""
    Type = ContactProperty.Type
    common = {
        "label": prop.label or prop.name,
        "required": False,
        "help_text": prop.description or "",
    }
    if prop.type == Type.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if prop.type == Type.BOOLEAN:
        return forms.ChoiceField(choices=BOOLEAN_CHOICES, **common)
    if prop.type == Type.DATE:
        return forms.CharField(widget=AdminDateInput(format="%Y-%m-%d"), **common)
    return forms.CharField(**common)


def property_initial(prop, value):
    """The form's initial value of a stored property value."""
    if value is None:
        return ""
    if prop.type == ContactProperty.Type.BOOLEAN:
        return "true" if value else "false"
    return value


class ContactForm(WagtailAdminModelForm):
    """A contact with one field per contact property, and lists to subscribe it to."""

    lists = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Subscribe to lists"),
        queryset=ContactList.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Welcome workflows of these lists start for this contact."),
    )
    confirmed = forms.BooleanField(
        label=gettext_lazy("Confirmed"),
        required=False,
        help_text=gettext_lazy(
            "The person has confirmed their subscription (needed on double opt-in lists)."
        ),
    )
    consent_note = forms.CharField(
        label=gettext_lazy("How was consent given?"),
        required=False,
        max_length=200,
        help_text=gettext_lazy('Recorded with the subscription, e.g. "Signed up at our stand".'),
    )

    class Meta:
        model = Contact
        fields = FORM_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choice_widgets(self, blank_language=True)
        self.property_definitions = list(ContactProperty.objects.all())
        stored = (self.instance.properties or {}) if self.instance.pk else {}
        for prop in self.property_definitions:
            name = PROPERTY_PREFIX + prop.name
            self.fields[name] = property_formfield(prop)
            self.initial.setdefault(name, property_initial(prop, stored.get(prop.name)))
        if self.instance.pk:
            current = self.instance.memberships.filter(left_at__isnull=True).values("contact_list")
            self.fields["lists"].queryset = ContactList.objects.exclude(pk__in=current)
        # lists, confirmation and consent note last, after the properties
        for name in ("lists", "confirmed", "consent_note"):
            self.fields[name] = self.fields.pop(name)

    def clean_timezone(self):
        value = (self.cleaned_data.get("timezone") or "").strip()
        if value:
            validate_timezone(value)
        return value

    def clean(self):
        cleaned = super().clean()
        self.property_values = {}
        for prop in self.property_definitions:
            name = PROPERTY_PREFIX + prop.name
            if name not in cleaned:
                continue
            raw = cleaned[name]
            if isinstance(raw, str) and not raw.strip():
                raw = None  # an empty field means "not set", whatever the type
            try:
                self.property_values[prop.name] = prop.coerce(raw)
            except ValidationError as exc:
                self.add_error(name, exc.messages)
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        # The JSON field is filled through the API, never straight from the form.
        self.instance.properties = self.instance.properties or {}

    def contact_fields(self):
        """The editable built-in fields as entered, for the API."""
        return {name: self.cleaned_data.get(name, "") for name in contact_fields.EDITABLE_FIELDS}

    def source_detail(self, user):
        note = self.cleaned_data.get("consent_note", "").strip()
        who = user.get_username() if user is not None else ""
        return f"{who}: {note}" if note else who

    def save_contact(self, user):
        """Create or update the contact through the API; returns the saved contact."""
        fields = self.contact_fields()
        lists = list(self.cleaned_data.get("lists") or [])
        detail = self.source_detail(user)
        confirmed = self.cleaned_data.get("confirmed", False)
        values = self.property_values
        if self.instance.pk is None:
            set_values = {k: v for k, v in values.items() if v is not None}
            if not lists:
                contact = Contact.objects.create(
                    email=self.cleaned_data["email"], properties=set_values, **fields
                )
                return contact
            contact = None
            for contact_list in lists:
                contact, _membership, _joined = api.subscribe(
                    self.cleaned_data["email"],
                    contact_list,
                    properties=set_values if contact is None else None,
                    source=Source.ADMIN,
                    source_detail=detail,
                    confirmed=confirmed,
                    **(fields if contact is None else {}),
                )
            return contact
        contact = self.instance
        if "email" in self.changed_data:
            Contact.objects.filter(pk=contact.pk).update(email=contact.email)
        api.update_contact(contact, properties=values, **fields)
        for contact_list in lists:
            api.subscribe(
                contact.email,
                contact_list,
                source=Source.ADMIN,
                source_detail=detail,
                confirmed=confirmed,
            )
        contact.refresh_from_db()
        return contact
