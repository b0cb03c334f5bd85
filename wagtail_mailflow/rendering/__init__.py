"""Blocks -> MJML -> HTML (once per template revision) -> personalised message + text part."""


def validate_template(template):
    """Errors keyed by field for a template being saved (bad MJML, bad placeholders, no sender)."""
    return {}


def template_problems(template):
    """Readable reasons a template cannot be sent (used at workflow activation)."""
    return []


def preview_context(template, mode_name):
    """Context for the admin's live preview."""
    return {"template": template}
