"""The workflow screens of the viewset: listing, create (scenario cards), edit, inspect, delete."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin import messages
from wagtail.admin.ui.tables import BulkActionsCheckboxColumn
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.models import (
    CreateView,
    DeleteView,
    EditView,
    IndexView,
    InspectView,
)
from wagtail.admin.widgets.button import Button, HeaderButton

from ...describe import describe_workflow
from ...models import EmailWorkflow, WorkflowAction
from .. import display
from ..side_panels import ObjectStatusPanelMixin
from ..titles import TranslatedTitleMixin
from .editor import NEW_TEMPLATE_ACTION, SCENARIO_CARDS, edit_handler_for
from .links import index_url, url_name, workflow_url
from .permissions import (
    DUPLICATE,
    available,
    can,
    forbidden,
    may_create_templates,
    workflow_policy,
)
from .tools import TOOL_ICONS, tools_for

Status = EmailWorkflow.Status
Scenario = EmailWorkflow.Scenario

#: The lifecycle buttons of the "Manage" menu: (action, icon, priority).
LIFECYCLE_BUTTONS = (
    (WorkflowAction.ACTIVATE, "mailflow-play", 20),
    (WorkflowAction.LOCK, "lock", 21),
    (WorkflowAction.STOP, "mailflow-stop", 22),
    (WorkflowAction.ARCHIVE, "folder", 40),
    (WorkflowAction.UNARCHIVE, "rotate", 41),
)


def workflow_action_buttons(workflow, user, exclude=(), button_class=Button):
    """The "Manage" actions a user may take on a workflow in its current status."""
    url = workflow_url
    can_change = workflow_policy().user_has_permission(user, "change")
    buttons = []

    def add(name, label, link, icon, priority):
        if name in exclude:
            return
        buttons.append(
            button_class(
                label,
                url=link,
                icon_name=icon,
                priority=priority,
                attrs={
                    "data-mailflow-action": name,
                    "aria-label": f"{label} '{workflow}'",
                },
            )
        )

    if workflow.status == Status.DRAFT and can_change:
        add("edit", _("Edit"), url("edit", workflow), "edit", 10)
        add("review", _("Review and activate"), url("review", workflow), "check", 15)
    add("inspect", _("View"), url("inspect", workflow), "view", 12)
    for priority, (key, label, link) in enumerate(tools_for(workflow, user), start=13):
        add(key, label, link, TOOL_ICONS[key], priority)
    for action, icon, priority in LIFECYCLE_BUTTONS:
        if action == WorkflowAction.ACTIVATE and workflow.status == Status.DRAFT:
            continue  # a draft goes through the review page
        if available(workflow, action) and can(user, action):
            add(action.value, action.label, url(action, workflow), icon, priority)
    if can(user, DUPLICATE):
        add(DUPLICATE, _("Duplicate"), url(DUPLICATE, workflow), "copy", 30)
    if available(workflow, WorkflowAction.DELETE) and can(user, WorkflowAction.DELETE):
        add("delete", _("Delete"), url("delete", workflow), "bin", 50)
    add("history", _("History"), url("history", workflow), "history", 60)
    return buttons


class WorkflowIndexView(IndexView):
    """The listing: status tabs (archived only under their own tab), row actions, bulk archive."""

    results_template_name = "wagtail_mailflow/admin/workflows/index_results.html"
    template_name = "wagtail_mailflow/admin/workflows/index.html"

    @cached_property
    def status_tab(self):
        value = self.request.GET.get("status", "")
        return value if value in Status.values else ""

    def get_base_queryset(self):
        queryset = super().get_base_queryset().select_related("contact_list")
        if self.status_tab != Status.ARCHIVED:
            queryset = queryset.exclude(status=Status.ARCHIVED)
        return queryset

    @cached_property
    def can_bulk_archive(self):
        """Whether the user may take a bulk action (archive or delete): rows get checkboxes."""
        user = self.request.user
        return can(user, WorkflowAction.ARCHIVE) or can(user, WorkflowAction.DELETE)

    @cached_property
    def columns(self):
        columns = super().columns
        if self.can_bulk_archive:
            columns = [BulkActionsCheckboxColumn("bulk_actions", obj_type="emailworkflow")] + list(
                columns
            )
        return columns

    def _get_title_column(self, *args, **kwargs):
        return super()._get_title_column(
            *args, **kwargs, get_title_id=lambda instance: f"emailworkflow_{instance.pk}_title"
        )

    def get_edit_url(self, instance):
        return workflow_url("edit" if instance.status == Status.DRAFT else "inspect", instance)

    def get_list_more_buttons(self, instance):
        return workflow_action_buttons(instance, self.request.user)

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        base = index_url()
        context["status_tabs"] = [
            {
                "value": "",
                "label": _("All (not archived)"),
                "url": base,
                "active": self.status_tab == "",
            }
        ] + [
            {
                "value": value,
                "label": label,
                "url": f"{base}?status={value}",
                "active": self.status_tab == value,
            }
            for value, label in Status.choices
        ]
        context["can_bulk_archive"] = self.can_bulk_archive
        return context


def requested_scenario(request):
    """The scenario named by ?scenario= (or the posted form), if it is a known one."""
    value = request.GET.get("scenario") or request.POST.get("scenario") or ""
    return value if value in Scenario.values else None


class WorkflowCreateView(TranslatedTitleMixin, CreateView):
    """Without a scenario: the scenario cards. With one: the form for that scenario."""

    cards_template_name = "wagtail_mailflow/admin/workflows/scenarios.html"

    def setup(self, request, *args, **kwargs):
        self.scenario = requested_scenario(request)
        super().setup(request, *args, **kwargs)

    def get_panel(self):
        return edit_handler_for(self.scenario or Scenario.WELCOME)

    def get_form_class(self):
        return self.panel.get_form_class()

    def get(self, request, *args, **kwargs):
        if self.scenario is None:
            return self.render_cards(request)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.scenario is None:
            messages.error(request, _("Choose a scenario for the new workflow."))
            return self.render_cards(request)
        return super().post(request, *args, **kwargs)

    def render_cards(self, request):
        base = reverse(url_name("add"))
        cards = [
            {
                "value": value,
                "label": Scenario(value).label,
                "icon": icon,
                "description": description,
                "url": f"{base}?scenario={value}",
            }
            for value, icon, description in SCENARIO_CARDS
        ]
        self.object = None
        self.template_name = self.cards_template_name
        self.page_title = _("Choose a scenario")
        context = WagtailAdminTemplateMixin.get_context_data(self, cards=cards, form=None)
        return self.render_to_response(context)

    def get_page_subtitle(self):
        if self.scenario:
            return _("Email workflow: %(scenario)s") % {"scenario": Scenario(self.scenario).label}
        return super().get_page_subtitle()

    def get_add_url(self):
        url = super().get_add_url()
        return f"{url}?scenario={self.scenario}" if self.scenario else url

    def get_initial_form_instance(self):
        instance = super().get_initial_form_instance() or EmailWorkflow()
        instance.scenario = self.scenario or Scenario.WELCOME
        return instance

    @cached_property
    def creates_a_template_next(self):
        """ "Create a new email template" was clicked: once saved, the template editor opens."""
        return bool(self.request.POST.get(NEW_TEMPLATE_ACTION)) and may_create_templates(
            self.request.user
        )

    def get_success_url(self):
        if self.creates_a_template_next:
            return workflow_url("new_template", self.object)
        return workflow_url("edit", self.object)

    def get_success_message(self, instance):
        if self.creates_a_template_next:
            return _("Workflow '%(title)s' is saved as a draft. Now write its new email.") % {
                "title": instance
            }
        return _(
            "Workflow '%(title)s' created. Now add its emails, then review and activate it."
        ) % {"title": instance}


class WorkflowEditView(TranslatedTitleMixin, ObjectStatusPanelMixin, EditView):
    """Only drafts open for editing; other statuses go to the read-only view."""

    def get_status_label(self):
        return self.object.get_status_display()

    def get_success_url(self):
        # Saving keeps the editor on the workflow, not the listing.
        return workflow_url("edit", self.object)

    def get_panel(self):
        return edit_handler_for(self.get_object().scenario)

    def get_form_class(self):
        return self.panel.get_form_class()

    def dispatch(self, request, *args, **kwargs):
        # The permission first: the message below would tell anyone the title and status.
        if not self.user_has_permission(self.permission_required):
            raise PermissionDenied
        workflow = self.get_object()
        if not workflow.is_editable:
            messages.warning(
                request,
                _("'%(title)s' is %(status)s and cannot be edited. Duplicate it to make changes.")
                % {"title": workflow, "status": workflow.get_status_display().lower()},
            )
            return redirect(self.inspect_url_name, workflow.pk)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        for problem in self.get_object().condition_problems():
            messages.warning(request, problem)
        return super().get(request, *args, **kwargs)

    def get_page_subtitle(self):
        return f"{self.object} ({self.object.get_scenario_display()})"

    @cached_property
    def header_more_buttons(self):
        return workflow_action_buttons(self.object, self.request.user, exclude=("edit",))

    @cached_property
    def header_buttons(self):
        return [
            HeaderButton(
                _("Review and activate"),
                url=workflow_url("review", self.object),
                icon_name="check",
                attrs={"data-mailflow-action": "review"},
            )
        ]


class WorkflowDeleteView(TranslatedTitleMixin, DeleteView):
    """Drafts and archived workflows can be deleted (after a confirmation page), by users who
    may also activate workflows."""

    def dispatch(self, request, *args, **kwargs):
        if not can(request.user, WorkflowAction.DELETE):
            return forbidden(request)
        if not self.object.allows(WorkflowAction.DELETE):
            messages.error(
                request,
                _("Only a draft or an archived workflow can be deleted; archive it first."),
            )
            return redirect(self.index_url_name)
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self):
        if self.object.status == Status.ARCHIVED:
            return index_url() + "?status=archived"
        return index_url()


class WorkflowInspectView(TranslatedTitleMixin, InspectView):
    """The read-only page: status, the workflow in plain words, its emails, a Duplicate banner."""

    template_name = "wagtail_mailflow/admin/workflows/inspect.html"
    page_title = _("Workflow")

    def get_edit_url(self):
        if self.object.status == Status.DRAFT:
            return super().get_edit_url()
        return None

    def get_delete_url(self):
        return None

    def get_field_display_value(self, field_name, field):
        if field_name == "language":
            return display.language_name(self.object.language)
        return display.display(super().get_field_display_value(field_name, field))

    @cached_property
    def header_more_buttons(self):
        return workflow_action_buttons(self.object, self.request.user, exclude=("inspect",))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workflow = self.object
        for problem in workflow.condition_problems():
            messages.warning(self.request, problem)
        lines = describe_workflow(workflow)
        context.update(
            {
                "description_lines": lines[:-1],
                "sending_note": lines[-1],
                "steps": workflow.steps.select_related("template", "template_revision").order_by(
                    "sort_order", "pk"
                ),
                "read_only": workflow.status != Status.DRAFT,
                "can_duplicate": can(self.request.user, DUPLICATE),
                "duplicate_url": workflow_url("duplicate", workflow),
                "review_url": workflow_url("review", workflow),
                "can_change": self.user_has_permission("change"),
                "tools": tools_for(workflow, self.request.user, exclude=("statistics",))
                if workflow.status == Status.DRAFT
                else [],
            }
        )
        return context
