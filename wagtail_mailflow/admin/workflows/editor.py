"""The workflow editor: scenario cards, the per-scenario sections and the eligible count."""

from django.contrib.admin.utils import quote
from django.http import JsonResponse
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
)

from ...engine.entry import eligible_contacts
from ...models import ContactList, EmailWorkflow, Segment, WorkflowSection
from ..conditions import ConditionBuilder
from ..forms import WorkflowForm, WorkflowStepForm
from .links import url_name
from .permissions import forbidden, may_create_templates, workflow_policy

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


#: HTML ids of the editor's sections (stable whatever the language), used by the
#: review page's "Fix it" links.
SECTION_IDS = {section: f"panel-mailflow_{section}-section" for section in WorkflowSection.values}


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


class EmailsPanel(InlinePanel):
    """The workflow's emails, without a heading of their own: the "Emails" section has it.

    Each is edited with :class:`WorkflowStepForm`: a new email's delay is asked for.
    """

    def get_form_options(self):
        options = super().get_form_options()
        options["formsets"][self.relation_name]["form"] = WorkflowStepForm
        return options

    class BoundPanel(InlinePanel.BoundPanel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.heading = ""


class EligibleCountPanel(Panel):
    """Shows how many contacts the list and segment match now, updated as they change."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_mailflow/admin/workflows/eligible_count_panel.html"

        class Media:
            js = ["wagtail_mailflow/js/workflow-form.js"]

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["count_url"] = reverse(url_name("eligible_count"))
            context["count_text"] = (
                eligible_count_text(self.instance) if self.instance.contact_list_id else ""
            )
            return context


#: The name of the new workflow form's "Create a new email template" button: the workflow is
#: saved as a draft, then the template editor opens.
NEW_TEMPLATE_ACTION = "mailflow-new-template"


class NewTemplatePanel(Panel):
    """ "Create a new email template": returns to the workflow with the email added.

    A link on an existing workflow; on a new one, a button that saves the workflow
    as a draft first.
    """

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_mailflow/admin/workflows/new_template_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["may_create"] = may_create_templates(self.request.user)
            context["action_name"] = NEW_TEMPLATE_ACTION
            if self.instance.pk:
                context["new_template_url"] = reverse(
                    url_name("new_template"), args=[quote(self.instance.pk)]
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
            widget=ConditionBuilder(url_name("condition_count"), list_field="contact_list"),
            help_text=_("Contacts of the list enter when these conditions become true for them."),
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
            # Lazy: the handler is built once and shown in each editor's language.
            heading=format_lazy(_("Trigger: {scenario}"), scenario=Scenario(scenario).label),
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
                EmailsPanel(
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
    count = eligible_contacts(workflow).count()
    return ngettext(
        "%(count)s contact is eligible now.", "%(count)s contacts are eligible now.", count
    ) % {"count": f"{count:,}"}


def eligible_count(request):
    """JSON: how many contacts a list (and optional segment) make eligible now."""
    if not workflow_policy().user_has_any_permission(request.user, ["add", "change"]):
        return forbidden(request)
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
    return JsonResponse(
        {"count": eligible_contacts(workflow).count(), "text": str(eligible_count_text(workflow))}
    )
