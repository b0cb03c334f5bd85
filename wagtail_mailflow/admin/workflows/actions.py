"""Lifecycle actions on workflows in the admin: activate, lock, stop, archive, restore,
duplicate, bulk archive, and their history log entries.

Every action is a POST (with CSRF) to its own URL; a GET shows the Wagtail
confirmation page for it. Which action applies to which status is the model's
``TRANSITIONS`` table; the model methods are the referee: a status that changed
in the meantime comes back as a ``LifecycleError`` shown as a message.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property, classproperty
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.bulk_action import BulkAction
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.log_actions import log

from ...models import (
    TRANSITIONS,
    ActivationBlocked,
    EmailWorkflow,
    LifecycleError,
    WorkflowAction,
)
from ..bulk import ConfirmationMixin
from ..titles import TranslatedTitleMixin
from .links import index_breadcrumb, index_url, workflow_url
from .permissions import DUPLICATE, available, can, forbidden, workflow_policy

Status = EmailWorkflow.Status
Action = WorkflowAction

#: Log action types written to Wagtail's history: (type, label, past-tense message).
LOG_ACTIONS = [
    ("wagtail_mailflow.activate", _("Activate workflow"), _("Workflow activated")),
    ("wagtail_mailflow.lock", _("Lock workflow"), _("Workflow locked")),
    ("wagtail_mailflow.stop", _("Stop workflow"), _("Workflow stopped")),
    ("wagtail_mailflow.archive", _("Archive workflow"), _("Workflow archived")),
    ("wagtail_mailflow.unarchive", _("Restore workflow"), _("Workflow restored as stopped")),
    ("wagtail_mailflow.duplicate", _("Duplicate workflow"), _("Workflow duplicated")),
]


def register_workflow_log_actions(actions):
    """``register_log_actions`` hook: the workflow lifecycle actions and their labels."""
    for action, label, message in LOG_ACTIONS:
        actions.register_action(action, label, message)


def lifecycle_message(exc):
    """The readable text of a LifecycleError / ValidationError."""
    return " ".join(str(m) for m in exc.messages)


def stops_first(workflow):
    """Whether archiving ``workflow`` stops it first (it is active or locked)."""
    return workflow.status in TRANSITIONS[Action.STOP].sources


class WorkflowObjectMixin(TranslatedTitleMixin):
    """Loads the workflow and refuses users without the action's permission (403)."""

    action = None
    model = EmailWorkflow

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(EmailWorkflow, pk=kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        if not can(request.user, self.action):
            return forbidden(request)
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.object)

    def get_breadcrumbs_items(self):
        return [
            index_breadcrumb(),
            {"url": workflow_url("inspect", self.object), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def back_url(self):
        return workflow_url("inspect", self.object)


class ConfirmActionView(WorkflowObjectMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: a confirmation page; POST: run the transition, log it, go back to the workflow."""

    template_name = "wagtail_mailflow/admin/workflows/confirm_action.html"
    header_icon = "mail"
    confirmation = ""
    button_label = ""
    button_class = "button"
    success_message = ""

    def get_page_title(self):
        return self.page_title

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            {
                "object": self.object,
                "action": self.action,
                "confirmation": self.get_confirmation(),
                "button_label": self.button_label,
                "button_class": self.button_class,
                "submit_url": self.request.path,
                "back_url": self.back_url(),
                "allowed": available(self.object, self.action),
            }
        )
        return context

    def get_confirmation(self):
        return self.confirmation

    def get(self, request, *args, **kwargs):
        if not available(self.object, self.action):
            messages.error(request, self.not_available_message())
            return redirect(self.back_url())
        return super().get(request, *args, **kwargs)

    def not_available_message(self):
        return _("A %(status)s workflow cannot be %(action)s.") % {
            "status": self.object.get_status_display().lower(),
            "action": self.past_participle,
        }

    def post(self, request, *args, **kwargs):
        try:
            self.perform()
        except ActivationBlocked:
            raise
        except (LifecycleError, ValidationError) as exc:
            messages.error(request, lifecycle_message(exc))
            return redirect(self.back_url())
        messages.success(request, self.success_message % {"title": self.object})
        return redirect(self.get_success_url())

    def get_success_url(self):
        return self.back_url()

    def perform(self):
        raise NotImplementedError


class ActivateView(ConfirmActionView):
    """Activate a draft (checked, templates frozen), unlock a locked one, resume a stopped one."""

    action = Action.ACTIVATE
    page_title = _("Activate")
    past_participle = _("activated")
    button_label = _("Yes, activate")
    success_message = _("Workflow '%(title)s' is active.")

    def get(self, request, *args, **kwargs):
        if self.object.status == Status.DRAFT:
            return redirect(workflow_url("review", self.object))
        return super().get(request, *args, **kwargs)

    def get_confirmation(self):
        if self.object.status == Status.LOCKED:
            return _("New contacts will enter this workflow again.")
        return _(
            "New contacts will enter this workflow again and due emails will be sent. "
            "Emails that fell due while it was stopped were skipped."
        )

    def perform(self):
        was_draft = self.object.status == Status.DRAFT
        self.object.activate()
        log(
            self.object,
            "wagtail_mailflow.activate",
            user=self.request.user,
            data={"from_draft": was_draft},
        )

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ActivationBlocked:
            # The review page lists the problems, each with the link that fixes it.
            messages.error(
                request,
                _("The workflow cannot be activated yet; fix the problems listed below."),
            )
            return redirect(workflow_url("review", self.object))


class LockView(ConfirmActionView):
    action = Action.LOCK
    page_title = _("Lock")
    past_participle = _("locked")
    button_label = _("Yes, lock")
    confirmation = _(
        "No new contact will enter this workflow; contacts already inside finish it as planned."
    )
    success_message = _("Workflow '%(title)s' is locked.")

    def perform(self):
        self.object.lock()
        log(self.object, "wagtail_mailflow.lock", user=self.request.user)


class StopView(ConfirmActionView):
    action = Action.STOP
    page_title = _("Stop")
    past_participle = _("stopped")
    button_label = _("Yes, stop")
    button_class = "button serious"
    confirmation = _(
        "No new contact will enter this workflow and no email will be sent. Emails falling due "
        "while it is stopped are skipped: contacts move on to the next email, and can finish "
        "the workflow without receiving anything. To let contacts finish, lock it instead."
    )
    success_message = _("Workflow '%(title)s' is stopped.")

    def perform(self):
        self.object.stop()
        log(self.object, "wagtail_mailflow.stop", user=self.request.user)


def archive_workflow(workflow, user):
    """Archive, stopping first when active or locked; logs both steps."""
    stopping = stops_first(workflow)
    workflow.archive(stop_first=True)
    if stopping:
        log(workflow, "wagtail_mailflow.stop", user=user, data={"before_archive": True})
    log(workflow, "wagtail_mailflow.archive", user=user, data={"stopped_first": stopping})
    return stopping


class ArchiveView(ConfirmActionView):
    action = Action.ARCHIVE
    page_title = _("Archive")
    past_participle = _("archived")
    button_label = _("Yes, archive")
    button_class = "button serious"
    success_message = _("Workflow '%(title)s' is archived.")

    def get_confirmation(self):
        if stops_first(self.object):
            return _(
                "This workflow is %(status)s: it will be stopped, then archived. No email "
                "will be sent from it any more."
            ) % {"status": self.object.get_status_display().lower()}
        return _("The workflow moves to the Archived tab. Only archived workflows can be deleted.")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["stops_first"] = stops_first(self.object)
        return context

    def perform(self):
        archive_workflow(self.object, self.request.user)

    def get_success_url(self):
        return index_url() + "?status=archived"


class UnarchiveView(ConfirmActionView):
    action = Action.UNARCHIVE
    page_title = _("Restore")
    past_participle = _("restored")
    button_label = _("Yes, restore")
    confirmation = _("The workflow comes back as stopped; activate it to send again.")
    success_message = _("Workflow '%(title)s' is restored as stopped.")

    def perform(self):
        self.object.unarchive()
        log(self.object, "wagtail_mailflow.unarchive", user=self.request.user)


class DuplicateForm(forms.Form):
    title = forms.CharField(
        label=_("Name of the new workflow"),
        max_length=255,
        error_messages={"required": _("Give the copy a title.")},
    )
    copy_templates = forms.BooleanField(
        label=_("Also duplicate the email templates"),
        required=False,
        help_text=_(
            "Copy each email's template too, so you can change the emails without touching "
            "the templates this workflow sends."
        ),
    )

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError(_("Give the copy a title."))
        return title


class DuplicateView(WorkflowObjectMixin, WagtailAdminTemplateMixin, TemplateView):
    """Asks the new name (and whether to copy the templates), then opens the draft copy."""

    action = DUPLICATE
    page_title = _("Duplicate")
    header_icon = "copy"
    template_name = "wagtail_mailflow/admin/workflows/duplicate.html"

    def get_form(self):
        if self.request.method == "POST":
            return DuplicateForm(self.request.POST)
        return DuplicateForm(
            initial={"title": _("%(title)s (copy)") % {"title": self.object.title}}
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.get_form())
        context.update(
            {"object": self.object, "submit_url": self.request.path, "back_url": self.back_url()}
        )
        return context

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            copy = self.object.duplicate(
                form.cleaned_data["title"], copy_templates=form.cleaned_data["copy_templates"]
            )
        except ValidationError as exc:
            for field, errors in getattr(exc, "message_dict", {"title": exc.messages}).items():
                form.add_error(field if field in form.fields else None, errors)
            return self.render_to_response(self.get_context_data(form=form))
        log(
            self.object,
            "wagtail_mailflow.duplicate",
            user=request.user,
            data={"copy_id": copy.pk, "copy_title": copy.title},
        )
        log(copy, "wagtail.create", user=request.user)
        messages.success(
            request,
            _("'%(copy)s' is a draft copy of '%(title)s'. Edit it, then review and activate it.")
            % {"copy": copy, "title": self.object},
        )
        return redirect(workflow_url("edit", copy))


class WorkflowBulkAction(ConfirmationMixin, BulkAction):
    """A lifecycle action on the selected workflows: the permission and the statuses it applies
    to come from the lifecycle table, through ``lifecycle_action``; ``apply`` takes it on one
    workflow."""

    lifecycle_action: Action

    @classproperty
    def models(cls):
        return [EmailWorkflow]

    def dispatch(self, request, *args, **kwargs):
        if not can(request.user, self.lifecycle_action):
            return forbidden(request)
        return super().dispatch(request, *args, **kwargs)

    @classmethod
    def get_queryset(cls, model, object_ids):
        if not all(str(pk).isdigit() for pk in object_ids):
            raise Http404
        return super().get_queryset(model, object_ids)

    def check_perm(self, obj):
        return available(obj, self.lifecycle_action)

    def get_execution_context(self):
        return {"user": self.request.user}

    @classmethod
    def apply(cls, workflow, user):
        raise NotImplementedError

    @classmethod
    def execute_action(cls, objects, user=None, **kwargs):
        done = 0
        for workflow in objects:
            try:
                cls.apply(workflow, user)
            except LifecycleError:
                continue  # its status changed meanwhile: left as it is
            done += 1
        return done, 0

    @cached_property
    def permission_policy(self):
        return workflow_policy()


class ArchiveBulkAction(WorkflowBulkAction):
    """Bulk "Archive" on the workflow listing; active and locked ones are stopped first."""

    lifecycle_action = Action.ARCHIVE
    display_name = _("Archive")
    action_type = "archive"
    aria_label = _("Archive selected workflows")
    template_name = "wagtail_mailflow/admin/workflows/confirm_bulk_archive.html"
    action_priority = 20
    confirm_label = _("Yes, archive")
    cancel_label = _("No, don't archive")
    confirm_class = "serious"

    def object_context(self, obj):
        return {
            "item": obj,
            "edit_url": workflow_url("inspect", obj),
            "stops_first": stops_first(obj),
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["any_stops_first"] = any(item["stops_first"] for item in context["items"])
        return context

    @classmethod
    def apply(cls, workflow, user):
        archive_workflow(workflow, user)

    def get_success_message(self, num_parent_objects, num_child_objects):
        return ngettext(
            "%(count)d workflow archived.", "%(count)d workflows archived.", num_parent_objects
        ) % {"count": num_parent_objects}


class DeleteBulkAction(WorkflowBulkAction):
    """Bulk "Delete" on the workflow listing: drafts and archived workflows, after confirming."""

    lifecycle_action = Action.DELETE
    display_name = _("Delete")
    action_type = "delete"
    aria_label = _("Delete selected workflows")
    template_name = "wagtail_mailflow/admin/workflows/confirm_bulk_delete.html"
    action_priority = 30
    classes = {"serious"}
    header_icon = "bin"
    confirm_label = _("Yes, delete")
    cancel_label = _("No, don't delete")
    confirm_class = "serious"

    def object_context(self, obj):
        return {"item": obj, "edit_url": workflow_url("inspect", obj)}

    @classmethod
    def apply(cls, workflow, user):
        with transaction.atomic():
            log(workflow, "wagtail.delete", user=user)
            workflow.delete()

    def get_success_message(self, num_parent_objects, num_child_objects):
        return ngettext(
            "%(count)d workflow deleted.", "%(count)d workflows deleted.", num_parent_objects
        ) % {"count": num_parent_objects}
