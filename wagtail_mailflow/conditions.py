"""The one condition language, shared by segments and contact-update triggers.

A condition set is stored as JSON::

    {"match": "all" | "any",
     "conditions": [{"field": "first_name", "operator": "contains", "value": "ann"}, ...]}

``compile_q()`` turns it into a ``Q`` for bulk queries and ``evaluate()``
answers for one contact (a model instance, any object with the same
attributes, or a plain dict). Both give the same answer for every contact, on
SQLite and on PostgreSQL; ``tests/test_conditions.py`` checks this with
property-based tests. The rules both paths follow:

* An empty condition list matches every contact, for "all" and for "any"
  alike: a segment without conditions puts no restriction on who is in it.
* A field is *set* when it holds a usable value of its type: a non-empty
  string for text (built-in fields included), a JSON number, a JSON boolean,
  or a ``YYYY-MM-DD`` string for dates. A missing key, JSON ``null``, ``""``
  and a value of the wrong JSON type (a string left in a number property after
  its type changed, say) all count as *not set*.
* A field that is not set matches ``is_not_set`` and nothing else: not even
  ``not_equals`` or ``not_contains`` (as in SQL, an unknown value is neither
  equal nor different). Every condition is therefore either true or false,
  never SQL ``NULL``, so ``~compile_q(spec)`` is exactly the complement.
* Text comparisons ignore case for ASCII and Latin-1 letters plus Œ and Ÿ
  (every letter of French, German, Spanish, Italian, Portuguese, Dutch and
  the Nordic languages). Other characters, other scripts included, compare
  exactly: SQLite and the PostgreSQL locales disagree on Unicode case rules,
  so the package applies its own fixed table on every path.
* Numbers compare as IEEE-754 doubles (what JSON numbers are in Python and
  SQLite); integers beyond 2**53 lose precision exactly as ``float()`` does.
* Dates compare as ISO strings, byte by byte. ``within_last_days`` /
  ``within_next_days`` count whole days from ``today`` (the UTC date unless
  given), both ends included.
"""

import dataclasses
import datetime
import re
from decimal import Context, Decimal

from django.core.exceptions import ValidationError
from django.db import NotSupportedError
from django.db.backends.signals import connection_created
from django.db.models import BooleanField, Expression, F, Q
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models.contacts import (
    BUILTIN_FIELDS,
    PROPERTY_NAME_RE,
    Contact,
    ContactProperty,
    coerce_value,
)

__all__ = [
    "ALL",
    "ANY",
    "OPERATORS",
    "Condition",
    "ConditionError",
    "ConditionSet",
    "compile_q",
    "describe",
    "evaluate",
    "load_definitions",
    "parse",
]

TEXT = ContactProperty.Type.TEXT.value
NUMBER = ContactProperty.Type.NUMBER.value
BOOLEAN = ContactProperty.Type.BOOLEAN.value
DATE = ContactProperty.Type.DATE.value

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

_NO_VALUE_OPERATORS = frozenset({"is_set", "is_not_set", "is_true", "is_false"})
_DAYS_OPERATORS = frozenset({"within_last_days", "within_next_days"})
_MAX_DAYS = 36_600  # a century is plenty; it also keeps date arithmetic in range

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_DATE_REGEX_PG = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class ConditionError(ValueError):
    """A condition set that cannot be used; the message is written for an editor."""


@dataclasses.dataclass(frozen=True)
class Condition:
    """One validated condition: the value is already coerced to the field's type."""

    field: str
    operator: str
    value: object
    type: str

    @property
    def is_builtin(self):
        return self.field in BUILTIN_FIELDS

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


# --------------------------------------------------------------------------
# Case folding: one fixed table, applied identically in Python, SQLite and
# PostgreSQL. Kept small on purpose: PostgreSQL's TRANSLATE() scans the table
# for every character, so only strings with non-ASCII characters pay for it.

_FOLD_NON_ASCII = "".join(
    chr(cp)
    for cp in [*range(0xC0, 0xDF), 0x152, 0x178]
    if len(chr(cp).lower()) == 1 and chr(cp).lower() != chr(cp)
)
_FOLD_NON_ASCII_TO = "".join(ch.lower() for ch in _FOLD_NON_ASCII)
_FOLD_TABLE = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + _FOLD_NON_ASCII,
    "abcdefghijklmnopqrstuvwxyz" + _FOLD_NON_ASCII_TO,
)
_SQLITE_FOLD = "mailflow_fold"


def fold_case(text):
    """Lowercase ``text`` the way conditions compare it (see the module docstring)."""
    return text.translate(_FOLD_TABLE)


def _sqlite_fold(value):
    return value.translate(_FOLD_TABLE) if isinstance(value, str) else value


def _register_sqlite_fold(connection):
    # Registering once per raw connection matters: SQLite refuses to redefine
    # a function while another statement on the connection is still running.
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_mailflow_fold_for", None) is not raw:
        raw.create_function(_SQLITE_FOLD, 1, _sqlite_fold, deterministic=True)
        connection._mailflow_fold_for = raw


def _on_connection_created(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        _register_sqlite_fold(connection)


connection_created.connect(_on_connection_created, dispatch_uid="wagtail_mailflow.conditions")


# --------------------------------------------------------------------------
# Parsing


def load_definitions(names=None):
    """Property definitions as ``{name: ContactProperty}`` (only ``names`` if given): one query."""
    qs = ContactProperty.objects.all()
    if names is not None:
        qs = qs.filter(name__in=list(names))
    return {p.name: p for p in qs}


def _type_of(definition):
    return definition if isinstance(definition, str) else definition.type


def _normalise_definitions(properties):
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

    definitions = _normalise_definitions(properties)
    if definitions is None:
        names = {
            raw.get("field")
            for raw in raw_conditions
            if isinstance(raw.get("field"), str) and raw.get("field") not in BUILTIN_FIELDS
        }
        definitions = load_definitions(names) if names else {}

    conditions = tuple(
        _parse_condition(raw, definitions, position)
        for position, raw in enumerate(raw_conditions, start=1)
    )
    return ConditionSet(match=match, conditions=conditions)


def _parse_condition(raw, definitions, position):
    field = raw.get("field")
    operator = raw.get("operator")
    prefix = _("Condition %(number)s: ") % {"number": position}
    if not isinstance(field, str) or not field:
        raise ConditionError(prefix + _("choose a field."))
    if field in BUILTIN_FIELDS:
        type_ = TEXT
    elif field in definitions and PROPERTY_NAME_RE.match(field):
        type_ = _type_of(definitions[field])
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
    operator = _ALIASES.get(type_, {}).get(operator, operator)
    if operator not in OPERATORS[type_]:
        raise ConditionError(
            prefix
            + _(
                "“%(operator)s” cannot be used with “%(field)s” (a %(type)s field); use one of: %(choices)s."
            )
            % {
                "operator": operator,
                "field": field,
                "type": ContactProperty.Type(type_).label,
                "choices": ", ".join(OPERATORS[type_]),
            }
        )
    value = _parse_value(type_, operator, raw.get("value"), field, prefix)
    return Condition(field=field, operator=operator, value=value, type=type_)


def _parse_value(type_, operator, raw, field, prefix):
    if operator in _NO_VALUE_OPERATORS:
        return None
    if operator in _DAYS_OPERATORS:
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


# --------------------------------------------------------------------------
# One contact


def _today(today):
    if today is None:
        return timezone.now().astimezone(datetime.UTC).date()
    if isinstance(today, datetime.datetime):
        return today.date()
    return today


def _date_range(operator, days, today):
    """The inclusive ISO bounds of a relative date condition."""
    if operator == "within_last_days":
        try:
            start = today - datetime.timedelta(days=days)
        except OverflowError:
            start = datetime.date.min
        return start.isoformat(), today.isoformat()
    try:
        end = today + datetime.timedelta(days=days)
    except OverflowError:
        end = datetime.date.max
    return today.isoformat(), end.isoformat()


def _to_double(number):
    try:
        return float(number)
    except OverflowError:
        return float("inf") if number > 0 else float("-inf")


def _raw_value(contact, field):
    if isinstance(contact, dict):
        if field in BUILTIN_FIELDS:
            return contact.get(field)
        return (contact.get("properties") or {}).get(field)
    if field in BUILTIN_FIELDS:
        return getattr(contact, field, None)
    return (getattr(contact, "properties", None) or {}).get(field)


def _usable(type_, raw):
    """The value as conditions see it, or None when the field counts as not set."""
    if type_ == TEXT:
        return raw if isinstance(raw, str) and raw != "" else None
    if type_ == NUMBER:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return _to_double(raw)
        return None
    if type_ == BOOLEAN:
        return raw if isinstance(raw, bool) else None
    if type_ == DATE:
        return raw if isinstance(raw, str) and _DATE_RE.fullmatch(raw) else None
    return None


def _evaluate_condition(condition, contact, today):
    value = _usable(condition.type, _raw_value(contact, condition.field))
    operator = condition.operator
    if operator == "is_set":
        return value is not None
    if operator == "is_not_set":
        return value is None
    if value is None:
        return False
    type_ = condition.type
    if type_ == TEXT:
        value, wanted = fold_case(value), fold_case(condition.value)
        return {
            "equals": value == wanted,
            "not_equals": value != wanted,
            "contains": wanted in value,
            "not_contains": wanted not in value,
            "starts_with": value.startswith(wanted),
            "ends_with": value.endswith(wanted),
        }[operator]
    if type_ == NUMBER:
        wanted = float(condition.value)
        return {
            "equals": value == wanted,
            "not_equals": value != wanted,
            "gt": value > wanted,
            "gte": value >= wanted,
            "lt": value < wanted,
            "lte": value <= wanted,
        }[operator]
    if type_ == BOOLEAN:
        return value is (operator == "is_true")
    # DATE
    if operator in _DAYS_OPERATORS:
        start, end = _date_range(operator, condition.value, today)
        return start <= value <= end
    wanted = condition.value
    return {
        "on": value == wanted,
        "before": value < wanted,
        "after": value > wanted,
        "on_or_before": value <= wanted,
        "on_or_after": value >= wanted,
    }[operator]


def evaluate(spec, contact, properties=None, today=None):
    """Whether one contact matches: the same answer as ``compile_q()`` gives in bulk.

    ``contact`` is a ``Contact``, any object with its attributes, or a dict
    such as ``{"email": ..., "first_name": ..., "properties": {...}}`` (a
    state before or after an update). No query runs when ``spec`` is already
    parsed or ``properties`` is given.
    """
    conditions = parse(spec, properties)
    if not conditions.conditions:
        return True
    today = _today(today)
    results = (_evaluate_condition(c, contact, today) for c in conditions.conditions)
    return all(results) if conditions.match == ALL else any(results)


# --------------------------------------------------------------------------
# In bulk


class ConditionExpression(Expression):
    """One condition as a boolean SQL expression that is never NULL."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, condition, column, today=None):
        super().__init__()
        self.condition = condition
        self.column = column if hasattr(column, "resolve_expression") else F(column)
        self.today = today

    def __repr__(self):
        return f"{self.__class__.__name__}({self.condition!r})"

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        raise NotSupportedError(
            f"Contact conditions support SQLite and PostgreSQL, not {connection.vendor}."
        )

    def _comparison_params(self):
        c = self.condition
        if c.type == TEXT:
            return fold_case(c.value)
        if c.type == NUMBER:
            return float(c.value)
        if c.operator in _DAYS_OPERATORS:
            return _date_range(c.operator, c.value, self.today)
        return c.value

    def as_sqlite(self, compiler, connection):
        _register_sqlite_fold(connection)
        column, column_params = compiler.compile(self.column)
        c = self.condition
        params = []

        if c.is_builtin:
            value_sql, value_params = f"COALESCE({column}, '')", [*column_params]
            guard, guard_params = f"{value_sql} <> ''", [*value_params]
        else:
            path = f'$."{c.field}"'
            value_sql = f"JSON_EXTRACT({column}, %s)"
            value_params = [*column_params, path]
            type_sql = f"COALESCE(JSON_TYPE({column}, %s), '')"
            type_params = [*column_params, path]
            if c.type == TEXT:
                guard = f"({type_sql} = 'text' AND {value_sql} <> '')"
                guard_params = type_params + value_params
            elif c.type == NUMBER:
                guard, guard_params = f"{type_sql} IN ('integer', 'real')", type_params
            elif c.type == BOOLEAN:
                guard, guard_params = f"{type_sql} IN ('true', 'false')", type_params
            else:
                guard = f"({type_sql} = 'text' AND {value_sql} GLOB %s)"
                guard_params = [*type_params, *value_params, _DATE_GLOB]

        if c.operator == "is_set":
            return guard, guard_params
        if c.operator == "is_not_set":
            return f"NOT {guard}", guard_params
        if c.type == BOOLEAN:
            return f"{type_sql} = %s", [
                *type_params,
                "true" if c.operator == "is_true" else "false",
            ]

        wanted = self._comparison_params()
        if c.type == TEXT:
            folded = f"{_SQLITE_FOLD}({value_sql})"
            sql, params = {
                "equals": (f"{folded} = %s", [wanted]),
                "not_equals": (f"{folded} <> %s", [wanted]),
                "contains": (f"INSTR({folded}, %s) > 0", [wanted]),
                "not_contains": (f"INSTR({folded}, %s) = 0", [wanted]),
                "starts_with": (f"SUBSTR({folded}, 1, %s) = %s", [len(wanted), wanted]),
                "ends_with": (f"SUBSTR({folded}, %s) = %s", [-len(wanted), wanted]),
            }[c.operator]
            params = [*value_params, *params]
        elif c.type == NUMBER:
            symbol = _NUMBER_SYMBOLS[c.operator]
            sql, params = f"CAST({value_sql} AS REAL) {symbol} %s", [*value_params, wanted]
        elif c.operator in _DAYS_OPERATORS:
            sql = f"{value_sql} BETWEEN %s AND %s"
            params = [*value_params, *wanted]
        else:
            sql = f"{value_sql} {_DATE_SYMBOLS[c.operator]} %s"
            params = [*value_params, wanted]
        return f"({guard} AND {sql})", [*guard_params, *params]

    def as_postgresql(self, compiler, connection):
        column, column_params = compiler.compile(self.column)
        c = self.condition

        if c.is_builtin:
            text_sql, text_params = f"COALESCE({column}, '')", [*column_params]
            guard, guard_params = f"{text_sql} <> ''", [*text_params]
        else:
            json_sql = f"({column} -> %s::text)"
            json_params = [*column_params, c.field]
            text_sql = f"({column} ->> %s::text)"
            text_params = [*column_params, c.field]
            type_sql, type_params = f"jsonb_typeof({json_sql})", json_params
            if c.type == TEXT:
                guard = f"COALESCE({type_sql} = 'string' AND {text_sql} <> '', FALSE)"
                guard_params = type_params + text_params
            elif c.type == NUMBER:
                guard, guard_params = f"COALESCE({type_sql} = 'number', FALSE)", type_params
            elif c.type == BOOLEAN:
                guard, guard_params = f"COALESCE({type_sql} = 'boolean', FALSE)", type_params
            else:
                guard = f"COALESCE({type_sql} = 'string' AND {text_sql} ~ %s, FALSE)"
                guard_params = [*type_params, *text_params, _DATE_REGEX_PG]

        if c.operator == "is_set":
            return guard, guard_params
        if c.operator == "is_not_set":
            return f"NOT {guard}", guard_params
        if c.type == BOOLEAN:
            literal = "true" if c.operator == "is_true" else "false"
            return f"COALESCE({json_sql} = %s::jsonb, FALSE)", [*json_params, literal]

        wanted = self._comparison_params()
        if c.type == TEXT:
            # Strings with only ASCII skip TRANSLATE(), which costs a table scan per character.
            lowered = f'LOWER({text_sql} COLLATE "C")'
            folded = (
                f"(CASE WHEN OCTET_LENGTH({text_sql}) = LENGTH({text_sql}) THEN {lowered} "
                f"ELSE TRANSLATE({lowered}, %s, %s) END)"
            )
            folded_params = [
                *text_params,
                *text_params,
                *text_params,
                *text_params,
                _FOLD_NON_ASCII,
                _FOLD_NON_ASCII_TO,
            ]
            sql, params = {
                "equals": (f'{folded} COLLATE "C" = %s', [wanted]),
                "not_equals": (f'{folded} COLLATE "C" <> %s', [wanted]),
                "contains": (f"STRPOS({folded}, %s) > 0", [wanted]),
                "not_contains": (f"STRPOS({folded}, %s) = 0", [wanted]),
                "starts_with": (f'LEFT({folded}, %s) COLLATE "C" = %s', [len(wanted), wanted]),
                "ends_with": (f'RIGHT({folded}, %s) COLLATE "C" = %s', [len(wanted), wanted]),
            }[c.operator]
            params = [*folded_params, *params]
        elif c.type == NUMBER:
            # JSON numbers are exact decimals in jsonb; round them to doubles the
            # way Python does, without letting an out-of-range one raise an error.
            number = f"({json_sql})::numeric"
            double = (
                f"(CASE WHEN ABS({number}) >= %s THEN SIGN({number})::float8 * 'Infinity'::float8 "
                f"WHEN ABS({number}) <= %s THEN 0::float8 ELSE {number}::float8 END)"
            )
            double_params = [
                *json_params,
                _DOUBLE_OVERFLOW,
                *json_params,
                *json_params,
                _DOUBLE_UNDERFLOW,
                *json_params,
            ]
            symbol = _NUMBER_SYMBOLS[c.operator]
            sql, params = f"{double} {symbol} %s::float8", [*double_params, wanted]
        elif c.operator in _DAYS_OPERATORS:
            sql = f'{text_sql} COLLATE "C" BETWEEN %s AND %s'
            params = [*text_params, *wanted]
        else:
            sql = f'{text_sql} COLLATE "C" {_DATE_SYMBOLS[c.operator]} %s'
            params = [*text_params, wanted]
        # CASE, unlike AND, guarantees the guard runs first (a string must never reach ::numeric).
        return f"(CASE WHEN {guard} THEN {sql} ELSE FALSE END)", [*guard_params, *params]


_NUMBER_SYMBOLS = {
    "equals": "=",
    "not_equals": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
}
_DATE_SYMBOLS = {"on": "=", "before": "<", "after": ">", "on_or_before": "<=", "on_or_after": ">="}
# Decimals at or beyond these round to infinity / zero as doubles.
_DOUBLE_OVERFLOW = Decimal(2**1024 - 2**970)
_DOUBLE_UNDERFLOW = Context(prec=1100).power(Decimal(2), -1075)  # exact: 1075 digits


def compile_q(spec, properties=None, today=None, prefix=""):
    """A ``Q`` selecting the contacts that match, with exactly ``evaluate()``'s answer.

    ``prefix`` (e.g. ``"contact__"``) filters a related model instead of ``Contact``.
    """
    conditions = parse(spec, properties)
    if not conditions.conditions:
        # Not a bare Q(): ``exclude(Q())`` keeps every row, and the negation must match nobody.
        return Q(**{f"{prefix}pk__isnull": False})
    today = _today(today)
    q = Q()
    for condition in conditions.conditions:
        column = prefix + (condition.field if condition.is_builtin else "properties")
        part = Q(ConditionExpression(condition, column, today))
        q = (q & part) if conditions.match == ALL else (q | part)
    return q


# --------------------------------------------------------------------------
# Words for the admin


def _field_label(condition, definitions):
    if condition.is_builtin:
        return capfirst(Contact._meta.get_field(condition.field).verbose_name)
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
    definitions = _normalise_definitions(properties)
    if definitions is None:
        names = {c.field for c in conditions.conditions if not c.is_builtin}
        definitions = load_definitions(names) if names else {}
    if not conditions.conditions:
        return _("All contacts")
    parts = [_describe_condition(c, definitions) for c in conditions.conditions]
    joiner = _(" and ") if conditions.match == ALL else _(" or ")
    return joiner.join(parts)
