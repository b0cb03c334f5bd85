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

from .describe import OPERATOR_LABELS, describe, operator_choices
from .evaluate import evaluate, fold_case
from .parse import (
    ALL,
    ANY,
    DAYS_OPERATORS,
    NO_VALUE_OPERATORS,
    OPERATORS,
    Condition,
    ConditionError,
    ConditionSet,
    canonical_operator,
    load_definitions,
    parse,
    validate,
)
from .sql import ConditionExpression, compile_q, register_sqlite_fold

__all__ = [
    "ALL",
    "ANY",
    "DAYS_OPERATORS",
    "NO_VALUE_OPERATORS",
    "OPERATORS",
    "OPERATOR_LABELS",
    "Condition",
    "ConditionError",
    "ConditionExpression",
    "ConditionSet",
    "canonical_operator",
    "compile_q",
    "describe",
    "evaluate",
    "fold_case",
    "load_definitions",
    "operator_choices",
    "parse",
    "register_sqlite_fold",
    "validate",
]
