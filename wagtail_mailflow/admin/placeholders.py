"""The template editor's "Insert a placeholder" menu: what it lists and what each item inserts.

The menu is built for each request, so a contact property defined since is listed at once.
Its script (``placeholders.js``) inserts the placeholder where the cursor was in the text
field focused last: the subject, the preheader or a text of the body's blocks.
"""

from django.utils.text import capfirst
from django.utils.translation import gettext as _

from ..contact_fields import FIELDS
from ..models import ContactProperty
from ..rendering.personalise import placeholder

#: The template's own fields the menu inserts into (besides the texts of the body's blocks).
TEXT_FIELDS = ("subject", "preheader")
#: The prefix of the names of the body's inputs (its blocks' texts).
BODY_PREFIX = "body-"


def _item(variable, label):
    return {"label": str(label), "variable": variable, "placeholder": placeholder(variable)}


def menu_groups():
    """The menu's groups: the contact's fields a template may print, then the properties."""
    fields = [
        _item(f"contact.{field.name}", capfirst(field.label))
        for field in FIELDS
        if field.personalisation
    ]
    properties = [
        _item(f"contact.{prop.name}", capfirst(str(prop)))
        for prop in sorted(ContactProperty.objects.all(), key=lambda prop: str(prop).lower())
    ]
    groups = [{"label": _("Contact fields"), "items": fields}]
    if properties:
        groups.append({"label": _("Contact properties"), "items": properties})
    return groups


def menu_config():
    """The JSON the menu's script reads: the groups, the fields it inserts into, its texts."""
    return {
        "groups": menu_groups(),
        "fields": list(TEXT_FIELDS),
        "prefixes": [BODY_PREFIX],
        "strings": {
            # %(field)s: the label of the field the placeholder goes into.
            "target": _("Inserts where the cursor is in: %(field)s"),
            "noTarget": _(
                "Click into the subject, the preheader or a text of the body first: the "
                "placeholder goes where the cursor is."
            ),
            "braces": _("The value cannot contain '}}'."),
            "quotes": _("The value cannot contain both ' and \"."),
            "text": _("Text"),
        },
    }
