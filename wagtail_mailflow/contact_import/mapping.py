"""Mapping columns to contact fields and properties, and turning a row into a typed Record."""

import dataclasses
import re
import unicodedata

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from ..contact_fields import IMPORT_FIELDS, MAX_LENGTHS, coerce_value, label
from ..models import normalize_email

#: Contact fields a column can fill (besides properties).
FIELDS = IMPORT_FIELDS
PROPERTY_PREFIX = "property:"
#: Header names (normalised) proposed for each contact field a column can fill.
FIELD_ALIASES = {
    "email": {"email", "e_mail", "mail", "email_address", "e_mail_address", "courriel",
              "adresse_email", "adresse_e_mail", "adresse_mail"},
    "first_name": {"first_name", "firstname", "first", "given_name", "forename", "prenom"},
    "last_name": {"last_name", "lastname", "last", "surname", "family_name", "nom",
                  "nom_de_famille"},
    "language": {"language", "lang", "langue", "locale"},
}  # fmt: skip


@dataclasses.dataclass
class Record:
    """One row as it will be imported."""

    row: int
    email: str = ""
    fields: dict = dataclasses.field(default_factory=dict)
    properties: dict = dataclasses.field(default_factory=dict)
    errors: list = dataclasses.field(default_factory=list)  # (column, message)


def _normalise_header(header):
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def target_choices(definitions=None):
    """(value, label) pairs a column can be mapped to."""
    if definitions is None:
        definitions = list(apps.get_model("wagtail_mailflow", "ContactProperty").objects.all())
    choices = [("", _("Ignore this column"))]
    choices += [(name, capfirst(label(name))) for name in FIELDS]
    for prop in definitions:
        choices.append(
            (
                PROPERTY_PREFIX + prop.name,
                _("Property: %(label)s (%(type)s)")
                % {"label": prop.label or prop.name, "type": prop.get_type_display()},
            )
        )
    return choices


def propose_mapping(headers, definitions=None):
    """A target for each header, guessed from its name (a field, a property, or ignore)."""
    if definitions is None:
        definitions = list(apps.get_model("wagtail_mailflow", "ContactProperty").objects.all())
    by_name = {}
    for prop in definitions:
        by_name.setdefault(_normalise_header(prop.name), PROPERTY_PREFIX + prop.name)
        if prop.label:
            by_name.setdefault(_normalise_header(prop.label), PROPERTY_PREFIX + prop.name)
    mapping, used = [], set()
    for header in headers:
        key = _normalise_header(header)
        target = next((f for f, names in FIELD_ALIASES.items() if key in names), None)
        target = target or by_name.get(key, "")
        if target in used:
            target = ""
        used.add(target)
        mapping.append(target)
    return mapping


def validate_mapping(mapping, headers, definitions):
    """Raise ValidationError unless exactly one column is the email and no target repeats."""
    if len(mapping) != len(headers):
        raise ValidationError(_("Map each column of the file."))
    errors = []
    if mapping.count("email") != 1:
        errors.append(_("Exactly one column must be the email address."))
    seen = set()
    for header, target in zip(headers, mapping, strict=True):
        if not target:
            continue
        if target in seen:
            errors.append(
                _("“%(column)s”: another column is already mapped to the same field.")
                % {"column": header}
            )
        seen.add(target)
        if target.startswith(PROPERTY_PREFIX):
            if target[len(PROPERTY_PREFIX) :] not in definitions:
                errors.append(
                    _("“%(column)s”: there is no contact property '%(name)s'.")
                    % {"column": header, "name": target[len(PROPERTY_PREFIX) :]}
                )
        elif target not in FIELDS:
            errors.append(_("“%(column)s”: unknown field '%(target)s'.") % {
                "column": header, "target": target
            })  # fmt: skip
    if errors:
        raise ValidationError(errors)


def parse_row(number, cells, headers, mapping, definitions):
    """The Record for one row: values cleaned and typed, or errors (column, message)."""
    record = Record(row=number)
    if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
        record.errors.append(
            (
                "",
                _("This row has %(cells)s cells but the header names %(columns)s columns.")
                % {"cells": len(cells), "columns": len(headers)},
            )
        )
    for index, target in enumerate(mapping):
        if not target:
            continue
        raw = cells[index].strip() if index < len(cells) else ""
        column = headers[index]
        if target == "email":
            email = normalize_email(raw)
            if not email:
                record.errors.append((column, _("The email address is missing.")))
                continue
            try:
                validate_email(email)
            except ValidationError:
                record.errors.append(
                    (column, _("'%(email)s' is not a valid email address.") % {"email": raw})
                )
                continue
            record.email = email
        elif not raw:
            continue  # an empty cell never erases what the contact has
        elif target.startswith(PROPERTY_PREFIX):
            prop = definitions[target[len(PROPERTY_PREFIX) :]]
            try:
                record.properties[prop.name] = coerce_value(prop.type, raw, prop.name)
            except ValidationError as exc:
                record.errors.append((column, " ".join(exc.messages)))
        else:
            limit = MAX_LENGTHS[target]
            if len(raw) > limit:
                record.errors.append(
                    (column, _("At most %(limit)s characters.") % {"limit": limit})
                )
            else:
                record.fields[target] = raw
    return record
