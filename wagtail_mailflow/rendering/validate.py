"""What keeps a template from being saved or sent, each problem with its position.

Everything that could fail when sending is checked when a template is saved,
so a saved template always compiles.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import blocks
from wagtail.models import Revision

from .. import conf
from .blocks import RawMJMLBlock
from .compile import CompiledEmail, TemplateError, compile_template
from .mjml import MJMLError, check_raw_mjml
from .personalise import TemplateSyntaxError, parse
from .preview import sample_values
from .properties import property_types


def _field_texts(block, value, label=()) -> Iterator[tuple[str, str, bool, bool]]:
    """(where, text, is_html, is_raw_mjml) for every text an editor typed in a block value."""
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


#: Template fields that become email headers: a line break there would split the header.
HEADER_FIELDS = ("subject", "from_name", "from_email", "reply_to")
ONE_LINE = gettext_lazy("Must fit on one line: an email header cannot contain a line break.")


def _check(template, language, properties) -> tuple[dict[str, list[str]], CompiledEmail | None]:
    """The errors of :func:`validate_template`, and the compiled email when there are none."""
    errors: dict[str, list[str]] = {}
    for field in HEADER_FIELDS:
        value = getattr(template, field, "") or ""
        if "\n" in value or "\r" in value:
            errors[field] = [str(ONE_LINE)]
    if not template.from_email and not conf.default_from_email():
        # A From name alone is refused too: it is never dropped silently.
        errors.setdefault("from_email", []).append(
            _("Set a From address (or WAGTAIL_MAILFLOW_FROM_EMAIL).")
        )
    for field in ("subject", "preheader"):
        try:
            parse(getattr(template, field), properties=properties)
        except TemplateSyntaxError as exc:
            errors[field] = [str(exc)]
    body_errors = _body_errors(template, properties)
    if body_errors:
        errors["body"] = body_errors
    if errors.get("body") or errors.get("subject") or errors.get("preheader"):
        return errors, None
    try:
        compiled = compile_template(template, language, properties)
    except TemplateError as exc:
        errors["body"] = [str(exc)]
        return errors, None
    return errors, compiled


def validate_template(
    template: Any, properties: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """Errors keyed by field for a template being saved (bad MJML, bad placeholders, no sender).

    ``properties``: property name -> type of the properties that exist (looked up when not given).
    """
    if properties is None:
        properties = property_types()
    errors, _compiled = _check(template, None, properties)
    return errors


def template_problems(
    template_or_revision: Any,
    language: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> list[str]:
    """Readable reasons a template (its live content) or a revision cannot be sent."""
    if isinstance(template_or_revision, Revision):
        source = template_or_revision.as_object()
    else:
        template = template_or_revision
        if not template.live:
            return [_("Publish the template first.")]
        source = template.live_revision.as_object() if template.live_revision_id else template
    if properties is None:
        properties = property_types()
    errors, compiled = _check(source, language, properties)
    problems = [str(message) for messages in errors.values() for message in messages]
    if compiled is not None and not errors:
        try:
            compiled.render(sample_values(), "#")
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot be sent"
            problems.append(_("The email cannot be rendered: %(error)s") % {"error": exc})
    return problems
