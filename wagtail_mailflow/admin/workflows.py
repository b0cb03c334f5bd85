"""Workflows in the admin: listing, the draft editor, the read-only view of the others."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn
from wagtail.admin.views.generic.models import DeleteView, EditView
from wagtail.admin.viewsets.model import ModelViewSet

from ..models import EmailWorkflow
from .forms import WorkflowForm


class WorkflowEditView(EditView):
    """Only drafts open for editing; other statuses go to the read-only view."""

    def dispatch(self, request, *args, **kwargs):
        workflow = self.get_object()
        if not workflow.is_editable:
            messages.warning(
                request,
                _("'%(title)s' is %(status)s and cannot be edited. Duplicate it to make changes.")
                % {"title": workflow, "status": workflow.get_status_display().lower()},
            )
            return redirect(self.inspect_url_name, workflow.pk)
        return super().dispatch(request, *args, **kwargs)


class WorkflowDeleteView(DeleteView):
    """Only archived workflows can be deleted."""

    def dispatch(self, request, *args, **kwargs):
        if self.object.status != EmailWorkflow.Status.ARCHIVED:
            messages.error(
                request, _("Only an archived workflow can be deleted; archive it first.")
            )
            return redirect(self.index_url_name)
        return super().dispatch(request, *args, **kwargs)


class WorkflowViewSet(ModelViewSet):
    model = EmailWorkflow
    icon = "mail"
    menu_label = _("Workflows")
    url_prefix = "mailflow/workflows"
    add_to_admin_menu = False
    inspect_view_enabled = True
    list_filter = ["status", "scenario"]
    search_fields = ["title"]
    edit_view_class = WorkflowEditView
    delete_view_class = WorkflowDeleteView
    list_display = [
        "title",
        Column("scenario", label=_("Scenario"), accessor="get_scenario_display"),
        StatusTagColumn(
            "status",
            label=_("Status"),
            accessor="get_status_display",
            primary=lambda workflow: workflow.status == EmailWorkflow.Status.ACTIVE,
        ),
        Column("contact_list", label=_("Contact list")),
        DateColumn("updated_at", label=_("Updated")),
    ]
    inspect_view_fields = [
        "title",
        "status",
        "scenario",
        "language",
        "timezone",
        "contact_list",
        "segment",
        "activated_at",
        "locked_at",
        "stopped_at",
        "archived_at",
    ]
    panels = [
        MultiFieldPanel(
            [FieldPanel("title"), FieldRowPanel([FieldPanel("language"), FieldPanel("timezone")])],
            heading=_("Workflow details"),
        ),
        MultiFieldPanel(
            [FieldPanel("contact_list"), FieldPanel("segment")], heading=_("Eligibility")
        ),
        MultiFieldPanel(
            [
                FieldPanel("scenario"),
                FieldPanel("trigger_conditions"),
                FieldPanel("date_mode"),
                FieldPanel("fixed_at"),
                FieldPanel("date_property"),
                FieldRowPanel([FieldPanel("offset_days"), FieldPanel("time_of_day")]),
                FieldPanel("inactivity_days"),
                FieldPanel("allow_reentry"),
            ],
            heading=_("Trigger"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("sending_days"),
                FieldRowPanel([FieldPanel("sending_start"), FieldPanel("sending_end")]),
            ],
            heading=_("Sending period"),
        ),
        InlinePanel(
            "steps",
            heading=_("Emails"),
            label=_("Email"),
            min_num=0,
            panels=[
                FieldRowPanel([FieldPanel("delay_amount"), FieldPanel("delay_unit")]),
                FieldPanel("template"),
            ],
        ),
    ]

    def get_edit_handler(self):
        return ObjectList(self.panels, base_form_class=WorkflowForm).bind_to_model(self.model)


workflow_viewset = WorkflowViewSet("mailflow_workflows")
