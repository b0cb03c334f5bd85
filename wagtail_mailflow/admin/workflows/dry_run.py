"""A dry run of a workflow: when each email would go out and what it would say, for a
contact or the members of a test list. It only reads (eligibility, timing, rendering)."""

import dataclasses
import datetime
import zoneinfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ... import rendering
from ...engine.entry import eligible_contacts
from ...engine.timing import SendingPeriod, add_delay, due_time
from ...models import Contact, ContactList, EmailWorkflow, Enrollment, ListMembership
from .. import display
from ..policies import policy_for
from .tools import WorkflowToolView, compiled_email, ordered_steps

#: How many members of a test list a dry run lists.
MAX_DRY_RUN_CONTACTS = 200
#: How many contacts an email search proposes.
MAX_MATCHES = 20


class DryRunForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("Contact"),
        required=False,
        max_length=254,
        help_text=gettext_lazy("Email address, or part of it."),
    )
    contact_list = forms.ModelChoiceField(
        label=gettext_lazy("Or the members of a test list"),
        queryset=ContactList.objects.order_by("name"),
        required=False,
    )
    entered_at = forms.DateTimeField(
        label=gettext_lazy("Entering at"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("In the workflow's timezone. Empty: now."),
    )

    def __init__(self, *args, contacts_allowed=True, **kwargs):
        super().__init__(*args, **kwargs)
        #: Searching and listing contacts takes the permission to view contacts.
        self.contacts_allowed = contacts_allowed
        if not contacts_allowed:
            del self.fields["email"], self.fields["contact_list"]

    def clean(self):
        data = super().clean()
        if not self.contacts_allowed:
            data.update(email="", contact_list=None, contacts=[], matches=[])
            return data
        email, contact_list = (data.get("email") or "").strip(), data.get("contact_list")
        data["email"] = email
        if "contact_list" in self.errors or "email" in self.errors:
            return data
        if email and contact_list:
            raise forms.ValidationError(_("Choose a contact or a test list, not both."))
        if not email and not contact_list:
            raise forms.ValidationError(_("Enter a contact's email address or choose a test list."))
        if email:
            exact = Contact.objects.filter(email__iexact=email).first()
            if exact is not None:
                data["contacts"], data["matches"] = [exact], []
            else:
                matches = list(Contact.objects.filter(email__icontains=email)[: MAX_MATCHES + 1])
                if not matches:
                    self.add_error(
                        "email", _("No contact's address contains “%(q)s”.") % {"q": email}
                    )
                elif len(matches) == 1:
                    data["contacts"], data["matches"] = matches, []
                else:
                    data["contacts"], data["matches"] = [], matches[:MAX_MATCHES]
        else:
            members = Contact.objects.filter(
                memberships__contact_list=contact_list, memberships__left_at__isnull=True
            ).order_by("email")
            data["contacts"] = list(members[: MAX_DRY_RUN_CONTACTS + 1])
            data["matches"] = []
            if not data["contacts"]:
                self.add_error("contact_list", _("This list has no members."))
        return data


@dataclasses.dataclass
class TimelineEntry:
    position: int
    step: object
    counted_from: datetime.datetime
    after_delay: datetime.datetime
    due: datetime.datetime
    tz: object

    @property
    def waits_for_period(self):
        """True when the sending period pushed the email later than its delay alone."""
        return self.due != self.after_delay

    @property
    def due_local(self):
        return self.due.astimezone(self.tz)

    @property
    def due_utc(self):
        return self.due.astimezone(datetime.UTC)

    @property
    def after_delay_local(self):
        return self.after_delay.astimezone(self.tz)


def timeline(workflow, steps, entered_at):
    """When each email would go out for a contact entering at ``entered_at`` (engine timing)."""
    tz = zoneinfo.ZoneInfo(workflow.timezone)
    period = SendingPeriod.for_workflow(workflow)
    entries, previous = [], entered_at
    for position, step in enumerate(steps, start=1):
        after_delay = add_delay(previous, step.delay_amount, step.delay_unit, tz)
        due = due_time(previous, step, workflow, period)
        entries.append(TimelineEntry(position, step, previous, after_delay, due, tz))
        # Each later email counts from when the previous one was sent.
        previous = due
    return entries


def ineligibility_reasons(workflow, contact, membership):
    """Why ``contact`` may not enter ``workflow`` now, in words (the engine decides; this explains)."""
    reasons = []
    contact_list = workflow.contact_list
    if contact_list is None:
        reasons.append(_("The workflow has no contact list."))
    elif membership is None:
        reasons.append(_("Not subscribed to the list “%(list)s”.") % {"list": contact_list})
    elif membership.left_at is not None:
        reasons.append(
            _("Left the list “%(list)s” on %(date)s.")
            % {"list": contact_list, "date": _date(membership.left_at)}
        )
    elif contact_list.double_opt_in and membership.confirmed_at is None:
        reasons.append(
            _("Has not confirmed the subscription to “%(list)s” (double opt-in).")
            % {"list": contact_list}
        )
    if contact.unsubscribed_at is not None:
        reasons.append(_("Unsubscribed on %(date)s.") % {"date": _date(contact.unsubscribed_at)})
    if contact.suppressed_at is not None:
        reasons.append(
            _("Address suppressed on %(date)s (%(reason)s).")
            % {
                "date": _date(contact.suppressed_at),
                "reason": contact.get_suppression_reason_display() or _("no reason recorded"),
            }
        )
    if workflow.segment_id and not workflow.segment.matches(contact):
        reasons.append(
            _("Does not match the segment “%(segment)s”.") % {"segment": workflow.segment}
        )
    return reasons


def _date(value):
    return display.moment(value)


@dataclasses.dataclass
class DryRunContact:
    contact: object
    eligible: bool
    reasons: list
    enrollment: object = None
    emails: list = dataclasses.field(default_factory=list)


class DryRunView(WorkflowToolView):
    """The timeline and content of a workflow for a contact or a test list; nothing is written."""

    tool = "dry_run"
    template_name = "wagtail_mailflow/admin/workflows/dry_run.html"
    page_title = gettext_lazy("Dry run")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workflow = self.workflow
        tz = zoneinfo.ZoneInfo(workflow.timezone)
        params = self.request.GET
        # Times typed in the form are the workflow's wall-clock times.
        contacts_allowed = policy_for(Contact).user_has_permission(self.request.user, "view")
        with timezone.override(tz):
            form = DryRunForm(params if params else None, contacts_allowed=contacts_allowed)
            valid = form.is_valid()
        context.update(
            form=form,
            tz=tz,
            is_active=workflow.status == EmailWorkflow.Status.ACTIVE,
            contacts_allowed=contacts_allowed,
        )
        if not valid:
            return context
        data = form.cleaned_data
        steps = ordered_steps(workflow)
        entered_at = data.get("entered_at") or timezone.now()
        context.update(
            entered_at=entered_at,
            entered_local=entered_at.astimezone(tz),
            entered_utc=entered_at.astimezone(datetime.UTC),
            timeline=timeline(workflow, steps, entered_at),
            matches=data["matches"],
            too_many=len(data["contacts"]) > MAX_DRY_RUN_CONTACTS,
            list_mode=data.get("contact_list") is not None,
        )
        contacts = data["contacts"][:MAX_DRY_RUN_CONTACTS]
        context["results"] = self.contact_results(steps, contacts, preview=len(contacts) == 1)
        return context

    def contact_results(self, steps, contacts, preview):
        workflow = self.workflow
        if not contacts:
            return []
        ids = [c.pk for c in contacts]
        eligible = set(eligible_contacts(workflow).filter(pk__in=ids).values_list("pk", flat=True))
        memberships = {
            m.contact_id: m
            for m in ListMembership.objects.filter(
                contact_id__in=ids, contact_list_id=workflow.contact_list_id
            )
        }
        enrollments = {
            e.contact_id: e
            for e in Enrollment.objects.filter(
                workflow=workflow, contact_id__in=ids, status=Enrollment.Status.ACTIVE
            )
        }
        results = []
        compiled = {}
        for contact in contacts:
            enrollment = enrollments.get(contact.pk)
            # A contact is never in a workflow twice at once (the engine's entry rule).
            is_eligible = contact.pk in eligible and enrollment is None
            reasons = (
                []
                if is_eligible
                else ineligibility_reasons(workflow, contact, memberships.get(contact.pk))
            )
            if enrollment is not None:
                reasons.append(
                    _("Already in this workflow since %(date)s.")
                    % {"date": _date(enrollment.entered_at)}
                )
            if not is_eligible and not reasons:
                reasons = [_("Not eligible.")]
            result = DryRunContact(contact, is_eligible, reasons, enrollments.get(contact.pk))
            if preview:
                values = rendering.contact_values(contact)
                # A link to nowhere: a live token would unsubscribe the contact when clicked here.
                url = rendering.PREVIEW_UNSUBSCRIBE_URL
                for step in steps:
                    try:
                        if step.pk not in compiled:
                            compiled[step.pk] = compiled_email(step, workflow)
                        email, version = compiled[step.pk]
                        result.emails.append(
                            {"step": step, "email": email.render(values, url), "version": version}
                        )
                    except (rendering.TemplateError, ValueError) as exc:
                        result.emails.append({"step": step, "error": str(exc)})
            results.append(result)
        return results
