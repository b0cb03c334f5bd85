"""Words for the admin: a condition set as a sentence an editor reads."""

import datetime

from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..contact_fields import label
from .parse import ALL, DATE, NUMBER, TEXT, load_definitions, normalise_definitions, parse


def _field_label(condition, definitions):
    if condition.is_builtin:
        return capfirst(label(condition.field))
    definition = definitions.get(condition.field)
    if definition is None or isinstance(definition, str):
        return condition.field
    return capfirst(str(definition))


def _format_value(condition):
    value = condition.value
    if condition.type == NUMBER:
        return formats.number_format(value)
    if condition.type == DATE:
        return formats.date_format(datetime.date.fromisoformat(value))
    return value


def _describe_condition(condition, definitions):
    field = _field_label(condition, definitions)
    operator = condition.operator
    if operator == "is_set":
        return _("%(field)s is set") % {"field": field}
    if operator == "is_not_set":
        return _("%(field)s is not set") % {"field": field}
    if operator == "is_true":
        return _("%(field)s is yes") % {"field": field}
    if operator == "is_false":
        return _("%(field)s is no") % {"field": field}
    if operator == "within_last_days":
        return ngettext(
            "%(field)s is within the last %(days)s day",
            "%(field)s is within the last %(days)s days",
            condition.value,
        ) % {"field": field, "days": condition.value}
    if operator == "within_next_days":
        return ngettext(
            "%(field)s is within the next %(days)s day",
            "%(field)s is within the next %(days)s days",
            condition.value,
        ) % {"field": field, "days": condition.value}
    templates = {
        TEXT: {
            "equals": _("%(field)s is '%(value)s'"),
            "not_equals": _("%(field)s is not '%(value)s'"),
            "contains": _("%(field)s contains '%(value)s'"),
            "not_contains": _("%(field)s does not contain '%(value)s'"),
            "starts_with": _("%(field)s starts with '%(value)s'"),
            "ends_with": _("%(field)s ends with '%(value)s'"),
        },
        NUMBER: {
            "equals": _("%(field)s = %(value)s"),
            "not_equals": _("%(field)s ≠ %(value)s"),
            "gt": _("%(field)s > %(value)s"),
            "gte": _("%(field)s ≥ %(value)s"),
            "lt": _("%(field)s < %(value)s"),
            "lte": _("%(field)s ≤ %(value)s"),
        },
        DATE: {
            "on": _("%(field)s is on %(value)s"),
            "before": _("%(field)s is before %(value)s"),
            "after": _("%(field)s is after %(value)s"),
            "on_or_before": _("%(field)s is on or before %(value)s"),
            "on_or_after": _("%(field)s is on or after %(value)s"),
        },
    }
    return templates[condition.type][operator] % {
        "field": field,
        "value": _format_value(condition),
    }


def describe(spec, properties=None):
    """Readable text for an editor, e.g. "First name contains 'ann' and Points ≥ 100"."""
    conditions = parse(spec, properties)
    definitions = normalise_definitions(properties)
    if definitions is None:
        names = {c.field for c in conditions.conditions if not c.is_builtin}
        definitions = load_definitions(names) if names else {}
    if not conditions.conditions:
        return _("All contacts")
    parts = [_describe_condition(c, definitions) for c in conditions.conditions]
    joiner = _(" and ") if conditions.match == ALL else _(" or ")
    return joiner.join(parts)
