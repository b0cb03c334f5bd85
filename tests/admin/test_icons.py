"""Every icon the package names exists in Wagtail's icon set (a missing one renders blank)."""

from pathlib import Path

from wagtail import hooks

from wagtail_mailflow.admin.workflows.editor import SCENARIO_CARDS
from wagtail_mailflow.admin.workflows.views import LIFECYCLE_BUTTONS
from wagtail_mailflow.rendering.blocks import ColumnContentBlock, EmailBodyBlock
from wagtail_mailflow.viewsets import MailflowViewSetGroup


def registered_icons():
    paths = []
    for register in hooks.get_hooks("register_icons"):
        paths = register(paths)
    return {Path(path).stem for path in paths}


def icons_we_use():
    used = {("menu", MailflowViewSetGroup.menu_icon)}
    used |= {(f"viewset {viewset.name}", viewset.icon) for viewset in MailflowViewSetGroup.items}
    used |= {(f"scenario {value}", icon) for value, icon, _text in SCENARIO_CARDS}
    used |= {(f"action {action}", icon) for action, icon, _priority in LIFECYCLE_BUTTONS}
    for stream in (EmailBodyBlock(), ColumnContentBlock()):
        used |= {(f"block {name}", block.meta.icon) for name, block in stream.child_blocks.items()}
    return used


def test_every_icon_we_name_is_registered():
    available = registered_icons()
    assert "mail" in available  # the set was read
    missing = sorted((where, icon) for where, icon in icons_we_use() if icon not in available)
    assert missing == []


def test_workflows_templates_and_sent_emails_have_distinct_icons():
    from wagtail_mailflow.viewsets import delivery_viewset, email_template_viewset, workflow_viewset

    icons = {workflow_viewset.icon, email_template_viewset.icon, delivery_viewset.icon}
    assert len(icons) == 3
