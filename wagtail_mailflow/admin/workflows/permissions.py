"""Who may do what with workflows: Wagtail's registered permission policy of the model."""

from django.core.exceptions import PermissionDenied
from django.views.defaults import permission_denied

from ...models import EmailTemplate, EmailWorkflow, WorkflowAction
from .. import policies

#: Not a lifecycle transition: a workflow of any status can be copied.
DUPLICATE = "duplicate"


def workflow_policy():
    """The permission policy of workflows."""
    return policies.policy_for(EmailWorkflow)


def can(user, action: str) -> bool:
    """Whether ``user`` may take a lifecycle ``action`` or duplicate (Wagtail permissions)."""
    policy = workflow_policy()
    if action == DUPLICATE:
        return policy.user_has_permission(user, "add")
    if action == WorkflowAction.DELETE:
        return policy.user_has_permission(user, "activate") and policy.user_has_permission(
            user, "delete"
        )
    return policy.user_has_permission(user, "activate") and policy.user_has_permission(
        user, "change"
    )


def may_create_templates(user) -> bool:
    """Whether ``user`` may write a new template from a workflow's editor and add it as an email."""
    return workflow_policy().user_has_permission(user, "change") and policies.policy_for(
        EmailTemplate
    ).user_has_permission(user, "add")


def available(workflow: EmailWorkflow, action: str) -> bool:
    """Whether the workflow's status allows ``action`` (duplicating is always allowed)."""
    return action == DUPLICATE or workflow.allows(WorkflowAction(action))


def forbidden(request):
    """A real 403 (Wagtail's admin would turn a raised PermissionDenied into a redirect)."""
    return permission_denied(request, PermissionDenied())
