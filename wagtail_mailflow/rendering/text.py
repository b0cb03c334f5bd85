"""Plain-text part from compiled HTML, and line wrapping for transport (both once per revision)."""

import re
from html.parser import HTMLParser

#: Longest line we produce before personalisation. SMTP allows 998 characters;
#: the margin leaves room for substituted values, so Django can send the parts
#: as 8bit instead of quoted-printable.
WRAP_AT = 800

_BLOCK_TAGS = {
    "p", "div", "table", "tr", "ul", "ol", "blockquote", "section", "article",
    "header", "footer", "center",
}  # fmt: skip
_PARAGRAPH_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
_SKIP_TAGS = {"head", "style", "script", "title", "noscript", "template"}
_VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "source", "track", "wbr",
}  # fmt: skip
_SPACES_RE = re.compile(r"[ \t\r\n\f\v]+")
_HIDDEN_RE = re.compile(r"display\s*:\s*none", re.IGNORECASE)


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0
        self.links = []  # (href, index in out where the link text starts)

    def handle_starttag(self, tag, attrs):
        if self.skip:
            if tag not in _VOID_TAGS:
                self.skip += 1
            return
        attrs = dict(attrs)
        if tag in _SKIP_TAGS or _HIDDEN_RE.search(attrs.get("style") or ""):
            if tag not in _VOID_TAGS:
                self.skip = 1
            return
        if tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self.out.append("\n\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in _PARAGRAPH_TAGS:
            self.out.append("\n\n")
        elif tag in _BLOCK_TAGS:
            self.out.append("\n")
        elif tag == "a":
            self.links.append((attrs.get("href") or "", len(self.out)))
        elif tag == "img" and self.links and attrs.get("alt"):
            self.out.append(attrs["alt"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.skip:
            self.skip -= 1
            return
        if tag in _PARAGRAPH_TAGS:
            self.out.append("\n\n")
        elif tag in _BLOCK_TAGS:
            self.out.append("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = _SPACES_RE.sub(" ", "".join(self.out[start:])).strip()
            if href and not href.startswith("#") and text != href:
                self.out.append(f" ({href})" if text else href)

    def handle_data(self, data):
        if not self.skip:
            self.out.append(_SPACES_RE.sub(" ", data))


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML email: links as "text (url)", no markup, tidy whitespace."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [_SPACES_RE.sub(" ", line).strip() for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return wrap_long_lines(text, markup=False) + "\n"


def wrap_long_lines(source: str, limit: int = WRAP_AT, *, markup: bool = True) -> str:
    """Break lines longer than ``limit`` at spaces where a newline means the same thing.

    In markup, a break goes between attributes or in text, never inside a
    quoted attribute value, a ``<!…>`` comment/conditional, or a ``{{ … }}``
    placeholder. Lines without such a space stay long.
    """
    lines = source.split("\n")
    if all(len(line) <= limit for line in lines):
        return source
    out = []
    for line in lines:
        if len(line) <= limit:
            out.append(line)
        else:
            out.extend(_split_line(line, limit, markup))
    return "\n".join(out)


def _split_line(line, limit, markup):
    pieces = []
    start = 0
    last_break = -1
    in_tag = in_declaration = False
    quote = None
    i, n = 0, len(line)
    while i < n:
        char = line[i]
        if char == "{" and line.startswith("{{", i):
            end = line.find("}}", i + 2)
            if end != -1:
                i = end + 2
                continue
        if not markup:
            if char == " ":
                last_break = i
        elif quote:
            if char == quote:
                quote = None
        elif in_tag:
            if char in "\"'" and not in_declaration:
                quote = char
            elif char == ">":
                in_tag = in_declaration = False
            elif char == " " and not in_declaration:
                last_break = i
        elif char == "<":
            in_tag = True
            in_declaration = line.startswith("<!", i)
        elif char == " ":
            last_break = i
        if i - start >= limit and last_break > start:
            pieces.append(line[start:last_break])
            start = last_break + 1
            last_break = -1
        i += 1
    pieces.append(line[start:])
    return pieces
