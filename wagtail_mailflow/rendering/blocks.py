"""StreamField blocks an email body is built from; each renders itself to MJML."""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock

ALIGN_CHOICES = [("left", _("Left")), ("center", _("Center")), ("right", _("Right"))]
RICH_TEXT_FEATURES = ["bold", "italic", "link", "ol", "ul", "h2", "h3"]


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("text"), max_length=255)
    level = blocks.ChoiceBlock(
        label=_("level"), choices=[("h1", "H1"), ("h2", "H2"), ("h3", "H3")], default="h1"
    )
    align = blocks.ChoiceBlock(label=_("alignment"), choices=ALIGN_CHOICES, default="left")

    class Meta:
        icon = "title"
        label = _("Heading")


class TextBlock(blocks.RichTextBlock):
    def __init__(self, **kwargs):
        kwargs.setdefault("features", RICH_TEXT_FEATURES)
        super().__init__(**kwargs)

    class Meta:
        icon = "pilcrow"
        label = _("Text")


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=_("image"))
    alt = blocks.CharBlock(
        label=_("alt text"), max_length=255, help_text=_("Shown when images are blocked.")
    )
    link = blocks.URLBlock(label=_("link"), required=False)
    width = blocks.IntegerBlock(label=_("width (px)"), min_value=20, max_value=600, default=600)

    class Meta:
        icon = "image"
        label = _("Image")


class ButtonBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("text"), max_length=100)
    url = blocks.CharBlock(
        label=_("link"), max_length=2000, help_text=_("An https:// address or {{ unsubscribe_url }}.")
    )
    background_color = blocks.CharBlock(label=_("background colour"), max_length=7, default="#2e6d8e")
    text_color = blocks.CharBlock(label=_("text colour"), max_length=7, default="#ffffff")
    align = blocks.ChoiceBlock(label=_("alignment"), choices=ALIGN_CHOICES, default="center")

    class Meta:
        icon = "link"
        label = _("Button")


class DividerBlock(blocks.StructBlock):
    color = blocks.CharBlock(label=_("colour"), max_length=7, default="#dddddd")

    class Meta:
        icon = "horizontalrule"
        label = _("Divider")


class SpacerBlock(blocks.StructBlock):
    height = blocks.IntegerBlock(label=_("height (px)"), min_value=4, max_value=200, default=20)

    class Meta:
        icon = "arrows-up-down"
        label = _("Spacer")


class ColumnContentBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    text = TextBlock()
    image = ImageBlock()
    button = ButtonBlock()
    divider = DividerBlock()
    spacer = SpacerBlock()


class TwoColumnsBlock(blocks.StructBlock):
    left = ColumnContentBlock(label=_("left column"))
    right = ColumnContentBlock(label=_("right column"))

    class Meta:
        icon = "grip"
        label = _("Two columns")


class ThreeColumnsBlock(blocks.StructBlock):
    left = ColumnContentBlock(label=_("left column"))
    middle = ColumnContentBlock(label=_("middle column"))
    right = ColumnContentBlock(label=_("right column"))

    class Meta:
        icon = "grip"
        label = _("Three columns")


class RawMJMLBlock(blocks.TextBlock):
    class Meta:
        icon = "code"
        label = _("Raw MJML")
        help_text = _("MJML sections, e.g. <mj-section><mj-column>…</mj-column></mj-section>.")


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
