"""Every Wagtail hook of the package: the "Email automation" menu and its viewsets, the
permission policies they use, history labels, bulk archive and "create a template and
come back"."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .admin import policies
from .admin.contacts.views import register_contact_log_actions
from .admin.workflows.actions import ArchiveBulkAction, register_workflow_log_actions
from .admin.workflows.template_return import (
    return_to_workflow_after_template,
    return_to_workflow_after_template_edit,
)
from .models import Delivery
from .viewsets import MailflowViewSetGroup

# Before the viewsets are registered: each asks the registry for its model's policy.
policies.register(Delivery, policies.ViewOnlyPermissionPolicy(Delivery))
register_snippet(MailflowViewSetGroup)

hooks.register("register_log_actions", register_workflow_log_actions)
hooks.register("register_log_actions", register_contact_log_actions)
hooks.register("register_bulk_action", ArchiveBulkAction)
hooks.register("after_create_snippet", return_to_workflow_after_template)
hooks.register("after_edit_snippet", return_to_workflow_after_template_edit)
