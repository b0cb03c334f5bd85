"""Send one of a workflow's emails to yourself, with sample contact data.

Nothing is written to the deliveries or enrollments: a test email goes straight
through Django's email API.
"""

import dataclasses
import logging

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ... import conf, rendering
from ...models import EmailWorkflow
from ...sending.messages import DELIVERY_METADATA_KEY, build_message
from .links import workflow_url
from .tools import WorkflowToolView, compiled_email, ordered_steps

logger = logging.getLogger(__name__)


class TestSendForm(forms.Form):
    step = forms.TypedChoiceField(label=gettext_lazy("Email"), coerce=int)

    def __init__(self, *args, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["step"].choices = [
            (step.pk, f"{position}. {step.template} ({step.describe_delay()})")
            for position, step in enumerate(steps, start=1)
        ]
        self.fields["step"].error_messages["invalid_choice"] = _(
            "Choose one of this workflow's emails."
        )


def send_test(step, workflow, to):
    """Send ``step``'s email to ``to`` with sample contact data, subject prefixed "[Test]"."""
    compiled, _version = compiled_email(step, workflow)
    base = conf.base_url()
    rendered = compiled.render(rendering.sample_values(), f"{base}/#unsubscribe-test")
    rendered = dataclasses.replace(
        rendered, subject=_("[Test] %(subject)s") % {"subject": rendered.subject}
    )
    message = build_message(
        rendered,
        to=to,
        delivery_id="",
        workflow_id=workflow.pk,
        unsubscribe_url=f"{base}/#unsubscribe-test",
    )
    # Not a delivery: nothing for tracking to tie events to, and no working unsubscribe link.
    message.metadata.pop(DELIVERY_METADATA_KEY, None)
    message.metadata["mailflow_test"] = "1"
    message.extra_headers.pop("List-Unsubscribe", None)
    message.extra_headers.pop("List-Unsubscribe-Post", None)
    message.send(fail_silently=False)
    return message


class TestSendView(WorkflowToolView):
    """Send one email of the workflow to the editor's own address, with sample data."""

    tool = "test_send"
    permission_action = "change"
    template_name = "wagtail_mailflow/admin/workflows/test_send.html"
    page_title = gettext_lazy("Send a test")
    http_method_names = ["get", "post"]

    def get_form(self):
        steps = ordered_steps(self.workflow)
        self.steps = {step.pk: step for step in steps}
        data = self.request.POST if self.request.method == "POST" else None
        return TestSendForm(data, steps=steps)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.get_form())
        context["recipient"] = (self.request.user.email or "").strip()
        context["uses_frozen"] = self.workflow.status != EmailWorkflow.Status.DRAFT
        return context

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        recipient = (request.user.email or "").strip()
        if not recipient:
            messages.error(
                request,
                _(
                    "Your account has no email address, so there is nowhere to send the test. "
                    "Add one in your account settings first."
                ),
            )
            return self.render_to_response(self.get_context_data(form=form), status=400)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        step = self.steps[form.cleaned_data["step"]]
        try:
            send_test(step, self.workflow, recipient)
        except (rendering.TemplateError, ValueError) as exc:
            messages.error(request, _("The email cannot be rendered: %(error)s") % {"error": exc})
            return self.render_to_response(self.get_context_data(form=form), status=400)
        except Exception as exc:  # any backend or ESP failure is the editor's to see
            logger.warning("Test email of workflow %s failed: %s", self.workflow.pk, exc)
            messages.error(
                request,
                _("The test email could not be sent: %(error)s") % {"error": exc},
            )
            return self.render_to_response(self.get_context_data(form=form), status=502)
        messages.success(
            request,
            _("Test of “%(email)s” sent to %(address)s.")
            % {"email": step.template, "address": recipient},
        )
        return redirect(workflow_url("test_send", self.workflow))
