"""The base of a workflow's tool pages (statistics, dry run, send a test): the workflow,
its permission, and the header buttons that lead from one tool to the others."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton

from ... import rendering
from ...models import EmailWorkflow
from ..titles import TranslatedTitleMixin
from .links import index_breadcrumb, workflow_url
from .permissions import workflow_policy

#: The tool pages: (URL name in the viewset, label, permission needed).
TOOLS = (
    ("statistics", gettext_lazy("Statistics"), "view"),
    ("dry_run", gettext_lazy("Dry run"), "view"),
    ("test_send", gettext_lazy("Send a test"), "change"),
)


#: The icon of each tool, in menus and headers.
TOOL_ICONS = {"statistics": "view", "dry_run": "time", "test_send": "mail"}


def compiled_email(step, workflow):
    """The compiled email a test or dry run uses, and which version of the template it is.

    An active (locked, stopped, archived) workflow sends the revision frozen at
    activation; a draft sends whatever its template's latest revision is then.
    """
    language = workflow.language
    if workflow.status != EmailWorkflow.Status.DRAFT and step.template_revision_id:
        return (
            rendering.compile_revision(step.template_revision_id, language),
            _("the template revision frozen when the workflow was activated"),
        )
    template = step.template
    if template.latest_revision_id:
        return (
            rendering.compile_revision(template.latest_revision_id, language),
            _("the template's latest revision"),
        )
    return rendering.compile_template(template, language), _("the template as saved")


def ordered_steps(workflow):
    return list(workflow.steps.select_related("template").order_by("sort_order", "pk"))


def tools_for(workflow, user, exclude=()):
    """The tool pages ``user`` may open for ``workflow``: (key, label, URL).

    A draft has no statistics yet; its dry run and test send are how it is tried out
    before activation.
    """
    policy = workflow_policy()
    return [
        (key, label, workflow_url(key, workflow))
        for key, label, action in TOOLS
        if key not in exclude
        and not (key == "statistics" and workflow.status == EmailWorkflow.Status.DRAFT)
        and policy.user_has_permission(user, action)
    ]


class WorkflowToolView(TranslatedTitleMixin, WagtailAdminTemplateMixin, TemplateView):
    """Base of the per-workflow admin pages: the workflow, its permission, its breadcrumbs."""

    permission_action = "view"
    header_icon = "mail"
    page_subtitle = ""

    def dispatch(self, request, *args, **kwargs):
        self.workflow = get_object_or_404(EmailWorkflow, pk=kwargs["pk"])
        if not workflow_policy().user_has_permission(request.user, self.permission_action):
            # Wagtail's admin answers this with its "no permission" redirect.
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.workflow)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            index_breadcrumb(),
            {"url": workflow_url("inspect", self.workflow), "label": str(self.workflow)},
            {"url": "", "label": self.get_page_title()},
        ]

    @property
    def header_buttons(self):
        return [
            HeaderButton(label, url=url, icon_name=TOOL_ICONS[key], priority=priority * 10)
            for priority, (key, label, url) in enumerate(
                tools_for(self.workflow, self.request.user, exclude=(self.tool,))
            )
        ]

    tool = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["workflow"] = self.workflow
        return context
