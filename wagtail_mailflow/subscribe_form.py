"""The public subscribe form: its fields, the list it names and its signed configuration.

``{% mailflow_subscribe_form %}`` renders it and the subscribe view validates it. The
form posts a signed ``form`` value naming its list, extra fields, consent text and
thank-you address: only forms a site's own templates rendered can subscribe, and only
to the list they name, so lists the site never offered stay closed to the public.
"""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .contact_fields import MAPPABLE_FIELDS
from .models import ContactList, ContactProperty
from .rate_limit import HONEYPOT_FIELD, honeypot_field
from .tokens import read_form_config_value, sign_form_config


class FormConfigError(ValueError):
    """A template asked for a subscribe form that cannot be built (unknown list or field)."""


def _builtin_field(name):
    if name == "language":
        return forms.ChoiceField(
            label=gettext_lazy("Language"),
            required=False,
            choices=[("", "---------"), *settings.LANGUAGES],
        )
    labels = {
        "first_name": gettext_lazy("First name"),
        "last_name": gettext_lazy("Last name"),
        "timezone": gettext_lazy("Time zone"),
    }
    return forms.CharField(label=labels[name], required=False, max_length=150)


def _property_field(prop):
    Type = ContactProperty.Type
    label = prop.label or prop.name.replace("_", " ").capitalize()
    if prop.type == Type.NUMBER:
        return forms.DecimalField(label=label, required=False)
    if prop.type == Type.BOOLEAN:
        return forms.BooleanField(label=label, required=False)
    if prop.type == Type.DATE:
        return forms.DateField(
            label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
    return forms.CharField(label=label, required=False, max_length=255)


class SubscribeForm(forms.Form):
    """Email address, the extra fields a template asked for, an optional consent box, a honeypot."""

    email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        error_messages={
            "required": gettext_lazy("Enter your email address."),
            "invalid": gettext_lazy("Enter a valid email address, like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, extra_fields=(), consent="", properties=None, **kwargs):
        super().__init__(*args, **kwargs)
        if properties is None:
            properties = {p.name: p for p in ContactProperty.objects.filter(name__in=extra_fields)}
        for name in extra_fields:
            if name in MAPPABLE_FIELDS:
                self.fields[name] = _builtin_field(name)
            elif name in properties:
                self.fields[name] = _property_field(properties[name])
            else:
                raise FormConfigError(
                    _("'%(name)s' is neither a contact field nor a contact property.")
                    % {"name": name}
                )
        if consent:
            self.fields["consent"] = forms.BooleanField(
                label=consent,
                required=True,
                error_messages={"required": gettext_lazy("Tick this box to subscribe.")},
            )
        # Hidden from people (its widget); bots filling every input fill it.
        self.fields[HONEYPOT_FIELD] = honeypot_field()
        self.extra_fields = tuple(extra_fields)

    @property
    def honeypot(self):
        """The honeypot's bound field, for templates."""
        return self[HONEYPOT_FIELD]

    def values(self) -> dict[str, Any]:
        """The extra answers as ``{contact field or property: value}``."""
        return {name: self.cleaned_data.get(name) for name in self.extra_fields}


def resolve_list(contact_list: ContactList | int | str) -> ContactList:
    """A ContactList from an instance, a primary key or a name; FormConfigError if none."""
    if isinstance(contact_list, ContactList):
        return contact_list
    found = None
    if isinstance(contact_list, int) or (isinstance(contact_list, str) and contact_list.isdigit()):
        found = ContactList.objects.filter(pk=int(contact_list)).first()
    if found is None:
        found = ContactList.objects.filter(name=str(contact_list)).first()
    if found is None:
        raise FormConfigError(_("There is no contact list '%(name)s'.") % {"name": contact_list})
    return found


def parse_fields(fields: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"first_name city"`` or ``"first_name,city"`` or a list → a tuple of names."""
    if not fields:
        return ()
    if isinstance(fields, str):
        fields = fields.replace(",", " ").split()
    return tuple(dict.fromkeys(str(name).strip() for name in fields if str(name).strip()))


def make_form_config(
    contact_list: ContactList, fields: Iterable[str] = (), consent: str = "", next_url: str = ""
) -> str:
    """The signed value of a subscribe form's hidden ``form`` input."""
    data = {"l": contact_list.pk}
    if fields:
        data["f"] = list(fields)
    if consent:
        data["c"] = str(consent)
    if next_url:
        data["n"] = str(next_url)
    return sign_form_config(data)


def read_form_config(value: str | None) -> dict[str, Any] | None:
    """The dict signed by :func:`make_form_config`, or None if it was altered."""
    data = read_form_config_value(value or "")
    if not isinstance(data, dict) or not isinstance(data.get("l"), int):
        return None
    return data
