"""Workflows in the admin: scenario cards, the per-scenario draft editor, the review page,
the read-only view of the others, the listing with its status tabs and actions.

Lifecycle actions (activate, lock, stop, archive, duplicate…) live in
``workflow_actions``; this module wires them into the viewset's URLs and buttons.
"""

from django.contrib.admin.utils import quote
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
)
from wagtail.admin.ui.tables import BulkActionsCheckboxColumn, Column, DateColumn, StatusTagColumn
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.models import (
    CreateView,
    DeleteView,
    EditView,
    IndexView,
    InspectView,
)
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import Button, HeaderButton

from ..describe import describe_workflow
from ..models import ContactList, EmailTemplate, EmailWorkflow, Segment, WorkflowStep
from . import policies
from . import workflow_actions as actions
from .forms import WorkflowForm

Status = EmailWorkflow.Status
Scenario = EmailWorkflow.Scenario

#: The scenario cards, in the order of the guide, each with its one-line explanation.
SCENARIO_CARDS = [
    (
        Scenario.WELCOME,
        "mail",
        _("Welcome the contacts who have just joined your list with personalised emails."),
    ),
    (
        Scenario.PROPERTY_UPDATE,
        "user",
        _(
            "Send an email as soon as a contact's properties match a condition: a first "
            "purchase, loyalty points reached, an event registration."
        ),
    ),
    (
        Scenario.DATE,
        "date",
        _(
            "Schedule the workflow on a date and time you choose, or relative to a date "
            "property of each contact."
        ),
    ),
    (
        Scenario.BIRTHDAY,
        "pick",
        _("Wish your contacts a happy birthday every year, on their birth date."),
    ),
    (
        Scenario.REACTIVATION,
        "rotate",
        _("Win back the contacts who have not opened or clicked an email for a while."),
    ),
]

SECTIONS = ("details", "eligibility", "trigger", "sending", "emails")

#: HTML ids of the editor's sections (stable whatever the language), used by the
#: review page's "Fix it" links.
SECTION_IDS = {name: f"panel-mailflow_{name}-section" for name in SECTIONS}


class SectionPanel(MultiFieldPanel):
    """A MultiFieldPanel whose HTML id does not depend on its (translated) heading."""

    def __init__(self, *args, section, **kwargs):
        self.section = section
        super().__init__(*args, **kwargs)

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "section": self.section}

    @property
    def clean_name(self):
        return f"mailflow_{self.section}"


class EligibleCountPanel(Panel):
    """Shows how many contacts the list and segment match now, updated as they change."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_mailflow/admin/workflows/eligible_count_panel.html"

        class Media:
            js = ["wagtail_mailflow/js/workflow-form.js"]

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["count_url"] = reverse("mailflow_workflows:eligible_count")
            context["count_text"] = (
                eligible_count_text(self.instance) if self.instance.contact_list_id else ""
            )
            return context


class NewTemplatePanel(Panel):
    """The "Create a new email template" link: returns here with the email added."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_mailflow/admin/workflows/new_template_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            if self.instance.pk:
                context["new_template_url"] = reverse(
                    "mailflow_workflows:new_template", args=[quote(self.instance.pk)]
                )
            return context


TRIGGER_PANELS = {
    Scenario.WELCOME: lambda: [
        HelpPanel(
            content=_(
                "Contacts enter when they newly join the contact list after activation: "
                "through a signup form, the API, a user registration, an admin add or an import."
            )
        ),
        FieldPanel("allow_reentry"),
    ],
    Scenario.PROPERTY_UPDATE: lambda: [
        FieldPanel(
            "trigger_conditions",
            help_text=_(
                'Contacts enter when this condition becomes true, e.g. {"match": "all", '
                '"conditions": [{"field": "points", "operator": "gte", "value": 100}]}.'
            ),
        ),
        FieldPanel("allow_reentry"),
    ],
    Scenario.DATE: lambda: [
        FieldPanel("date_mode"),
        FieldPanel("fixed_at", attrs={"data-mailflow-date-mode": "fixed"}),
        FieldPanel("date_property", attrs={"data-mailflow-date-mode": "relative"}),
        FieldRowPanel(
            [FieldPanel("offset_days"), FieldPanel("time_of_day")],
            attrs={"data-mailflow-date-mode": "relative"},
        ),
    ],
    Scenario.BIRTHDAY: lambda: [
        FieldPanel("date_property", heading=_("Birth date property")),
        FieldPanel("time_of_day"),
    ],
    Scenario.REACTIVATION: lambda: [FieldPanel("inactivity_days")],
}


def build_edit_handler(scenario):
    """The editor for one scenario: only that scenario's trigger fields are in the form."""
    panels = [
        SectionPanel(
            [FieldPanel("title"), FieldRowPanel([FieldPanel("language"), FieldPanel("timezone")])],
            heading=_("Workflow details"),
            section="details",
        ),
        SectionPanel(
            [FieldPanel("contact_list"), FieldPanel("segment"), EligibleCountPanel()],
            heading=_("Eligibility"),
            section="eligibility",
        ),
        SectionPanel(
            TRIGGER_PANELS[scenario](),
            heading=_("Trigger: %(scenario)s") % {"scenario": Scenario(scenario).label},
            section="trigger",
        ),
        SectionPanel(
            [
                FieldPanel("sending_days"),
                FieldRowPanel([FieldPanel("sending_start"), FieldPanel("sending_end")]),
                HelpPanel(
                    content=_(
                        "Emails due outside the sending period wait until it next opens. "
                        "Leave both hours empty to send at any time of day."
                    )
                ),
            ],
            heading=_("Sending period"),
            section="sending",
        ),
        SectionPanel(
            [
                InlinePanel(
                    "steps",
                    heading=_("Emails"),
                    label=_("Email"),
                    min_num=0,
                    panels=[
                        FieldRowPanel(
                            [
                                FieldPanel(
                                    "delay_amount",
                                    heading=_("Send after"),
                                    help_text=_("0 = Send immediately"),
                                ),
                                FieldPanel("delay_unit"),
                            ]
                        ),
                        FieldPanel("template"),
                    ],
                ),
                NewTemplatePanel(),
            ],
            heading=_("Emails"),
            section="emails",
        ),
    ]
    return ObjectList(panels, base_form_class=WorkflowForm).bind_to_model(EmailWorkflow)


_EDIT_HANDLERS = {}


def edit_handler_for(scenario):
    """The (cached) bound edit handler of a scenario."""
    if scenario not in _EDIT_HANDLERS:
        _EDIT_HANDLERS[scenario] = build_edit_handler(scenario)
    return _EDIT_HANDLERS[scenario]


def eligible_count_text(workflow):
    """ "1,234 contacts are eligible now" for the workflow's list and segment."""
    from ..engine.entry import eligible_contacts

    count = eligible_contacts(workflow).count()
    return ngettext(
        "%(count)s contact is eligible now.", "%(count)s contacts are eligible now.", count
    ) % {"count": f"{count:,}"}


def workflow_action_buttons(workflow, user, exclude=(), button_class=Button):
    """The "Manage" actions a user may take on a workflow in its current status."""
    url = actions.workflow_url
    policy = policies.policy_for(EmailWorkflow)
    can_change = policy.user_has_permission(user, "change")
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
    if workflow.status != Status.DRAFT:
        statistics_url = reverse("mailflow_workflow_statistics", args=[quote(workflow.pk)])
        add("statistics", _("Statistics"), statistics_url, "view", 13)
    for name, label, icon, priority in (
        ("activate", _("Activate"), "play", 20),
        ("lock", _("Lock"), "lock", 21),
        ("stop", _("Stop"), "pause", 22),
        ("archive", _("Archive"), "folder", 40),
        ("unarchive", _("Restore"), "undo", 41),
    ):
        if name == "activate" and workflow.status == Status.DRAFT:
            continue  # a draft goes through the review page
        if actions.available(workflow, name) and actions.can(user, name):
            add(name, label, url(name, workflow), icon, priority)
    if actions.can(user, "duplicate"):
        add("duplicate", _("Duplicate"), url("duplicate", workflow), "copy", 30)
    if actions.available(workflow, "delete") and actions.can(user, "delete"):
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
        return actions.can(self.request.user, "archive")

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
        name = "edit" if instance.status == Status.DRAFT else "inspect"
        return reverse(f"mailflow_workflows:{name}", args=[quote(instance.pk)])

    def get_list_more_buttons(self, instance):
        return workflow_action_buttons(instance, self.request.user)

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        base = reverse("mailflow_workflows:index")
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


class WorkflowCreateView(CreateView):
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
        base = reverse("mailflow_workflows:add")
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

    def get_success_url(self):
        return actions.workflow_url("edit", self.object)

    def get_success_message(self, instance):
        return _(
            "Workflow '%(title)s' created. Now add its emails, then review and activate it."
        ) % {"title": instance}


class WorkflowEditView(EditView):
    """Only drafts open for editing; other statuses go to the read-only view."""

    def get_panel(self):
        return edit_handler_for(self.get_object().scenario)

    def get_form_class(self):
        return self.panel.get_form_class()

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
                url=actions.workflow_url("review", self.object),
                icon_name="check",
                attrs={"data-mailflow-action": "review"},
            )
        ]


class WorkflowDeleteView(DeleteView):
    """Only archived workflows can be deleted, by users who may also activate workflows."""

    def dispatch(self, request, *args, **kwargs):
        if not actions.can(request.user, "delete"):
            return actions.forbidden(request)
        if self.object.status != Status.ARCHIVED:
            messages.error(
                request, _("Only an archived workflow can be deleted; archive it first.")
            )
            return redirect(self.index_url_name)
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self):
        return reverse("mailflow_workflows:index") + "?status=archived"


class WorkflowInspectView(InspectView):
    """The read-only page: status, the workflow in plain words, its emails, a Duplicate banner."""

    template_name = "wagtail_mailflow/admin/workflows/inspect.html"
    page_title = _("Workflow")

    def get_edit_url(self):
        if self.object.status == Status.DRAFT:
            return super().get_edit_url()
        return None

    def get_delete_url(self):
        return None

    @cached_property
    def header_more_buttons(self):
        return workflow_action_buttons(self.object, self.request.user, exclude=("inspect",))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workflow = self.object
        lines = describe_workflow(workflow)
        context.update(
            {
                "description_lines": lines[:-1],
                "sending_note": lines[-1],
                "steps": workflow.steps.select_related("template", "template_revision").order_by(
                    "sort_order", "pk"
                ),
                "read_only": workflow.status != Status.DRAFT,
                "can_duplicate": actions.can(self.request.user, "duplicate"),
                "duplicate_url": actions.workflow_url("duplicate", workflow),
                "review_url": actions.workflow_url("review", workflow),
                "can_change": self.user_has_permission("change"),
            }
        )
        return context


def review_problems(workflow):
    """activation_errors() with, where possible, the link that fixes each problem."""
    from ..rendering import template_problems

    edit = actions.workflow_url("edit", workflow)
    items = []
    if workflow.contact_list_id is None:
        items.append(
            (
                _("Choose the contact list the workflow draws its contacts from."),
                f"{edit}#{SECTION_IDS['eligibility']}",
            )
        )
    for field, message in workflow.settings_errors().items():
        section = "sending" if field.startswith("sending") else "trigger"
        for text in message if isinstance(message, list) else [message]:
            items.append((text, f"{edit}#{SECTION_IDS[section]}"))
    steps = list(workflow.steps.select_related("template").order_by("sort_order", "pk"))
    if not steps:
        items.append((_("Add at least one email."), f"{edit}#{SECTION_IDS['emails']}"))
    from ..viewsets import email_template_viewset

    for position, step in enumerate(steps, start=1):
        template_url = reverse(
            email_template_viewset.get_url_name("edit"), args=[quote(step.template_id)]
        )
        for message in template_problems(step.template):
            items.append(
                (
                    _("Email %(position)s ('%(name)s'): %(message)s")
                    % {"position": position, "name": step.template.name, "message": message},
                    template_url,
                )
            )
    covered = {str(text) for text, _url in items}
    problems = [{"message": str(text), "url": url} for text, url in items]
    for text in workflow.activation_errors():
        if str(text) not in covered:
            problems.append({"message": str(text), "url": f"{edit}"})
    return problems


class ReviewView(WagtailAdminTemplateMixin, TemplateView):
    """Review a draft in plain words, see what blocks activation, and "Save and activate"."""

    template_name = "wagtail_mailflow/admin/workflows/review.html"
    page_title = _("Review and activate")
    header_icon = "check"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(EmailWorkflow, pk=kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        policy = policies.policy_for(EmailWorkflow)
        if not policy.user_has_any_permission(request.user, ["change", "activate"]):
            return actions.forbidden(request)
        if self.object.status != Status.DRAFT:
            return redirect(actions.workflow_url("inspect", self.object))
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.object)

    def get_breadcrumbs_items(self):
        return [
            {"url": reverse("mailflow_workflows:index"), "label": _("Email workflows")},
            {"url": actions.workflow_url("edit", self.object), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workflow = self.object
        lines = describe_workflow(workflow)
        edit = actions.workflow_url("edit", workflow)
        context.update(
            {
                "object": workflow,
                "description_lines": lines[:-1],
                "sending_note": lines[-1],
                "problems": review_problems(workflow),
                "can_activate": actions.can(self.request.user, "activate"),
                "activate_url": actions.workflow_url("activate", workflow),
                "edit_url": edit,
                "section_urls": {key: f"{edit}#{anchor}" for key, anchor in SECTION_IDS.items()},
                "eligible_text": eligible_count_text(workflow) if workflow.contact_list_id else "",
            }
        )
        return context


def eligible_count(request):
    """JSON: how many contacts a list (and optional segment) make eligible now."""
    policy = policies.policy_for(EmailWorkflow)
    if not policy.user_has_any_permission(request.user, ["add", "change"]):
        return actions.forbidden(request)
    list_id = request.GET.get("contact_list", "")
    segment_id = request.GET.get("segment", "")
    if not list_id:
        return JsonResponse({"count": None, "text": str(_("Choose a contact list."))})
    if not list_id.isdigit() or (segment_id and not segment_id.isdigit()):
        return JsonResponse({"error": str(_("Unknown contact list or segment."))}, status=400)
    contact_list = ContactList.objects.filter(pk=list_id).first()
    segment = Segment.objects.filter(pk=segment_id).first() if segment_id else None
    if contact_list is None or (segment_id and segment is None):
        return JsonResponse({"error": str(_("Unknown contact list or segment."))}, status=400)
    workflow = EmailWorkflow(contact_list=contact_list, segment=segment)
    from ..engine.entry import eligible_contacts

    return JsonResponse(
        {"count": eligible_contacts(workflow).count(), "text": str(eligible_count_text(workflow))}
    )


TEMPLATE_RETURN_KEY = "wagtail_mailflow_template_return"


def new_template(request, pk):
    """Open the template create view; once the template is created, come back to this workflow."""
    workflow = get_object_or_404(EmailWorkflow, pk=pk)
    workflow_policy = policies.policy_for(EmailWorkflow)
    template_policy = policies.policy_for(EmailTemplate)
    if not (
        workflow_policy.user_has_permission(request.user, "change")
        and template_policy.user_has_permission(request.user, "add")
    ):
        return actions.forbidden(request)
    if not workflow.is_editable:
        messages.error(request, _("The emails of this workflow can no longer be changed."))
        return redirect(actions.workflow_url("inspect", workflow))
    request.session[TEMPLATE_RETURN_KEY] = {"workflow": workflow.pk}
    from ..viewsets import email_template_viewset

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
    """``after_edit_snippet`` hook: the editor saved the template autosave created; go back."""
    if not isinstance(instance, EmailTemplate) or _is_autosave(request):
        return None
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
    return redirect(actions.workflow_url("edit", workflow) + f"#{SECTION_IDS['emails']}")


class WorkflowViewSet(ModelViewSet):
    model = EmailWorkflow
    icon = "mail"
    menu_label = _("Workflows")
    url_prefix = "mailflow/workflows"
    add_to_admin_menu = False
    inspect_view_enabled = True
    copy_view_enabled = False  # "Duplicate" replaces it
    list_filter = ["status", "scenario"]
    search_fields = ["title"]
    index_view_class = WorkflowIndexView
    add_view_class = WorkflowCreateView
    edit_view_class = WorkflowEditView
    delete_view_class = WorkflowDeleteView
    inspect_view_class = WorkflowInspectView
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
        "duplicated_from",
    ]

    def get_edit_handler(self):
        return edit_handler_for(Scenario.WELCOME)

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("review/<int:pk>/", ReviewView.as_view(), name="review"),
            path("activate/<int:pk>/", actions.ActivateView.as_view(), name="activate"),
            path("lock/<int:pk>/", actions.LockView.as_view(), name="lock"),
            path("stop/<int:pk>/", actions.StopView.as_view(), name="stop"),
            path("archive/<int:pk>/", actions.ArchiveView.as_view(), name="archive"),
            path("restore/<int:pk>/", actions.UnarchiveView.as_view(), name="unarchive"),
            path("duplicate/<int:pk>/", actions.DuplicateView.as_view(), name="duplicate"),
            path("new-template/<int:pk>/", new_template, name="new_template"),
            path("eligible-count/", eligible_count, name="eligible_count"),
        ]


workflow_viewset = WorkflowViewSet("mailflow_workflows")
