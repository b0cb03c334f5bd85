"""The site's contact property definitions, for callers of rendering that pass none."""

from collections.abc import Iterable

from django.apps import apps
from django.db.models import QuerySet


def contact_properties() -> QuerySet:
    """Every contact property the site defines (name, type, label)."""
    # Looked up through the app registry: rendering sits below the models layer and must
    # not import it (models/templates.py imports rendering).
    return apps.get_model("wagtail_mailflow", "ContactProperty").objects.all()


def property_types(names: Iterable[str] | None = None) -> dict[str, str]:
    """Property name -> type, for every property or only those in ``names``."""
    properties = contact_properties()
    if names is not None:
        properties = properties.filter(name__in=list(names))
    return dict(properties.values_list("name", "type"))
