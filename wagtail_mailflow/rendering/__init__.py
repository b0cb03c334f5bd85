"""Blocks -> MJML -> HTML (once per template revision) -> personalised message + text part.

The expensive work (MJML compilation, wrapping lines, the text part, parsing
placeholders) happens once per (revision, language) in :func:`compile_revision`
and is cached in-process; :meth:`CompiledEmail.render` only substitutes values,
so one compiled email can be rendered for thousands of contacts a second.

Usage::

    compiled = compile_revision(step.template_revision, workflow.language)
    message = compiled.render(contact_values(contact), unsubscribe_url)
    message.subject, message.html, message.text, message.from_email, message.reply_to
"""

import datetime
import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.core.exceptions import ValidationError
from django.utils import formats, translation
from django.utils.timezone import localdate
from django.utils.translation import gettext as _

from .. import conf
from .mjml import MJMLError, build_document, check_raw_mjml, compile_mjml
from .personalise import CONTACT_FIELDS, UNSUBSCRIBE_URL, TemplateSyntaxError, parse
from .text import html_to_text, wrap_long_lines

__all__ = [
    "CompiledEmail",
    "MJMLError",
    "RenderedEmail",
    "TemplateError",
    "TemplateSyntaxError",
    "clear_cache",
    "compile_revision",
    "compile_template",
    "contact_values",
    "preview_context",
    "sample_values",
    "template_problems",
    "validate_template",
]


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
        "mjml",
    )

    def __init__(
        self, *, language, subject, preheader, html, text, from_email, reply_to, types, mjml=""
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
        self.needs_l10n = any(types.get(key, "text") != "text" for key in self.keys)
        self.mjml = mjml

    def render(self, contact_values, unsubscribe_url):
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
        return {key: format_value(values.get(key), types.get(key, "text")) for key in self.keys}


def format_value(value, type_="text"):
    """A contact value as text in the active language ('' when unset)."""
    if value is None or value == "":
        return ""
    try:
        if type_ == "boolean" or isinstance(value, bool):
            yes, no = _("yes,no,maybe").split(",")[:2]
            return yes if value else no
        if type_ == "date":
            if isinstance(value, str):
                value = datetime.date.fromisoformat(value[:10])
            return formats.date_format(value, "DATE_FORMAT")
        if type_ == "number" or isinstance(value, int | float | Decimal):
            return str(formats.localize(value, use_l10n=True))
    except (TypeError, ValueError):
        pass
    return str(value)


def contact_values(contact):
    """The plain values a template can show for one contact (no ORM access when rendering)."""
    values = dict(contact.properties or {})
    for field in CONTACT_FIELDS:
        values[field] = getattr(contact, field) or ""
    return values


def sample_values(properties=None):
    """Sample contact values for previews and test sends: one value per property type."""
    from ..models import ContactProperty

    if properties is None:
        properties = ContactProperty.objects.all()
    samples = {"text": None, "number": 42, "boolean": True, "date": localdate()}
    values = {}
    for prop in properties:
        sample = samples.get(prop.type)
        values[prop.name] = prop.label or prop.name if sample is None else sample
    values.update(email="jane.doe@example.com", first_name="Jane", last_name="Doe")
    return values


# -- compiling -----------------------------------------------------------------


def _sender(template):
    address = template.from_email or conf.default_from_email() or ""
    name = (template.from_name or "").strip()
    if name and address and "<" not in address:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    return address


def compile_template(template, language=None):
    """Compile a template object as it is now (uncached: previews, validation, drafts)."""
    from ..models import ContactProperty

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
    types = dict(ContactProperty.objects.filter(name__in=keys).values_list("name", "type"))
    return CompiledEmail(
        language=language,
        subject=subject,
        preheader=preheader,
        html=html_program,
        text=text_program,
        from_email=_sender(template),
        reply_to=template.reply_to or "",
        types=types,
        mjml=source,
    )


_cache = OrderedDict()
_cache_lock = threading.Lock()


def compile_revision(revision, language=None):
    """The compiled email of a template revision (cached per revision and language).

    ``revision`` is a Revision or its primary key. A revision never changes, so
    the cache needs no invalidation; it holds ``WAGTAIL_MAILFLOW_RENDER_CACHE_SIZE`` entries.
    """
    from wagtail.models import Revision

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


def clear_cache():
    """Forget every compiled revision (tests; a process never needs it)."""
    with _cache_lock:
        _cache.clear()


# -- validation ----------------------------------------------------------------


def _property_names():
    from ..models import ContactProperty

    return set(ContactProperty.objects.values_list("name", flat=True))


def _field_texts(block, value, label=()):
    """(where, text, is_html, is_raw_mjml) for every text an editor typed in a block value."""
    from wagtail import blocks

    from .blocks import RawMJMLBlock

    where = ", ".join(str(part) for part in label)
    if isinstance(block, blocks.StreamBlock):
        for index, child in enumerate(value or [], start=1):
            child_label = (
                *label,
                _("block %(index)s (%(label)s)") % {"index": index, "label": child.block.label},
            )
            yield from _field_texts(child.block, child.value, child_label)
    elif isinstance(block, blocks.StructBlock):
        for name, child_block in block.child_blocks.items():
            yield from _field_texts(child_block, value.get(name), (*label, child_block.label))
    elif isinstance(block, blocks.RichTextBlock):
        yield where, getattr(value, "source", value) or "", True, False
    elif isinstance(block, RawMJMLBlock):
        yield where, value or "", True, True
    elif isinstance(block, blocks.CharBlock | blocks.TextBlock | blocks.URLBlock):
        yield where, value or "", False, False


def _body_errors(template, properties):
    errors = []
    body = template.body
    if not body:
        return errors
    for label, text, is_html, is_raw in _field_texts(body.stream_block, body):
        where = label[:1].upper() + label[1:]
        if is_raw:
            try:
                check_raw_mjml(text)
            except MJMLError as exc:
                errors.append(f"{where}: {exc}")
                continue
        try:
            parse(text, html_source=is_html, properties=properties)
        except TemplateSyntaxError as exc:
            errors.append(f"{where}: {exc}")
    return errors


def validate_template(template):
    """Errors keyed by field for a template being saved (bad MJML, bad placeholders, no sender).

    Everything that could fail when sending is checked here, so a saved
    template always compiles.
    """
    errors = {}
    if not template.from_email and not conf.default_from_email():
        errors["from_email"] = [_("Set a From address (or WAGTAIL_MAILFLOW_FROM_EMAIL).")]
    properties = _property_names()
    for field in ("subject", "preheader"):
        try:
            parse(getattr(template, field), properties=properties)
        except TemplateSyntaxError as exc:
            errors[field] = [str(exc)]
    body_errors = _body_errors(template, properties)
    if body_errors:
        errors["body"] = body_errors
    elif not errors.get("subject") and not errors.get("preheader"):
        try:
            compile_template(template)
        except TemplateError as exc:
            errors["body"] = [str(exc)]
    return errors


def template_problems(template, language=None):
    """Readable reasons a template cannot be sent (used at workflow activation)."""
    problems = []
    if not template.live:
        problems.append(_("Publish the template first."))
        return problems
    source = template.live_revision.as_object() if template.live_revision_id else template
    errors = validate_template(source)
    for messages in errors.values():
        problems.extend(str(message) for message in messages)
    if not errors:
        try:
            compile_template(source, language).render(sample_values(), "#")
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot be sent"
            problems.append(_("The email cannot be rendered: %(error)s") % {"error": exc})
    return problems


def preview_context(template, mode_name):
    """Context for the admin's live preview: the email rendered with sample contact data."""
    context = {"template": template, "mode": mode_name}
    try:
        compiled = compile_template(template)
    except (TemplateError, ValidationError) as exc:
        context["error"] = str(exc)
        return context
    context["email"] = compiled.render(sample_values(), "#unsubscribe")
    return context
