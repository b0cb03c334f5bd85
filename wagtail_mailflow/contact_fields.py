"""The contact's built-in fields and what each may be used for, the property types, and coercion.

Every other list of contact fields in the package derives from :data:`FIELDS`:
which fields a signup form may fill, which the site-user sync may fill, which
a template may print, which a condition may test, which a CSV column may fill,
which the personal-data export holds, and how long each may be. A property may
not take the name of a field (nor of another reserved name).

This module is a leaf: it imports only Django and :mod:`wagtail_mailflow.conf`
so that the condition language, the rendering and the models can all use it.
"""

import dataclasses
import datetime
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


@dataclasses.dataclass(frozen=True)
class ContactField:
    """One built-in field of a contact and the places it may be used."""

    name: str
    label: str
    max_length: int
    #: A signup form's answer (form page mapping, subscribe form) may fill it.
    mapping: bool = False
    #: The site-user sync may fill it from a user or profile attribute.
    sync: bool = False
    #: A template may print it as ``{{ contact.<name> }}``.
    personalisation: bool = False
    #: A condition (segment, contact-update trigger) may test it, as text.
    conditions: bool = False
    #: A CSV column may fill it.
    importable: bool = False
    #: The personal-data export includes it.
    export: bool = False
    #: ``api.update_contact()`` and the admin's contact form may change it.
    editable: bool = False


#: The contact's built-in fields, in the order editors see them.
FIELDS = (
    ContactField(
        "email",
        _("email address"),
        254,
        personalisation=True,
        conditions=True,
        importable=True,
        export=True,
    ),
    ContactField(
        "first_name",
        _("first name"),
        150,
        mapping=True,
        sync=True,
        personalisation=True,
        conditions=True,
        importable=True,
        export=True,
        editable=True,
    ),
    ContactField(
        "last_name",
        _("last name"),
        150,
        mapping=True,
        sync=True,
        personalisation=True,
        conditions=True,
        importable=True,
        export=True,
        editable=True,
    ),
    ContactField(
        "language",
        _("language"),
        12,
        mapping=True,
        sync=True,
        conditions=True,
        importable=True,
        export=True,
        editable=True,
    ),
    ContactField(
        "timezone",
        _("timezone"),
        63,
        mapping=True,
        sync=True,
        conditions=True,
        export=True,
        editable=True,
    ),
)

BY_NAME = {field.name: field for field in FIELDS}


def names(use):
    """The names of the fields flagged for ``use`` (e.g. ``"conditions"``), in order."""
    return tuple(field.name for field in FIELDS if getattr(field, use))


#: Every built-in field's name.
ALL_FIELDS = tuple(BY_NAME)
MAPPABLE_FIELDS = names("mapping")
SYNCED_FIELDS = names("sync")
PERSONALISATION_FIELDS = names("personalisation")
CONDITION_FIELDS = names("conditions")
IMPORT_FIELDS = names("importable")
EXPORT_FIELDS = names("export")
EDITABLE_FIELDS = names("editable")
#: Longest value each field holds.
MAX_LENGTHS = {field.name: field.max_length for field in FIELDS}

#: Names a property may not take: the fields, and what templates and lookups already use.
RESERVED_NAMES = frozenset(ALL_FIELDS) | {"unsubscribe_url", "properties", "id", "pk"}
PROPERTY_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def label(name):
    """The human name of a built-in field (lazy, lowercase like a model field's)."""
    return BY_NAME[name].label


def validate_property_name(value):
    """Property names are lowercase identifiers that do not shadow contact fields."""
    if not PROPERTY_NAME_RE.match(value or ""):
        raise ValidationError(
            _(
                "Use lowercase letters, digits and underscores, starting with a letter "
                "(at most 63 characters)."
            ),
            code="invalid",
        )
    if value in RESERVED_NAMES:
        raise ValidationError(
            _("'%(name)s' is reserved for a contact field."),
            code="reserved",
            params={"name": value},
        )


class PropertyType(models.TextChoices):
    """The type of a contact property: how its values are stored and compared."""

    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    BOOLEAN = "boolean", _("Boolean")
    DATE = "date", _("Date")


_TRUE = {"1", "true", "yes", "y", "on", "oui", "vrai"}
_FALSE = {"0", "false", "no", "n", "off", "non", "faux", ""}


def coerce_value(type_, raw, name="value"):
    """Coerce ``raw`` to the JSON form of a property type; ``None`` and '' mean "not set".

    Numbers are stored as JSON numbers (int when integral), booleans as JSON
    booleans and dates as ISO ``YYYY-MM-DD`` strings, so that the same value
    compares the same way in Python, SQLite and PostgreSQL.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and type_ != PropertyType.TEXT):
        return None
    if type_ == PropertyType.TEXT:
        if isinstance(raw, bool | dict | list):
            raise ValidationError(
                _("%(name)s: expected text."), code="invalid", params={"name": name}
            )
        return str(raw)
    if type_ == PropertyType.NUMBER:
        return _coerce_number(raw, name)
    if type_ == PropertyType.BOOLEAN:
        return _coerce_boolean(raw, name)
    if type_ == PropertyType.DATE:
        return _coerce_date(raw, name)
    raise ValidationError(_("Unknown property type %(type)s."), params={"type": type_})


def _not_a(message, name, raw):
    return ValidationError(message, code="invalid", params={"name": name, "value": raw})


def _coerce_number(raw, name):
    if isinstance(raw, bool):
        raise ValidationError(
            _("%(name)s: expected a number."), code="invalid", params={"name": name}
        )
    try:
        number = (
            Decimal(str(raw).strip().replace(",", ".")) if isinstance(raw, str) else Decimal(raw)
        )
    except (InvalidOperation, TypeError, ValueError):
        raise _not_a(_("%(name)s: '%(value)s' is not a number."), name, raw) from None
    if not number.is_finite():
        raise _not_a(_("%(name)s: '%(value)s' is not a number."), name, raw)
    if number == number.to_integral_value() and abs(number) < 2**53:
        return int(number)
    return float(number)


def _coerce_boolean(raw, name):
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _not_a(_("%(name)s: '%(value)s' is not yes/no."), name, raw)


def _coerce_date(raw, name):
    if isinstance(raw, datetime.datetime):
        return raw.date().isoformat()
    if isinstance(raw, datetime.date):
        return raw.isoformat()
    try:
        return datetime.date.fromisoformat(str(raw).strip()[:10]).isoformat()
    except ValueError:
        raise _not_a(_("%(name)s: '%(value)s' is not a date (YYYY-MM-DD)."), name, raw) from None
