"""The restricted personalisation language: ``{{ contact.first_name|default:"friend" }}``.

A source is parsed once (per template revision) into a :class:`Program`, a list
of literal chunks and slots; rendering one email is a join. There are no tags
and no attribute lookups beyond the contact's own values, so nothing an editor
types can reach the database or the filesystem. The values a slot shows are a
contact's (:func:`contact_values`), formatted for the email's language
(:func:`format_value`).
"""

import datetime
import html
import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _

from ..contact_fields import PERSONALISATION_FIELDS, PropertyType

#: Contact fields a template may use as ``{{ contact.<field> }}`` besides properties.
CONTACT_FIELDS = PERSONALISATION_FIELDS
#: The slot key of ``{{ unsubscribe_url }}``; a reserved name, so no property can take it.
UNSUBSCRIBE_URL = "unsubscribe_url"

_OPEN_RE = re.compile(r"\{\{|\{%")
_INNER_RE = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][\w.]*)\s*
    (?:\|\s*(?P<filter>\w+)\s*(?::\s*(?P<arg>"[^"]*"|'[^']*'))?\s*)?$""",
    re.VERBOSE | re.DOTALL,
)


class TemplateSyntaxError(ValueError):
    """A placeholder an editor wrote that cannot be used, with its position (1-based)."""

    def __init__(self, message, line, column):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self):
        return _("Line %(line)s, column %(column)s: %(message)s") % {
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


def position(source: str, offset: int) -> tuple[int, int]:
    """(line, column), both 1-based, of a character offset in ``source``."""
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


class Program:
    """A parsed source: ``literals[0] slot[0] literals[1] slot[1] … literals[-1]``."""

    __slots__ = ("literals", "slots")

    def __init__(self, literals, slots):
        self.literals = tuple(literals)
        #: (key, default) pairs; a default is already escaped in an HTML program.
        self.slots = tuple(slots)

    @property
    def keys(self):
        """The value keys this program reads."""
        return {key for key, _default in self.slots}

    def render(self, values: Mapping[str, str]) -> str:
        """Join the literals with ``values[key]`` (already formatted), or the slot's default."""
        literals = self.literals
        if not self.slots:
            return literals[0]
        out = [literals[0]]
        append = out.append
        for (key, default), literal in zip(self.slots, literals[1:], strict=True):
            value = values.get(key)
            append(value if value else default)
            append(literal)
        return "".join(out)


def parse(
    source: str | None, *, html_source: bool = False, properties: Collection[str] | None = None
) -> Program:
    """Parse ``source`` into a :class:`Program`, or raise :class:`TemplateSyntaxError`.

    ``html_source``: the text comes from HTML/MJML, so the inside of each
    placeholder is unescaped (``&quot;`` works like ``"``) and defaults are
    escaped for HTML. ``properties``: the names of the contact properties that
    exist; ``None`` accepts any name (at send time a deleted property renders
    its default rather than failing).
    """
    source = source or ""
    literals, slots = [], []
    start = 0
    for match in _OPEN_RE.finditer(source):
        if match.start() < start:
            continue  # inside a placeholder already consumed
        if match.group() == "{%":
            raise TemplateSyntaxError(
                _(
                    "Template tags are not allowed; use placeholders such as {{ contact.first_name }}."
                ),
                *position(source, match.start()),
            )
        end = source.find("}}", match.end())
        if end == -1:
            raise TemplateSyntaxError(
                _("'{{' is never closed with '}}'."), *position(source, match.start())
            )
        inner = source[match.end() : end]
        if html_source:
            inner = html.unescape(inner)
        key, default = _parse_inner(inner, properties, source, match.start())
        if html_source:
            default = html.escape(default, quote=True)
        literals.append(source[start : match.start()])
        slots.append((key, default))
        start = end + 2
    literals.append(source[start:])
    return Program(literals, slots)


def _parse_inner(inner, properties, source, offset):
    def error(message):
        return TemplateSyntaxError(message, *position(source, offset))

    match = _INNER_RE.match(inner)
    if not match:
        raise error(
            _(
                "'{{%(inner)s}}' is not a placeholder; write {{ contact.first_name }} or "
                '{{ contact.first_name|default:"friend" }}.'
            )
            % {"inner": inner}
        )
    name, filter_name, arg = match.group("name", "filter", "arg")
    default = ""
    if filter_name is not None:
        if filter_name != "default":
            raise error(
                _("Unknown filter '%(filter)s'; only |default:\"…\" is allowed.")
                % {"filter": filter_name}
            )
        if arg is None:
            raise error(_('|default needs a quoted text, e.g. |default:"friend".'))
        default = arg[1:-1]
    if name == UNSUBSCRIBE_URL:
        return UNSUBSCRIBE_URL, default
    prefix, dot, field = name.partition(".")
    if prefix != "contact" or not dot:
        raise error(
            _(
                "Unknown variable '%(name)s'; use contact.email, contact.first_name, "
                "contact.last_name, contact.<property> or unsubscribe_url."
            )
            % {"name": name}
        )
    if field in CONTACT_FIELDS:
        return field, default
    if "." in field or (properties is not None and field not in properties):
        raise error(_("Unknown contact property '%(name)s'.") % {"name": field})
    return field, default


def placeholder(variable: str, default: str = "") -> str:
    """The placeholder printing ``variable`` (``contact.first_name``), as :func:`parse` reads it.

    A ``default`` is quoted with ``"``, or with ``'`` when it holds a ``"``; one that
    holds both quotes, or ``}}``, cannot be written and raises ``ValueError``.
    """
    if not default.strip():
        return "{{ " + variable + " }}"
    if "}}" in default:
        raise ValueError("A default cannot contain '}}'.")
    quote = "'" if '"' in default else '"'
    if quote in default:
        raise ValueError("A default cannot contain both ' and \".")
    return "{{ " + variable + "|default:" + quote + default + quote + " }}"


def contact_values(contact: Any) -> dict[str, Any]:
    """The plain values a template can show for one contact (no ORM access when rendering)."""
    values = dict(contact.properties or {})
    for field in CONTACT_FIELDS:
        values[field] = getattr(contact, field) or ""
    return values


def format_value(value: Any, type_: str = PropertyType.TEXT) -> str:
    """A contact value as text in the active language ('' when unset)."""
    if value is None or value == "":
        return ""
    try:
        if type_ == PropertyType.BOOLEAN or isinstance(value, bool):
            yes, no = _("yes,no,maybe").split(",")[:2]
            return yes if value else no
        if type_ == PropertyType.DATE:
            if isinstance(value, str):
                value = datetime.date.fromisoformat(value[:10])
            return formats.date_format(value, "DATE_FORMAT")
        if type_ == PropertyType.NUMBER or isinstance(value, int | float | Decimal):
            return str(formats.localize(value, use_l10n=True))
    except (TypeError, ValueError):
        pass
    return str(value)
