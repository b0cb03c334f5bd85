"""The admin's live preview and test sends: a template rendered with sample contact values."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.timezone import localdate

from ..contact_fields import PropertyType
from .compile import TemplateError, compile_template
from .properties import contact_properties

#: The unsubscribe link of every message shown in the admin (previews, dry runs, sent emails):
#: a link to nowhere, never a live token that would unsubscribe the contact when clicked.
PREVIEW_UNSUBSCRIBE_URL = "#unsubscribe"


def sample_values(properties: Iterable[Any] | None = None) -> dict[str, Any]:
    """Sample contact values for previews and test sends: one value per property type.

    ``properties``: objects with ``name``, ``type`` and ``label`` (the site's when not given).
    """
    if properties is None:
        properties = contact_properties()
    samples = {
        PropertyType.TEXT: None,
        PropertyType.NUMBER: 42,
        PropertyType.BOOLEAN: True,
        PropertyType.DATE: localdate(),
    }
    values = {}
    for prop in properties:
        sample = samples.get(prop.type)
        values[prop.name] = prop.label or prop.name if sample is None else sample
    values.update(email="jane.doe@example.com", first_name="Jane", last_name="Doe")
    return values


def preview_context(template: Any, mode_name: str) -> dict[str, Any]:
    """Context for the admin's live preview: the email rendered with sample contact data."""
    context = {"template": template, "mode": mode_name}
    try:
        compiled = compile_template(template)
    except (TemplateError, ValidationError) as exc:
        context["error"] = str(exc)
        return context
    context["email"] = compiled.render(sample_values(), PREVIEW_UNSUBSCRIBE_URL)
    return context
