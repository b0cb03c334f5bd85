"""Bulk evaluation: each condition as a boolean SQL expression, for SQLite and PostgreSQL."""

from decimal import Context, Decimal

from django.db import NotSupportedError
from django.db.models import BooleanField, Expression, F, Q

from .evaluate import (
    FOLD_NON_ASCII,
    FOLD_NON_ASCII_TO,
    FOLD_TABLE,
    date_range,
    fold_case,
    resolve_today,
)
from .parse import ALL, BOOLEAN, DAYS_OPERATORS, NUMBER, TEXT, parse

_SQLITE_FOLD = "mailflow_fold"
DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
DATE_REGEX_PG = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _sqlite_fold(value):
    return value.translate(FOLD_TABLE) if isinstance(value, str) else value


def register_sqlite_fold(connection):
    """Give a SQLite connection the case-folding function conditions use (once per connection)."""
    # Registering once per raw connection matters: SQLite refuses to redefine
    # a function while another statement on the connection is still running.
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_mailflow_fold_for", None) is not raw:
        raw.create_function(_SQLITE_FOLD, 1, _sqlite_fold, deterministic=True)
        connection._mailflow_fold_for = raw


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
        if c.operator in DAYS_OPERATORS:
            return date_range(c.operator, c.value, self.today)
        return c.value

    def as_sqlite(self, compiler, connection):
        register_sqlite_fold(connection)
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
                guard_params = [*type_params, *value_params, DATE_GLOB]

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
        elif c.operator in DAYS_OPERATORS:
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
                guard_params = [*type_params, *text_params, DATE_REGEX_PG]

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
                FOLD_NON_ASCII,
                FOLD_NON_ASCII_TO,
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
        elif c.operator in DAYS_OPERATORS:
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
    today = resolve_today(today)
    q = Q()
    for condition in conditions.conditions:
        column = prefix + (condition.field if condition.is_builtin else "properties")
        part = Q(ConditionExpression(condition, column, today))
        q = (q & part) if conditions.match == ALL else (q | part)
    return q
