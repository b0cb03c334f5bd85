"""Parsing: a stored condition set, validated, becomes a ``ConditionSet`` with typed values."""

import dataclasses
import re

from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .. import conf
from ..contact_fields import CONDITION_FIELDS, PROPERTY_NAME_RE, PropertyType, coerce_value

TEXT = PropertyType.TEXT.value
NUMBER = PropertyType.NUMBER.value
BOOLEAN = PropertyType.BOOLEAN.value
DATE = PropertyType.DATE.value

ALL = "all"
ANY = "any"

_SET_OPERATORS = ("is_set", "is_not_set")

#: The operators each property type accepts, in the order an editor sees them.
OPERATORS = {
    TEXT: (
        "equals",
        "not_equals",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        *_SET_OPERATORS,
    ),
    NUMBER: ("equals", "not_equals", "gt", "gte", "lt", "lte", *_SET_OPERATORS),
    BOOLEAN: ("is_true", "is_false", *_SET_OPERATORS),
    DATE: (
        "on",
        "before",
        "after",
        "on_or_before",
        "on_or_after",
        "within_last_days",
        "within_next_days",
        *_SET_OPERATORS,
    ),
}

# Spellings accepted on input and stored under their canonical name.
_ALIASES = {DATE: {"equals": "on"}}

NO_VALUE_OPERATORS = frozenset({"is_set", "is_not_set", "is_true", "is_false"})
DAYS_OPERATORS = frozenset({"within_last_days", "within_next_days"})
_MAX_DAYS = 36_600  # a century is plenty; it also keeps date arithmetic in range

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def canonical_operator(type_, operator):
    """The operator's canonical name for a field of ``type_`` (``equals`` on a date is ``on``)."""
    return _ALIASES.get(type_, {}).get(operator, operator)


class ConditionError(ValueError):
    """A condition set that cannot be used; the message is written for an editor.

    ``position`` is the number (from 1) of the condition at fault, or None when the
    problem is with the set as a whole.
    """

    position = None


@dataclasses.dataclass(frozen=True)
class Condition:
    """One validated condition: the value is already coerced to the field's type."""

    field: str
    operator: str
    value: object
    type: str

    @property
    def is_builtin(self):
        return self.field in CONDITION_FIELDS

    def to_json(self):
        data = {"field": self.field, "operator": self.operator}
        if self.value is not None:
            data["value"] = self.value
        return data


@dataclasses.dataclass(frozen=True)
class ConditionSet:
    """A validated condition set; ``parse()`` makes one, every other function accepts one."""

    match: str = ALL
    conditions: tuple = ()

    def to_json(self):
        """The canonical stored form (aliases resolved, values coerced)."""
        return {"match": self.match, "conditions": [c.to_json() for c in self.conditions]}

    @property
    def fields(self):
        """The names of the fields the conditions read."""
        return {c.field for c in self.conditions}


def load_definitions(names=None):
    """Property definitions as ``{name: ContactProperty}`` (only ``names`` if given): one query."""
    qs = apps.get_model("wagtail_mailflow", "ContactProperty").objects.all()
    if names is not None:
        qs = qs.filter(name__in=list(names))
    return {p.name: p for p in qs}


def type_of(definition):
    return definition if isinstance(definition, str) else definition.type


def normalise_definitions(properties):
    if properties is None:
        return None
    if isinstance(properties, dict):
        return properties
    return {p.name: p for p in properties}


def parse(spec, properties=None):
    """Validate a stored condition set and return a ``ConditionSet`` with coerced values.

    ``properties`` maps property names to ``ContactProperty`` objects (or to
    type names); without it the definitions are loaded with one query when the
    conditions use a property. Raises ``ConditionError``.
    """
    if isinstance(spec, ConditionSet):
        return spec
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise ConditionError(_("Conditions must be an object with “match” and “conditions”."))
    match = spec.get("match") or ALL
    if match not in (ALL, ANY):
        raise ConditionError(_("Match must be “all” or “any”, not “%(match)s”.") % {"match": match})
    raw_conditions = spec.get("conditions") or []
    if not isinstance(raw_conditions, list | tuple):
        raise ConditionError(_("Conditions must be a list."))
    for raw in raw_conditions:
        if not isinstance(raw, dict):
            raise ConditionError(
                _("Each condition must be an object with a field, an operator and a value.")
            )

    definitions = normalise_definitions(properties)
    if definitions is None:
        names = {
            raw.get("field")
            for raw in raw_conditions
            if isinstance(raw.get("field"), str) and raw.get("field") not in CONDITION_FIELDS
        }
        definitions = load_definitions(names) if names else {}

    conditions = []
    for position, raw in enumerate(raw_conditions, start=1):
        try:
            conditions.append(_parse_condition(raw, definitions, position))
        except ConditionError as exc:
            exc.position = position
            raise
    return ConditionSet(match=match, conditions=tuple(conditions))


def validate(spec, properties=None):
    """:func:`parse` for saving: also refuses more than ``WAGTAIL_MAILFLOW_MAX_CONDITIONS``.

    A condition set of many hundreds of conditions becomes an SQL expression the
    database refuses ("Expression tree is too large"); the cap is checked when a
    segment or a trigger is saved, not when a stored one is used.
    """
    limit = conf.get("MAX_CONDITIONS")
    raw_conditions = spec.get("conditions") if isinstance(spec, dict) else None
    if limit and isinstance(raw_conditions, list | tuple) and len(raw_conditions) > limit:
        raise ConditionError(
            _(
                "There are %(count)s conditions; at most %(limit)s are allowed. "
                "Split them into several segments or workflows."
            )
            % {"count": len(raw_conditions), "limit": limit}
        )
    return parse(spec, properties)


def _parse_condition(raw, definitions, position):
    field = raw.get("field")
    operator = raw.get("operator")
    prefix = _("Condition %(number)s: ") % {"number": position}
    if not isinstance(field, str) or not field:
        raise ConditionError(prefix + _("choose a field."))
    if field in CONDITION_FIELDS:
        type_ = TEXT
    elif field in definitions and PROPERTY_NAME_RE.match(field):
        type_ = type_of(definitions[field])
        if type_ not in OPERATORS:
            raise ConditionError(
                prefix
                + _("the property “%(field)s” has an unknown type “%(type)s”.")
                % {"field": field, "type": type_}
            )
    else:
        raise ConditionError(
            prefix
            + _("unknown field “%(field)s”: there is no contact property by that name.")
            % {"field": field}
        )
    if not isinstance(operator, str) or not operator:
        raise ConditionError(prefix + _("choose an operator for “%(field)s”.") % {"field": field})
    operator = canonical_operator(type_, operator)
    if operator not in OPERATORS[type_]:
        raise ConditionError(
            prefix
            + _(
                "“%(operator)s” cannot be used with “%(field)s” (a %(type)s field); use one of: %(choices)s."
            )
            % {
                "operator": operator,
                "field": field,
                "type": PropertyType(type_).label,
                "choices": ", ".join(OPERATORS[type_]),
            }
        )
    value = _parse_value(type_, operator, raw.get("value"), field, prefix)
    return Condition(field=field, operator=operator, value=value, type=type_)


def _parse_value(type_, operator, raw, field, prefix):
    if operator in NO_VALUE_OPERATORS:
        return None
    if operator in DAYS_OPERATORS:
        try:
            if isinstance(raw, bool) or raw is None:
                raise ValueError
            days = int(raw.strip() if isinstance(raw, str) else raw)
            if isinstance(raw, float) and raw != days:
                raise ValueError
        except (TypeError, ValueError):
            raise ConditionError(
                prefix + _("“%(field)s” needs a whole number of days.") % {"field": field}
            ) from None
        if not 0 <= days <= _MAX_DAYS:
            raise ConditionError(
                prefix + _("the number of days must be between 0 and %(max)s.") % {"max": _MAX_DAYS}
            )
        return days
    if raw is None or (isinstance(raw, str) and raw == ""):
        raise ConditionError(prefix + _("“%(field)s” needs a value.") % {"field": field})
    try:
        value = coerce_value(type_, raw, field)
    except ValidationError as exc:
        raise ConditionError(prefix + " ".join(exc.messages)) from None
    if value is None:
        raise ConditionError(prefix + _("“%(field)s” needs a value.") % {"field": field})
    return value
