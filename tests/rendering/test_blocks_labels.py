"""The block editor's fields: capitalised labels and the browser's colour picker for colours."""

from wagtail_mailflow.rendering.blocks import ButtonBlock, DividerBlock, EmailBodyBlock


def _fields(block):
    for name, child in getattr(block, "child_blocks", {}).items():
        yield name, child
        yield from _fields(child)


def test_every_block_field_label_starts_with_a_capital():
    labels = [str(child.label) for _name, child in _fields(EmailBodyBlock())]
    assert labels and all(label[0].isupper() or not label[0].isalpha() for label in labels), labels


def test_colours_are_picked_with_a_colour_input():
    for block, name in (
        (ButtonBlock(), "background_color"),
        (ButtonBlock(), "text_color"),
        (DividerBlock(), "color"),
    ):
        html = block.child_blocks[name].field.widget.render(name, "#2e6d8e")
        assert 'type="color"' in html
