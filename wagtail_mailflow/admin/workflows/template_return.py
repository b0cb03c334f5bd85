""" "Create a new email template" from a workflow's editor, and back with the email added.

``new_template`` remembers the workflow in the session and opens the template
editor; the ``after_create_snippet`` / ``after_edit_snippet`` hooks (registered in
``wagtail_hooks``) add the template as the workflow's next email and go back.
"""

from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin import messages

from ...models import EmailTemplate, EmailWorkflow, WorkflowStep
from ..templates import REVIEW_RETURN_KEY, email_template_viewset
from .editor import SECTION_IDS
from .links import workflow_url
from .permissions import forbidden, may_create_templates

TEMPLATE_RETURN_KEY = "wagtail_mailflow_template_return"


def new_template(request, pk):
    """Open the template create view; once the template is created, come back to this workflow."""
    workflow = get_object_or_404(EmailWorkflow, pk=pk)
    if not may_create_templates(request.user):
        return forbidden(request)
    if not workflow.is_editable:
        messages.error(request, _("The emails of this workflow can no longer be changed."))
        return redirect(workflow_url("inspect", workflow))
    request.session[TEMPLATE_RETURN_KEY] = {"workflow": workflow.pk}
    return redirect(reverse(email_template_viewset.get_url_name("add")))


def _is_autosave(request):
    """Wagtail's autosave posts the editor's form in the background and expects JSON."""
    return not request.accepts("text/html")


def return_to_workflow_after_template(request, instance):
    """``after_create_snippet`` hook: add the new template as the workflow's next email.

    When autosave creates the template in the background, the editor is still
    writing it: remember which template it is, and come back once they save or
    publish it themselves (``return_to_workflow_after_template_edit``).
    """
    if not isinstance(instance, EmailTemplate):
        return None
    if _is_autosave(request):
        pending = request.session.get(TEMPLATE_RETURN_KEY)
        if pending and "template" not in pending:
            request.session[TEMPLATE_RETURN_KEY] = {**pending, "template": instance.pk}
        return None
    pending = request.session.pop(TEMPLATE_RETURN_KEY, None)
    if not pending:
        return None
    return _add_template_to_workflow(request, instance, pending)


def return_to_workflow_after_template_edit(request, instance):
    """``after_edit_snippet`` hook: the editor saved the template autosave created, or
    published the template a review's "Fix it" opened; go back."""
    if not isinstance(instance, EmailTemplate) or _is_autosave(request):
        return None
    review = request.session.get(REVIEW_RETURN_KEY)
    if review and review.get("template") == instance.pk and "action-publish" in request.POST:
        del request.session[REVIEW_RETURN_KEY]
        workflow = EmailWorkflow.objects.filter(pk=review["workflow"]).first()
        if workflow is not None and workflow.is_editable:
            messages.success(request, _("'%(template)s' is published.") % {"template": instance})
            return redirect(workflow_url("review", workflow))
    pending = request.session.get(TEMPLATE_RETURN_KEY)
    if not pending or pending.get("template") != instance.pk:
        return None
    del request.session[TEMPLATE_RETURN_KEY]
    return _add_template_to_workflow(request, instance, pending)


def _add_template_to_workflow(request, instance, pending):
    """Add the template as the pending workflow's next email and go back to its emails."""
    workflow = EmailWorkflow.objects.filter(pk=pending.get("workflow")).first()
    if workflow is None or not workflow.is_editable:
        return None
    last = workflow.steps.order_by("-sort_order").first()
    step = WorkflowStep.objects.create(
        workflow=workflow,
        sort_order=(last.sort_order + 1) if last and last.sort_order is not None else 0,
        delay_amount=0 if last is None else 1,
        delay_unit=WorkflowStep.DelayUnit.DAYS,
        template=instance,
    )
    messages.success(
        request,
        _(
            "'%(template)s' was added to '%(workflow)s' as an email sent %(delay)s; adjust its delay if needed."
        )
        % {"template": instance, "workflow": workflow, "delay": step.describe_delay()},
    )
    return redirect(workflow_url("edit", workflow) + f"#{SECTION_IDS['emails']}")
