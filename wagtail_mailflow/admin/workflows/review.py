"""The review page of a draft: the workflow in plain words, what blocks activation (each
problem with the link that fixes it) and "Save and activate"."""

from django.contrib.admin.utils import quote
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...describe import describe_workflow
from ...models import EmailWorkflow, WorkflowAction
from ..templates import REVIEW_RETURN_PARAM, email_template_viewset
from ..titles import TranslatedTitleMixin
from .editor import SECTION_IDS, eligible_count_text
from .links import index_breadcrumb, workflow_url
from .permissions import can, forbidden, workflow_policy
from .tools import tools_for

Status = EmailWorkflow.Status


def review_problems(workflow):
    """The workflow's activation problems, each with the link that fixes it.

    A problem with an email's template links to that template; any other links to
    its section of the workflow editor.
    """
    edit = workflow_url("edit", workflow)
    problems = []
    for problem in workflow.activation_problems():
        if problem.step is not None:
            # Once the template is fixed and published, the editor comes back here.
            url = (
                reverse(
                    email_template_viewset.get_url_name("edit"),
                    args=[quote(problem.step.template_id)],
                )
                + f"?{REVIEW_RETURN_PARAM}={quote(workflow.pk)}"
            )
        else:
            url = f"{edit}#{SECTION_IDS[problem.section]}"
        problems.append({"message": str(problem.message), "url": url, "section": problem.section})
    return problems


class ReviewView(TranslatedTitleMixin, WagtailAdminTemplateMixin, TemplateView):
    """Review a draft in plain words, see what blocks activation, and "Save and activate"."""

    template_name = "wagtail_mailflow/admin/workflows/review.html"
    page_title = _("Review and activate")
    header_icon = "check"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(EmailWorkflow, pk=kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        if not workflow_policy().user_has_any_permission(request.user, ["change", "activate"]):
            return forbidden(request)
        if self.object.status != Status.DRAFT:
            return redirect(workflow_url("inspect", self.object))
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.object)

    def get_breadcrumbs_items(self):
        return [
            index_breadcrumb(),
            {"url": workflow_url("edit", self.object), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workflow = self.object
        lines = describe_workflow(workflow)
        edit = workflow_url("edit", workflow)
        context.update(
            {
                "object": workflow,
                "description_lines": lines[:-1],
                "sending_note": lines[-1],
                "problems": review_problems(workflow),
                "can_activate": can(self.request.user, WorkflowAction.ACTIVATE),
                "activate_url": workflow_url("activate", workflow),
                "edit_url": edit,
                "section_urls": {key: f"{edit}#{anchor}" for key, anchor in SECTION_IDS.items()},
                "eligible_text": eligible_count_text(workflow) if workflow.contact_list_id else "",
                "tools": tools_for(workflow, self.request.user),
            }
        )
        return context
