"""Admin viewsets, created once at module level and registered from wagtail_hooks."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn
from wagtail.admin.views.generic.models import DeleteView, EditView
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet

from .forms import WorkflowForm
from .models import Contact, ContactList, ContactProperty, EmailWorkflow, Segment

# -- Workflows ---------------------------------------------------------------


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
        from wagtail.admin.panels import ObjectList

        return ObjectList(self.panels, base_form_class=WorkflowForm).bind_to_model(self.model)


workflow_viewset = WorkflowViewSet("mailflow_workflows")


# -- Contacts, lists, segments, properties ----------------------------------


class ContactViewSet(ModelViewSet):
    model = Contact
    icon = "user"
    menu_label = _("Contacts")
    url_prefix = "mailflow/contacts"
    add_to_admin_menu = False
    inspect_view_enabled = True
    search_fields = ["email", "first_name", "last_name"]
    list_filter = ["language"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        DateColumn("created_at", label=_("Created")),
    ]
    form_fields = ["email", "first_name", "last_name", "language", "timezone", "properties"]


class ContactListViewSet(ModelViewSet):
    model = ContactList
    icon = "list-ul"
    menu_label = _("Lists")
    url_prefix = "mailflow/lists"
    add_to_admin_menu = False
    search_fields = ["name"]
    list_display = ["name", "double_opt_in", DateColumn("created_at", label=_("Created"))]
    form_fields = ["name", "description", "double_opt_in"]


class SegmentViewSet(ModelViewSet):
    model = Segment
    icon = "filter"
    menu_label = _("Segments")
    url_prefix = "mailflow/segments"
    add_to_admin_menu = False
    search_fields = ["name"]
    list_display = ["name", "description"]
    form_fields = ["name", "description", "conditions"]


class ContactPropertyViewSet(ModelViewSet):
    model = ContactProperty
    icon = "tag"
    menu_label = _("Contact properties")
    url_prefix = "mailflow/properties"
    add_to_admin_menu = False
    search_fields = ["name", "label"]
    list_display = ["name", "label", Column("type", accessor="get_type_display", label=_("Type"))]
    form_fields = ["name", "label", "type", "description"]


contact_viewset = ContactViewSet("mailflow_contacts")
contact_list_viewset = ContactListViewSet("mailflow_lists")
segment_viewset = SegmentViewSet("mailflow_segments")
contact_property_viewset = ContactPropertyViewSet("mailflow_properties")


# -- Email templates ---------------------------------------------------------
# (the EmailTemplate snippet viewset is defined here as `email_template_viewset`)

from wagtail.admin.ui.tables import LiveStatusTagColumn, UpdatedAtColumn  # noqa: E402
from wagtail.snippets.views.snippets import SnippetViewSet  # noqa: E402

from .models import EmailTemplate  # noqa: E402


class EmailTemplateViewSet(SnippetViewSet):
    """Email templates: revisions, draft/publish and live preview (HTML and plain text)."""

    model = EmailTemplate
    icon = "mail"
    menu_label = _("Email templates")
    url_prefix = "mailflow/templates"
    add_to_admin_menu = False
    search_fields = ["name", "subject"]
    list_display = ["name", "subject", LiveStatusTagColumn(), UpdatedAtColumn()]
    list_filter = ["live"]


email_template_viewset = EmailTemplateViewSet()


# -- The menu ------------------------------------------------------------------


class MailflowViewSetGroup(ViewSetGroup):
    menu_label = _("Email automation")
    menu_icon = "mail"
    menu_order = 250
    items = (
        workflow_viewset,
        email_template_viewset,
        contact_viewset,
        contact_list_viewset,
        segment_viewset,
        contact_property_viewset,
    )
