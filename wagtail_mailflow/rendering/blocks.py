"""StreamField blocks an email body is built from; each renders itself to MJML.

Every text an editor types is HTML-escaped on its way into MJML (placeholders
survive escaping: the personalisation parser unescapes their inside). Blocks
that sit inside a column return column content (``mj-text``, ``mj-image``…);
the columns and raw MJML blocks return whole sections.
"""

import re
from html import escape

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock
from wagtail.rich_text import expand_db_html

from .. import conf
from .mjml import MJMLError, RawMJMLKind, check_raw_mjml

COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
LINK_RE = re.compile(
    r"^(?:(?:https?://|mailto:|tel:)(?:[^\s{]|\{\{[^}]*\}\})+|\{\{\s*unsubscribe_url\s*\}\})$"
)
_RELATIVE_URL_RE = re.compile(r'(\s(?:href|src)=")(/[^/"][^"]*|/)"')
HEADING_SIZES = {"h1": "28px", "h2": "22px", "h3": "18px"}


def attr(value: object) -> str:
    """Escape a value for an MJML attribute."""
    return escape(str(value), quote=True)


def absolute_url(url: str) -> str:
    """Make a site-relative URL absolute with the public base URL (emails have no base)."""
    if url.startswith("/") and not url.startswith("//"):
        return conf.base_url() + url
    return url


def _check_colors(value, names):
    errors = {
        name: ValidationError(_("Use a colour like #2e6d8e."))
        for name in names
        if not COLOR_RE.match(value.get(name) or "")
    }
    if errors:
        raise blocks.StructBlockValidationError(block_errors=errors)


class ColourBlock(blocks.FieldBlock):
    """A colour, picked with the browser's colour picker (stored as #rrggbb)."""

    def __init__(self, required=True, help_text=None, **kwargs):
        self.field = forms.CharField(
            required=required,
            help_text=help_text,
            max_length=7,
            widget=forms.TextInput(attrs={"type": "color"}),
        )
        super().__init__(**kwargs)


ALIGN_CHOICES = [("left", _("Left")), ("center", _("Center")), ("right", _("Right"))]
RICH_TEXT_FEATURES = ["bold", "italic", "link", "ol", "ul", "h2", "h3"]


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=capfirst(_("text")), max_length=255)
    level = blocks.ChoiceBlock(
        label=capfirst(_("level")), choices=[("h1", "H1"), ("h2", "H2"), ("h3", "H3")], default="h1"
    )
    align = blocks.ChoiceBlock(
        label=capfirst(_("alignment")), choices=ALIGN_CHOICES, default="left"
    )

    class Meta:
        icon = "title"
        label = _("Heading")

    def to_mjml(self, value):
        level = value.get("level") or "h1"
        size = HEADING_SIZES.get(level, "22px")
        return (
            f'<mj-text align="{attr(value.get("align") or "left")}">'
            f'<{level} style="margin:0;font-size:{size};line-height:1.3;">'
            f"{escape(value.get('text') or '')}</{level}></mj-text>"
        )


class TextBlock(blocks.RichTextBlock):
    def __init__(self, **kwargs):
        kwargs.setdefault("features", RICH_TEXT_FEATURES)
        super().__init__(**kwargs)

    class Meta:
        icon = "pilcrow"
        label = _("Text")

    def to_mjml(self, value):
        source = value.source if hasattr(value, "source") else str(value or "")
        html = _RELATIVE_URL_RE.sub(
            lambda m: f'{m.group(1)}{absolute_url(m.group(2))}"', expand_db_html(source)
        )
        return f"<mj-text>{html}</mj-text>"


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=capfirst(_("image")))
    alt = blocks.CharBlock(
        label=capfirst(_("alt text")), max_length=255, help_text=_("Shown when images are blocked.")
    )
    link = blocks.URLBlock(label=capfirst(_("link")), required=False)
    width = blocks.IntegerBlock(
        label=capfirst(_("width (px)")), min_value=20, max_value=600, default=600
    )

    class Meta:
        icon = "image"
        label = _("Image")

    def to_mjml(self, value):
        image = value.get("image")
        if image is None:  # deleted since the template was written
            return ""
        width = value.get("width") or 600
        rendition = image.get_rendition(f"width-{min(width * 2, 1200)}")
        link = value.get("link")
        href = f' href="{attr(link)}"' if link else ""
        return (
            f'<mj-image src="{attr(absolute_url(rendition.url))}" '
            f'alt="{attr(value.get("alt") or "")}" width="{int(width)}px"{href} />'
        )


class ButtonBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=capfirst(_("text")), max_length=100)
    url = blocks.CharBlock(
        label=capfirst(_("link")),
        max_length=2000,
        help_text=_("An https:// address or {{ unsubscribe_url }}."),
    )
    background_color = ColourBlock(label=capfirst(_("background colour")), default="#2e6d8e")
    text_color = ColourBlock(label=capfirst(_("text colour")), default="#ffffff")
    align = blocks.ChoiceBlock(
        label=capfirst(_("alignment")), choices=ALIGN_CHOICES, default="center"
    )

    class Meta:
        icon = "link"
        label = _("Button")

    def clean(self, value):
        value = super().clean(value)
        _check_colors(value, ["background_color", "text_color"])
        if not LINK_RE.match((value.get("url") or "").strip()):
            raise blocks.StructBlockValidationError(
                block_errors={
                    "url": ValidationError(
                        _("Use an https://, mailto: or tel: address, or {{ unsubscribe_url }}.")
                    )
                }
            )
        return value

    def to_mjml(self, value):
        return (
            f'<mj-button href="{attr((value.get("url") or "").strip())}" '
            f'background-color="{attr(value.get("background_color"))}" '
            f'color="{attr(value.get("text_color"))}" align="{attr(value.get("align"))}">'
            f"{escape(value.get('text') or '')}</mj-button>"
        )


class DividerBlock(blocks.StructBlock):
    color = ColourBlock(label=capfirst(_("colour")), default="#dddddd")

    class Meta:
        icon = "minus"
        label = _("Divider")

    def clean(self, value):
        value = super().clean(value)
        _check_colors(value, ["color"])
        return value

    def to_mjml(self, value):
        return f'<mj-divider border-color="{attr(value.get("color"))}" border-width="1px" />'


class SpacerBlock(blocks.StructBlock):
    height = blocks.IntegerBlock(
        label=capfirst(_("height (px)")), min_value=4, max_value=200, default=20
    )

    class Meta:
        icon = "order"
        label = _("Spacer")

    def to_mjml(self, value):
        return f'<mj-spacer height="{int(value.get("height") or 20)}px" />'


class ColumnContentBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    text = TextBlock()
    image = ImageBlock()
    button = ButtonBlock()
    divider = DividerBlock()
    spacer = SpacerBlock()

    def to_mjml(self, value):
        return "".join(child.block.to_mjml(child.value) for child in value)


class ColumnsMixin:
    """Columns side by side in one section (stacked on narrow screens)."""

    section_level = True
    column_names = ()

    def to_mjml(self, value):
        columns = "".join(
            f"<mj-column>{self.child_blocks[name].to_mjml(value.get(name) or [])}</mj-column>"
            for name in self.column_names
        )
        return f"<mj-section>{columns}</mj-section>"


class TwoColumnsBlock(ColumnsMixin, blocks.StructBlock):
    left = ColumnContentBlock(label=capfirst(_("left column")))
    right = ColumnContentBlock(label=capfirst(_("right column")))

    column_names = ("left", "right")

    class Meta:
        icon = "grip"
        label = _("Two columns")


class ThreeColumnsBlock(ColumnsMixin, blocks.StructBlock):
    left = ColumnContentBlock(label=capfirst(_("left column")))
    middle = ColumnContentBlock(label=capfirst(_("middle column")))
    right = ColumnContentBlock(label=capfirst(_("right column")))

    column_names = ("left", "middle", "right")

    class Meta:
        icon = "grip"
        label = _("Three columns")


class RawMJMLBlock(blocks.TextBlock):
    section_level = True

    class Meta:
        icon = "code"
        label = _("Raw MJML")
        help_text = _("MJML sections, e.g. <mj-section><mj-column>…</mj-column></mj-section>.")

    def clean(self, value):
        value = super().clean(value)
        try:
            check_raw_mjml(value)
        except MJMLError as exc:
            raise ValidationError(str(exc)) from exc
        return value

    def to_mjml(self, value):
        source = value or ""
        if check_raw_mjml(source) == RawMJMLKind.CONTENT:
            return f"<mj-section><mj-column>{source}</mj-column></mj-section>"
        return source


class EmailBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    text = TextBlock()
    image = ImageBlock()
    button = ButtonBlock()
    divider = DividerBlock()
    spacer = SpacerBlock()
    two_columns = TwoColumnsBlock()
    three_columns = ThreeColumnsBlock()
    mjml = RawMJMLBlock()

    def to_mjml(self, value):
        """The sections of an email body: consecutive simple blocks share one column."""
        sections, pending = [], []
        for child in value:
            if getattr(child.block, "section_level", False):
                if pending:
                    sections.append(_section(pending))
                    pending = []
                sections.append(child.block.to_mjml(child.value))
            else:
                pending.append(child.block.to_mjml(child.value))
        if pending:
            sections.append(_section(pending))
        return "\n".join(sections)


def _section(contents):
    return "<mj-section><mj-column>" + "".join(contents) + "</mj-column></mj-section>"
