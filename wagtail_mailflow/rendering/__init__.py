"""Blocks -> MJML -> HTML (once per template revision) -> personalised message + text part.

One concern per module: ``blocks`` (what a body is built from), ``mjml`` (the
document and its compilation), ``personalise`` (placeholders and contact
values), ``text`` (the plain-text part), ``compile`` (a revision compiled once,
cached), ``validate`` (what keeps a template from being saved or sent),
``preview`` (sample values and the admin preview). Rendering never imports the
models: property definitions are passed in, or looked up by app label.

Usage::

    compiled = compile_revision(step.template_revision, workflow.language)
    message = compiled.render(contact_values(contact), unsubscribe_url)
    message.subject, message.html, message.text, message.from_email, message.reply_to
"""

from .compile import (
    CompiledEmail,
    RenderedEmail,
    TemplateError,
    clear_cache,
    compile_revision,
    compile_template,
)
from .mjml import MJMLError
from .personalise import TemplateSyntaxError, contact_values
from .preview import PREVIEW_UNSUBSCRIBE_URL, preview_context, sample_values
from .validate import template_problems, validate_template

__all__ = [
    "CompiledEmail",
    "MJMLError",
    "PREVIEW_UNSUBSCRIBE_URL",
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
