"""Evaluation for one contact: the Python side of the language's rules.

``sql.py`` gives the same answers in bulk; the helpers it shares with this
module (case folding, the bounds of relative dates) are defined here once.
"""

import datetime

from django.utils import timezone

from ..contact_fields import CONDITION_FIELDS
from .parse import ALL, BOOLEAN, DATE, DATE_RE, DAYS_OPERATORS, NUMBER, TEXT, parse

# Case folding: one fixed table, applied identically in Python, SQLite and
# PostgreSQL. Kept small on purpose: PostgreSQL's TRANSLATE() scans the table
# for every character, so only strings with non-ASCII characters pay for it.

FOLD_NON_ASCII = "".join(
    chr(cp)
    for cp in [*range(0xC0, 0xDF), 0x152, 0x178]
    if len(chr(cp).lower()) == 1 and chr(cp).lower() != chr(cp)
)
FOLD_NON_ASCII_TO = "".join(ch.lower() for ch in FOLD_NON_ASCII)
FOLD_TABLE = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + FOLD_NON_ASCII,
    "abcdefghijklmnopqrstuvwxyz" + FOLD_NON_ASCII_TO,
)


def fold_case(text):
    """Lowercase ``text`` the way conditions compare it (see the package docstring)."""
    return text.translate(FOLD_TABLE)


def resolve_today(today):
    """The date relative date conditions count from: ``today``, or the UTC date."""
    if today is None:
        return timezone.now().astimezone(datetime.UTC).date()
    if isinstance(today, datetime.datetime):
        return today.date()
    return today


def date_range(operator, days, today):
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
        if field in CONDITION_FIELDS:
            return contact.get(field)
        return (contact.get("properties") or {}).get(field)
    if field in CONDITION_FIELDS:
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
        return raw if isinstance(raw, str) and DATE_RE.fullmatch(raw) else None
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
    if operator in DAYS_OPERATORS:
        start, end = date_range(operator, condition.value, today)
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
    today = resolve_today(today)
    results = (_evaluate_condition(c, contact, today) for c in conditions.conditions)
    return all(results) if conditions.match == ALL else any(results)
