"""A template compiled once (per revision and language); rendering one email is substitution.

The expensive work (MJML compilation, wrapping lines, the text part, parsing
placeholders) happens once per (revision, language) in :func:`compile_revision`
and is cached in-process; :meth:`CompiledEmail.render` only substitutes values,
so one compiled email can be rendered for thousands of contacts a second.
"""

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from html import escape
from typing import Any

from django.utils import translation
from wagtail.models import Revision

from .. import conf
from ..contact_fields import PropertyType
from .mjml import MJMLError, build_document, compile_mjml
from .personalise import (
    CONTACT_FIELDS,
    UNSUBSCRIBE_URL,
    Program,
    TemplateSyntaxError,
    format_value,
    parse,
)
from .properties import property_types
from .text import html_to_text, wrap_long_lines


class TemplateError(ValueError):
    """A template that cannot be compiled (bad MJML or placeholders)."""


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One personalised email, ready to become a message."""

    subject: str
    html: str
    text: str
    from_email: str
    reply_to: str
    preheader: str


class CompiledEmail:
    """A template revision compiled for one language; :meth:`render` is substitution only."""

    __slots__ = (
        "language",
        "subject",
        "preheader",
        "html",
        "text",
        "from_email",
        "reply_to",
        "keys",
        "types",
        "needs_l10n",
    )

    def __init__(
        self,
        *,
        language: str,
        subject: Program,
        preheader: Program,
        html: Program,
        text: Program,
        from_email: str,
        reply_to: str,
        types: Mapping[str, str],
    ):
        self.language = language
        self.subject = subject
        self.preheader = preheader
        self.html = html
        self.text = text
        self.from_email = from_email
        self.reply_to = reply_to
        #: Contact value keys the programs read (besides unsubscribe_url).
        self.keys = tuple(
            sorted((subject.keys | preheader.keys | html.keys | text.keys) - {UNSUBSCRIBE_URL})
        )
        #: Property type per key, for formatting (text when unknown).
        self.types = types
        self.needs_l10n = any(
            types.get(key, PropertyType.TEXT) != PropertyType.TEXT for key in self.keys
        )

    def render(self, contact_values: Mapping[str, Any], unsubscribe_url: str) -> RenderedEmail:
        """The email for one contact; ``contact_values`` as returned by :func:`contact_values`."""
        if self.needs_l10n:
            with translation.override(self.language):
                plain = self._format(contact_values)
        else:
            plain = self._format(contact_values)
        plain[UNSUBSCRIBE_URL] = unsubscribe_url or ""
        escaped = {key: escape(value, quote=True) for key, value in plain.items() if value}
        return RenderedEmail(
            subject=self.subject.render(plain),
            html=self.html.render(escaped),
            text=self.text.render(plain),
            from_email=self.from_email,
            reply_to=self.reply_to,
            preheader=self.preheader.render(plain),
        )

    def _format(self, values):
        types = self.types
        return {
            key: format_value(values.get(key), types.get(key, PropertyType.TEXT))
            for key in self.keys
        }


def _sender(template):
    """The From header: the template's name with its address, else with the default address.

    A From name without a From address is sent with ``WAGTAIL_MAILFLOW_FROM_EMAIL``'s
    address (replacing any name written there); never silently dropped.
    """
    address = template.from_email or conf.default_from_email() or ""
    name = (template.from_name or "").strip()
    if name and address:
        bare = parseaddr(address)[1] or address
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{bare}>'
    return address


def compile_template(
    template: Any, language: str | None = None, properties: Mapping[str, str] | None = None
) -> CompiledEmail:
    """Compile a template object as it is now (uncached: previews, validation, drafts).

    ``properties``: property name -> type; looked up when not given.
    """
    language = language or conf.default_language()
    try:
        with translation.override(language):
            source = build_document(template, language)
        html = compile_mjml(source)
    except MJMLError as exc:
        raise TemplateError(str(exc)) from exc
    text = html_to_text(html)
    html = wrap_long_lines(html)
    try:
        subject = parse(template.subject)
        preheader = parse(template.preheader)
        html_program = parse(html, html_source=True)
        text_program = parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(str(exc)) from exc
    keys = (subject.keys | preheader.keys | html_program.keys | text_program.keys) - set(
        CONTACT_FIELDS
    )
    if properties is None:
        types = property_types(keys)
    else:
        types = {key: properties[key] for key in keys if key in properties}
    return CompiledEmail(
        language=language,
        subject=subject,
        preheader=preheader,
        html=html_program,
        text=text_program,
        from_email=_sender(template),
        reply_to=template.reply_to or "",
        types=types,
    )


_cache: OrderedDict[tuple[int, str], CompiledEmail | TemplateError] = OrderedDict()
_cache_lock = threading.Lock()


def compile_revision(revision: Revision | int, language: str | None = None) -> CompiledEmail:
    """The compiled email of a template revision (cached per revision and language).

    ``revision`` is a Revision or its primary key. A revision never changes, so
    the cache needs no invalidation; it holds ``WAGTAIL_MAILFLOW_RENDER_CACHE_SIZE`` entries.
    """
    language = language or conf.default_language()
    revision_id = revision if isinstance(revision, int) else revision.pk
    key = (revision_id, language)
    with _cache_lock:
        compiled = _cache.get(key)
        if compiled is not None:
            _cache.move_to_end(key)
            if isinstance(compiled, TemplateError):
                raise compiled
            return compiled
    if isinstance(revision, int):
        revision = Revision.objects.get(pk=revision)
    try:
        compiled = compile_template(revision.as_object(), language)
    except TemplateError as exc:
        # A revision never changes: remember the failure rather than recompile per email.
        compiled = exc
    with _cache_lock:
        _cache[key] = compiled
        _cache.move_to_end(key)
        size = max(int(conf.get("RENDER_CACHE_SIZE") or 0), 1)
        while len(_cache) > size:
            _cache.popitem(last=False)
    if isinstance(compiled, TemplateError):
        raise compiled
    return compiled


def clear_cache() -> None:
    """Forget every compiled revision (tests; a process never needs it)."""
    with _cache_lock:
        _cache.clear()
