"""Words for the admin: a condition set as a sentence an editor reads."""

import datetime

from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from ..contact_fields import label
from .parse import (
    ALL,
    BOOLEAN,
    DATE,
    NUMBER,
    OPERATORS,
    TEXT,
    load_definitions,
    normalise_definitions,
    parse,
)

_SET_LABELS = {
    "is_set": pgettext_lazy("condition operator", "is set"),
    "is_not_set": pgettext_lazy("condition operator", "is not set"),
}

#: Each operator of each type in words, as an editor picks it in the condition builder.
OPERATOR_LABELS = {
    TEXT: {
        "equals": pgettext_lazy("condition operator", "is"),
        "not_equals": pgettext_lazy("condition operator", "is not"),
        "contains": pgettext_lazy("condition operator", "contains"),
        "not_contains": pgettext_lazy("condition operator", "does not contain"),
        "starts_with": pgettext_lazy("condition operator", "starts with"),
        "ends_with": pgettext_lazy("condition operator", "ends with"),
        **_SET_LABELS,
    },
    NUMBER: {
        "equals": pgettext_lazy("condition operator", "equals"),
        "not_equals": pgettext_lazy("condition operator", "does not equal"),
        "gt": pgettext_lazy("condition operator", "is more than"),
        "gte": pgettext_lazy("condition operator", "is at least"),
        "lt": pgettext_lazy("condition operator", "is less than"),
        "lte": pgettext_lazy("condition operator", "is at most"),
        **_SET_LABELS,
    },
    BOOLEAN: {
        "is_true": pgettext_lazy("condition operator", "is yes"),
        "is_false": pgettext_lazy("condition operator", "is no"),
        **_SET_LABELS,
    },
    DATE: {
        "on": pgettext_lazy("condition operator", "is on"),
        "before": pgettext_lazy("condition operator", "is before"),
        "after": pgettext_lazy("condition operator", "is after"),
        "on_or_before": pgettext_lazy("condition operator", "is on or before"),
        "on_or_after": pgettext_lazy("condition operator", "is on or after"),
        "within_last_days": pgettext_lazy("condition operator", "is within the last (days)"),
        "within_next_days": pgettext_lazy("condition operator", "is within the next (days)"),
        **_SET_LABELS,
    },
}


def operator_choices(type_):
    """``[(operator, words), ...]`` for a field of ``type_``, in the order of ``OPERATORS``."""
    return [(operator, OPERATOR_LABELS[type_][operator]) for operator in OPERATORS[type_]]


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
