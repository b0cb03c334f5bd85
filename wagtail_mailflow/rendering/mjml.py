"""The MJML document of a template, raw MJML checks, and compilation to HTML with mjml-python."""

import re
from enum import StrEnum
from html import escape
from html.parser import HTMLParser
from typing import Any

from django.utils.translation import gettext as _
from mjml import mjml2html as _mjml2html

from .. import conf
from .personalise import position

#: MJML body tags an editor may write in a raw MJML block. mj-include (reads
#: files) and head tags (mj-attributes, mj-style…) are not among them.
ALLOWED_TAGS = frozenset(
    {
        "mj-section", "mj-column", "mj-group", "mj-wrapper", "mj-hero", "mj-text",
        "mj-image", "mj-button", "mj-divider", "mj-spacer", "mj-table", "mj-raw",
        "mj-social", "mj-social-element", "mj-navbar", "mj-navbar-link", "mj-accordion",
        "mj-accordion-element", "mj-accordion-title", "mj-accordion-text", "mj-carousel",
        "mj-carousel-image",
    }
)  # fmt: skip
#: Tags whose content is ordinary HTML.
HTML_CONTENT_TAGS = frozenset(
    {
        "mj-text", "mj-raw", "mj-table", "mj-button", "mj-navbar-link", "mj-social-element",
        "mj-accordion-title", "mj-accordion-text",
    }
)  # fmt: skip
#: Tags that may stand directly in mj-body.
SECTION_TAGS = frozenset({"mj-section", "mj-wrapper", "mj-hero", "mj-raw"})
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_POSITION_RE = re.compile(r" at position (\d+):(\d+)")

HEAD_ATTRIBUTES = (
    '<mj-all font-family="Helvetica, Arial, sans-serif" />'
    '<mj-text font-size="16px" line-height="1.5" color="#222222" />'
    '<mj-section background-color="#ffffff" padding="12px 0" />'
    '<mj-button font-size="16px" inner-padding="12px 24px" border-radius="4px" />'
)


class MJMLError(ValueError):
    """MJML that cannot be compiled, with a readable message (and position when known)."""


class RawMJMLKind(StrEnum):
    """What an editor's raw MJML holds: whole sections, or column content to wrap in one."""

    SECTIONS = "sections"
    CONTENT = "content"


def mjml2html(source: str) -> str:
    """Compile MJML to HTML; mj-include is refused even if validation was skipped."""
    return _mjml2html(source, include_loader=_refuse_include)


def _refuse_include(path):
    raise ValueError("mj-include is not allowed")


def compile_mjml(source: str, *, offset: int = 0) -> str:
    """HTML of an MJML document, or MJMLError with mjml's message made readable.

    mjml reports character offsets ("at position 16:26"); they become line and
    column of ``source[offset:]`` (the part the editor wrote).
    """
    try:
        return mjml2html(source)
    except ValueError as exc:
        raise MJMLError(readable_mjml_error(str(exc), source, offset)) from exc


def readable_mjml_error(message: str, source: str, offset: int = 0) -> str:
    """mjml's message with its character offset turned into "line L, column C"."""
    match = _POSITION_RE.search(message)
    if match:
        start = int(match.group(1))
        text = message[: match.start()] + message[match.end() :]
        if start >= offset:
            line, column = position(source[offset:], start - offset)
            return _("Invalid MJML at line %(line)s, column %(column)s: %(message)s.") % {
                "line": line,
                "column": column,
                "message": text,
            }
        return _("Invalid MJML: %(message)s.") % {"message": text}
    return _("Invalid MJML: %(message)s.") % {"message": message}


class _RawMJMLChecker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, line, column)
        self.top_level = []

    def fail(self, message, line=None, column=None):
        if line is None:
            line, column = self.getpos()
            column += 1
        raise MJMLError(
            _("Line %(line)s, column %(column)s: %(message)s")
            % {"line": line, "column": column, "message": message}
        )

    def in_html(self):
        return any(tag in HTML_CONTENT_TAGS for tag, _line, _col in self.stack)

    def handle_starttag(self, tag, attrs):
        self.open(tag)
        line, column = self.getpos()
        if tag not in _VOID_TAGS:
            self.stack.append((tag, line, column + 1))

    def handle_startendtag(self, tag, attrs):
        self.open(tag)

    def open(self, tag):
        if not self.stack:
            self.top_level.append(tag)
        if tag.startswith("mj-") or tag == "mjml":
            if tag == "mj-include":
                self.fail(_("<mj-include> is not allowed: it would read files from the server."))
            if tag not in ALLOWED_TAGS:
                self.fail(
                    _("<%(tag)s> is not allowed here; use body tags such as <mj-section>.")
                    % {"tag": tag}
                )
            if self.in_html():
                self.fail(
                    _("<%(tag)s> cannot be inside <%(parent)s>.")
                    % {"tag": tag, "parent": self.stack[-1][0]}
                )
        elif not self.in_html():
            self.fail(
                _("HTML <%(tag)s> must be inside <mj-text>, <mj-raw> or <mj-table>.") % {"tag": tag}
            )

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1][0] != tag:
            if tag in _VOID_TAGS:
                return
            if any(open_tag == tag for open_tag, _line, _col in self.stack):
                open_tag, line, column = self.stack[-1]
                self.fail(
                    _("<%(tag)s> opened at line %(line)s, column %(column)s is not closed.")
                    % {"tag": open_tag, "line": line, "column": column}
                )
            self.fail(_("</%(tag)s> closes nothing.") % {"tag": tag})
        self.stack.pop()

    def handle_data(self, data):
        if data.strip() and not self.in_html():
            self.fail(_("Text must be inside <mj-text>."))

    def finish(self):
        self.close()
        if self.stack:
            tag, line, column = self.stack[-1]
            self.fail(_("<%(tag)s> is never closed.") % {"tag": tag}, line, column)


def check_raw_mjml(source: str | None) -> RawMJMLKind:
    """Check an editor's raw MJML; return whether it holds sections or column content.

    Raises MJMLError naming the line and column (in the block) of the problem:
    unknown or forbidden tags (mj-include), tags not closed, HTML outside
    mj-text / mj-raw / mj-table, or anything mjml itself refuses.
    """
    checker = _RawMJMLChecker()
    checker.feed(source or "")
    checker.finish()
    tags = set(checker.top_level)
    if tags and tags <= SECTION_TAGS:
        kind, prefix, suffix = RawMJMLKind.SECTIONS, "<mjml><mj-body>", "</mj-body></mjml>"
    elif tags & (SECTION_TAGS - {"mj-raw"}):
        raise MJMLError(
            _(
                "Put column content (%(tags)s) inside <mj-section><mj-column>, "
                "or write only content without sections."
            )
            % {"tags": ", ".join(sorted(f"<{t}>" for t in tags - SECTION_TAGS))}
        )
    else:
        kind = RawMJMLKind.CONTENT
        prefix = "<mjml><mj-body><mj-section><mj-column>"
        suffix = "</mj-column></mj-section></mj-body></mjml>"
    compile_mjml(prefix + (source or "") + suffix, offset=len(prefix))
    return kind


def build_document(template: Any, language: str) -> str:
    """The MJML source of a template's email; call under ``translation.override(language)``."""
    body = template.body.stream_block.to_mjml(template.body) if template.body else ""
    return (
        f'<mjml lang="{escape(language)}"><mj-head>'
        f"<mj-title>{escape(template.subject or '')}</mj-title>"
        f"<mj-preview>{escape(template.preheader or '')}</mj-preview>"
        f"<mj-attributes>{HEAD_ATTRIBUTES}</mj-attributes>"
        '</mj-head><mj-body background-color="#f4f4f4" width="600px">\n'
        f"{body}\n{footer()}\n</mj-body></mjml>"
    )


def footer() -> str:
    """The footer every email carries: why you get it, the unsubscribe link, the postal address."""
    address = conf.get("POSTAL_ADDRESS") or ""
    lines = [
        escape(_("You receive this email because you subscribed to our emails.")),
        '<a href="{{ unsubscribe_url }}" style="color:#666666;">'
        + escape(_("Unsubscribe"))
        + "</a>",
    ]
    if address:
        lines.append("<br />".join(escape(line) for line in address.strip().splitlines()))
    return (
        '<mj-section background-color="#f4f4f4" padding="16px 0"><mj-column>'
        '<mj-text align="center" font-size="12px" color="#666666">'
        + "<br />".join(lines)
        + "</mj-text></mj-column></mj-section>"
    )
