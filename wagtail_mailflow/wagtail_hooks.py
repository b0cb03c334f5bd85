"""Registers the "Email automation" admin menu and its viewsets."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .admin.workflow_actions import ArchiveBulkAction, register_workflow_log_actions
from .admin.workflows import (
    return_to_workflow_after_template,
    return_to_workflow_after_template_edit,
)
from .viewsets import MailflowViewSetGroup

register_snippet(MailflowViewSetGroup)

# Workflow lifecycle: history labels, bulk archive, "create a template and come back".
hooks.register("register_log_actions", register_workflow_log_actions)
hooks.register("register_bulk_action", ArchiveBulkAction)
hooks.register("after_create_snippet", return_to_workflow_after_template)
hooks.register("after_edit_snippet", return_to_workflow_after_template_edit)


@hooks.register("register_admin_urls")
def register_workflow_tools():
    """Statistics, test send and dry run pages of a workflow."""
    from .admin import statistics, testing

    return [*statistics.urlpatterns, *testing.urlpatterns]
