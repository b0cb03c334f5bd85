""" "Create a new email template" from a workflow's editor, and back with the email added.

``new_template`` first asks when the new email is sent, then remembers the
workflow and that delay in the session and opens the template editor; the
``after_create_snippet`` / ``after_edit_snippet`` hooks (registered in
``wagtail_hooks``) add the template as the workflow's next email, sent after that
delay, and go back.
"""

from django import forms
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...models import EmailTemplate, EmailWorkflow, WorkflowStep
from ..forms import DELAY_REQUIRED, DELAY_UNIT_CHOICES, DELAY_UNIT_REQUIRED
from ..templates import REVIEW_RETURN_KEY, email_template_viewset
from .editor import SECTION_IDS
from .links import index_breadcrumb, workflow_url
from .permissions import forbidden, may_create_templates

TEMPLATE_RETURN_KEY = "wagtail_mailflow_template_return"

IMMEDIATELY = "immediately"
LATER = "later"
DelayUnit = WorkflowStep.DelayUnit


class DelayForm(forms.Form):
    """When the new email is sent: immediately, or after a delay the editor gives (a delay
    given without choosing "After a delay" is taken as one)."""

    when = forms.ChoiceField(
        label=_("When is this email sent?"),
        choices=[(IMMEDIATELY, _("Immediately")), (LATER, _("After a delay"))],
        widget=forms.RadioSelect,
        required=False,
    )
    delay_amount = forms.IntegerField(
        label=_("Send after"), required=False, min_value=1, max_value=100_000
    )
    delay_unit = forms.ChoiceField(label=_("Unit"), required=False, choices=DELAY_UNIT_CHOICES)

    def clean(self):
        cleaned = super().clean()
        amount, unit = cleaned.get("delay_amount"), cleaned.get("delay_unit")
        if not cleaned.get("when"):
            if amount is None and not unit and "delay_amount" not in self.errors:
                self.add_error("when", DELAY_REQUIRED)
                return cleaned
            cleaned["when"] = LATER
        if cleaned["when"] == LATER:
            if amount is None and "delay_amount" not in self.errors:
                self.add_error(
                    "delay_amount", _("Enter after how many minutes, hours, days or months.")
                )
            if not unit:
                self.add_error("delay_unit", DELAY_UNIT_REQUIRED)
        return cleaned

    def delay(self):
        """``(amount, unit)`` as the email stores it."""
        if self.cleaned_data["when"] == IMMEDIATELY:
            return 0, DelayUnit.DAYS.value
        return self.cleaned_data["delay_amount"], self.cleaned_data["delay_unit"]


class NewTemplateView(WagtailAdminTemplateMixin, TemplateView):
    """Ask when the new email is sent, then open the template create view; once the template
    is created, come back to this workflow with the email added."""

    template_name = "wagtail_mailflow/admin/workflows/new_template_delay.html"
    page_title = _("When is this email sent?")
    header_icon = "time"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(EmailWorkflow, pk=kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        if not may_create_templates(request.user):
            return forbidden(request)
        if not self.object.is_editable:
            messages.error(request, _("The emails of this workflow can no longer be changed."))
            return redirect(workflow_url("inspect", self.object))
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [
            index_breadcrumb(),
            {"url": workflow_url("edit", self.object), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def counted_from(self):
        """What the delay counts from: the contact's entry, or the previous email."""
        last = self.object.steps.select_related("template").order_by("-sort_order", "-pk").first()
        if last is None:
            return _(
                "This is the first email of '%(workflow)s': its delay counts from the moment "
                "a contact enters the workflow."
            ) % {"workflow": self.object}
        return _(
            "Its delay counts from when the previous email, '%(template)s', is sent (or skipped)."
        ) % {"template": last.template}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", DelayForm())
        context.update(
            {
                "object": self.object,
                "counted_from": self.counted_from(),
                "submit_url": self.request.path,
                "back_url": workflow_url("edit", self.object) + f"#{SECTION_IDS['emails']}",
            }
        )
        return context

    def post(self, request, *args, **kwargs):
        form = DelayForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        amount, unit = form.delay()
        request.session[TEMPLATE_RETURN_KEY] = {
            "workflow": self.object.pk,
            "delay_amount": amount,
            "delay_unit": unit,
        }
        return redirect(reverse(email_template_viewset.get_url_name("add")))


new_template = NewTemplateView.as_view()


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
    amount, unit = pending.get("delay_amount"), pending.get("delay_unit")
    if not (isinstance(amount, int) and amount >= 0 and unit in DelayUnit.values):
        amount, unit = 0, DelayUnit.DAYS  # the editor sees it and can change it
    step = WorkflowStep.objects.create(
        workflow=workflow,
        sort_order=(last.sort_order + 1) if last and last.sort_order is not None else 0,
        delay_amount=amount,
        delay_unit=unit,
        template=instance,
    )
    messages.success(
        request,
        _("'%(template)s' was added to '%(workflow)s' as an email sent %(delay)s.")
        % {"template": instance, "workflow": workflow, "delay": step.describe_delay()},
    )
    return redirect(workflow_url("edit", workflow) + f"#{SECTION_IDS['emails']}")
