"""The "Mail automation" menu: every admin viewset, created once at module level.

Each area lives in ``wagtail_mailflow/admin/``; this module only groups them.
"""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.viewsets.base import ViewSetGroup

from .admin.contacts.viewsets import (
    contact_list_viewset,
    contact_property_viewset,
    contact_viewset,
    segment_viewset,
)
from .admin.deliveries import delivery_viewset
from .admin.imports import contact_import_viewset
from .admin.templates import email_template_viewset
from .admin.workflows.viewset import workflow_viewset

__all__ = [
    "MailflowViewSetGroup",
    "contact_import_viewset",
    "contact_list_viewset",
    "contact_property_viewset",
    "contact_viewset",
    "delivery_viewset",
    "email_template_viewset",
    "segment_viewset",
    "workflow_viewset",
]


class MailflowViewSetGroup(ViewSetGroup):
    menu_label = _("Mail automation")
    menu_icon = "mail"
    menu_order = 250
    items = (
        workflow_viewset,
        delivery_viewset,
        email_template_viewset,
        contact_viewset,
        contact_list_viewset,
        contact_import_viewset,
        segment_viewset,
        contact_property_viewset,
    )
