"""Every Wagtail hook of the package: the "Mail automation" menu and its viewsets, the
permission policies they use, history labels, bulk archive and "create a template and
come back"."""

from django.contrib.contenttypes.models import ContentType
from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .admin import policies
from .admin.contacts.views import register_contact_log_actions
from .admin.pause import admin_urls as pause_admin_urls
from .admin.pause import announce_pause
from .admin.resend import SendAgainBulkAction
from .admin.workflows.actions import (
    ArchiveBulkAction,
    DeleteBulkAction,
    register_workflow_log_actions,
)
from .admin.workflows.template_return import (
    return_to_workflow_after_template,
    return_to_workflow_after_template_edit,
)
from .integrations.form_submissions import signup_page_models
from .models import Contact, Delivery
from .viewsets import MailflowViewSetGroup

# Before the viewsets are registered: each asks the registry for its model's policy.
policies.register(Delivery, policies.ViewOnlyPermissionPolicy(Delivery))
register_snippet(MailflowViewSetGroup)

#: The package's own icons (lifecycle buttons, the workflows menu item), beside Wagtail's.
ICONS = [
    "wagtail_mailflow/icons/mailflow-play.svg",
    "wagtail_mailflow/icons/mailflow-stop.svg",
    "wagtail_mailflow/icons/mailflow-workflow.svg",
]


def register_icons(icons):
    return icons + ICONS


def admin_css():
    """Status colours for every listing of the package."""
    return format_html(
        '<link rel="stylesheet" href="{}">', static("wagtail_mailflow/css/admin.css")
    )


def hide_signup_submissions(user, pages):
    """Form submissions of signup pages are contacts' data: listed only to users who may
    view contacts (and erased with the contact)."""
    if policies.policy_for(Contact).user_has_permission(user, "view"):
        return pages
    models = signup_page_models()
    if not models:
        return pages
    return pages.exclude(content_type__in=ContentType.objects.get_for_models(*models).values())


hooks.register("register_icons", register_icons)
hooks.register("filter_form_submissions_for_user", hide_signup_submissions)
hooks.register("insert_global_admin_css", admin_css)
hooks.register("register_log_actions", register_workflow_log_actions)
hooks.register("register_log_actions", register_contact_log_actions)
hooks.register("register_bulk_action", ArchiveBulkAction)
hooks.register("register_bulk_action", DeleteBulkAction)
hooks.register("register_bulk_action", SendAgainBulkAction)
# The sending pause: a banner across Mail automation, and its "Resume now" endpoint.
hooks.register("construct_main_menu", announce_pause)
hooks.register("register_admin_urls", pause_admin_urls)
hooks.register("after_create_snippet", return_to_workflow_after_template)
hooks.register("after_edit_snippet", return_to_workflow_after_template_edit)
