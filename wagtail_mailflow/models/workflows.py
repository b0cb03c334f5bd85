"""Workflows, their ordered email steps, and the lifecycle state machine.

The model is called ``EmailWorkflow``: Wagtail's moderation workflows own the
name ``Workflow``. Which action leads from which statuses to which status is
written once, in ``TRANSITIONS``; the model's transition methods and the admin
both read it. Each transition is a conditional ``UPDATE … WHERE status IN (…)``
so two editors (or an editor and a worker) can never both win a race.
"""

import dataclasses
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from .. import conf, rendering
from ..conditions import ConditionError, parse
from ..conditions import validate as validate_conditions
from .contacts import ContactList, ContactProperty, Segment
from .templates import EmailTemplate

ALL_WEEKDAYS = [0, 1, 2, 3, 4, 5, 6]  # Monday = 0, as in datetime.weekday()


def validate_timezone(value):
    """A timezone must be an IANA name known to this machine."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("'%(value)s' is not a known timezone (e.g. Europe/Paris)."),
            code="invalid",
            params={"value": value},
        ) from None


def validate_language(value):
    """A workflow's language must be one the site offers."""
    codes = {code for code, _name in conf.languages()}
    if value not in codes and value.split("-")[0] not in codes:
        raise ValidationError(
            _("'%(value)s' is not one of the site's languages."),
            code="invalid",
            params={"value": value},
        )


class LifecycleError(ValidationError):
    """A workflow transition or edit that its current status does not allow."""


class ActivationBlocked(LifecycleError):
    """A draft that cannot be activated yet; ``problems`` says what to fix, where."""

    def __init__(self, problems: list["ActivationProblem"]):
        super().__init__([problem.message for problem in problems], code="invalid")
        self.problems = problems


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    LOCKED = "locked", _("Locked")
    STOPPED = "stopped", _("Stopped")
    ARCHIVED = "archived", _("Archived")


class WorkflowAction(models.TextChoices):
    """The lifecycle actions an editor can take on a workflow."""

    ACTIVATE = "activate", _("Activate")
    LOCK = "lock", _("Lock")
    STOP = "stop", _("Stop")
    ARCHIVE = "archive", _("Archive")
    UNARCHIVE = "unarchive", _("Restore")
    DELETE = "delete", _("Delete")


@dataclasses.dataclass(frozen=True)
class Transition:
    """Where an action may start from, where it leads, and the timestamp it sets."""

    sources: frozenset[WorkflowStatus]
    #: None for delete: the workflow is gone.
    target: WorkflowStatus | None
    #: The field set to now (``archived_at`` is cleared by unarchive instead).
    timestamp: str | None = None
    #: An action that runs first from the statuses it starts from (archive stops first).
    after: WorkflowAction | None = None


_S = WorkflowStatus
#: THE lifecycle: every status change a workflow may go through.
TRANSITIONS: dict[WorkflowAction, Transition] = {
    WorkflowAction.ACTIVATE: Transition(
        frozenset({_S.DRAFT, _S.LOCKED, _S.STOPPED}), _S.ACTIVE, "activated_at"
    ),
    WorkflowAction.LOCK: Transition(frozenset({_S.ACTIVE}), _S.LOCKED, "locked_at"),
    WorkflowAction.STOP: Transition(frozenset({_S.ACTIVE, _S.LOCKED}), _S.STOPPED, "stopped_at"),
    WorkflowAction.ARCHIVE: Transition(
        frozenset({_S.STOPPED}), _S.ARCHIVED, "archived_at", after=WorkflowAction.STOP
    ),
    WorkflowAction.UNARCHIVE: Transition(frozenset({_S.ARCHIVED}), _S.STOPPED),
    # A draft was never activated: nothing was sent, it can simply be discarded.
    WorkflowAction.DELETE: Transition(frozenset({_S.DRAFT, _S.ARCHIVED}), None),
}
del _S


def allowed_from(action: WorkflowAction) -> frozenset[WorkflowStatus]:
    """Every status ``action`` can be taken from, counting the action it runs first."""
    transition = TRANSITIONS[action]
    if transition.after is None:
        return transition.sources
    return transition.sources | TRANSITIONS[transition.after].sources


class WorkflowSection(models.TextChoices):
    """The sections of the workflow editor, where an activation problem is fixed."""

    DETAILS = "details", _("Workflow details")
    ELIGIBILITY = "eligibility", _("Eligibility")
    TRIGGER = "trigger", _("Trigger")
    SENDING = "sending", _("Sending period")
    EMAILS = "emails", _("Emails")


@dataclasses.dataclass(frozen=True)
class ActivationProblem:
    """One reason a draft cannot be activated, and the section (and email) that fixes it."""

    section: WorkflowSection
    message: str
    #: The email whose template has the problem, if any.
    step: "WorkflowStep | None" = None


class EmailWorkflow(ClusterableModel):
    """An automated series of emails sent to contacts who meet a scenario's trigger."""

    class Scenario(models.TextChoices):
        WELCOME = "welcome", _("Welcome")
        PROPERTY_UPDATE = "property_update", _("Contact update")
        DATE = "date", _("Date")
        BIRTHDAY = "birthday", _("Birthday")
        REACTIVATION = "reactivation", _("Reactivation")

    Status = WorkflowStatus
    Action = WorkflowAction

    class DateMode(models.TextChoices):
        FIXED = "fixed", _("On a fixed date and time")
        RELATIVE = "relative", _("Relative to a date property of each contact")

    title = models.CharField(_("title"), max_length=255, help_text=_("Internal name."))
    language = models.CharField(
        _("language"),
        max_length=12,
        default=conf.default_language,
        validators=[validate_language],
        help_text=_("Language the emails' built-in texts and formats use."),
    )
    timezone = models.CharField(
        _("timezone"),
        max_length=63,
        default=conf.default_timezone,
        validators=[validate_timezone],
        help_text=_("Timezone of the sending period and of calendar delays."),
    )
    scenario = models.CharField(
        _("scenario"), max_length=20, choices=Scenario.choices, default=Scenario.WELCOME
    )
    contact_list = models.ForeignKey(
        ContactList,
        verbose_name=_("contact list"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workflows",
    )
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workflows",
    )

    # Trigger settings, by scenario.
    trigger_conditions = models.JSONField(
        _("trigger condition"),
        default=dict,
        blank=True,
        help_text=_("Contact update: the condition that must become true."),
    )
    date_mode = models.CharField(
        _("date mode"), max_length=10, choices=DateMode.choices, default=DateMode.RELATIVE
    )
    fixed_at = models.DateTimeField(_("date and time"), null=True, blank=True)
    date_property = models.ForeignKey(
        ContactProperty,
        verbose_name=_("date property"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"type": ContactProperty.Type.DATE},
        help_text=_("Date: the property the date is relative to. Birthday: the birth date."),
    )
    offset_days = models.IntegerField(
        _("days after (negative: before)"),
        default=0,
        validators=[MinValueValidator(-3650), MaxValueValidator(3650)],
    )
    time_of_day = models.TimeField(_("time of day"), null=True, blank=True)
    inactivity_days = models.PositiveIntegerField(
        _("days without an open or click"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    allow_reentry = models.BooleanField(
        _("allow re-entry"),
        default=False,
        help_text=_("Let a contact who completed or left the workflow enter it again."),
    )

    # Sending period, in the workflow's timezone. No hours: any time of day.
    sending_days = models.JSONField(_("sending days"), default=list, blank=True)
    sending_start = models.TimeField(_("sending from"), null=True, blank=True)
    sending_end = models.TimeField(_("sending until"), null=True, blank=True)

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    activated_at = models.DateTimeField(_("activated"), null=True, editable=False)
    locked_at = models.DateTimeField(_("locked"), null=True, editable=False)
    stopped_at = models.DateTimeField(_("stopped"), null=True, editable=False)
    archived_at = models.DateTimeField(_("archived"), null=True, editable=False)
    #: Up to when the date, birthday or reactivation scans have looked.
    scanned_until = models.DateTimeField(_("scanned until"), null=True, editable=False)
    duplicated_from = models.ForeignKey(
        "self",
        verbose_name=_("duplicated from"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("email workflow")
        verbose_name_plural = _("email workflows")
        permissions = [
            ("activate_emailworkflow", _("Can activate, lock, stop and archive email workflows")),
        ]
        indexes = [models.Index(fields=["status", "scenario"], name="mailflow_workflow_status")]

    def __str__(self):
        return self.title

    # -- editing ---------------------------------------------------------

    @property
    def is_editable(self):
        """Only drafts can be edited; duplicate an active workflow to change it."""
        return self.status == self.Status.DRAFT

    def get_sending_days(self):
        """Weekdays (Monday = 0) emails may go out; all week when none were stored."""
        return self.sending_days if self.sending_days else list(ALL_WEEKDAYS)

    def _stored_status(self):
        return (
            type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if self.pk
            else None
        )

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            stored = self._stored_status()
            if stored is not None and stored != self.Status.DRAFT:
                raise LifecycleError(
                    _(
                        "This workflow is %(status)s and can no longer be edited; "
                        "duplicate it to make changes."
                    ),
                    code="not_editable",
                    params={"status": self.Status(stored).label.lower()},
                )
        if not self.sending_days and self._state.adding:
            self.sending_days = list(ALL_WEEKDAYS)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        stored = self._stored_status()
        if stored is not None and stored not in TRANSITIONS[WorkflowAction.DELETE].sources:
            raise LifecycleError(
                _("Only a draft or an archived workflow can be deleted; archive it first."),
                code="not_archived",
            )
        return super().delete(*args, **kwargs)

    def condition_problems(self) -> list[str]:
        """Why the segment or the trigger condition cannot be evaluated now (empty: it can).

        A property a condition reads may have been deleted or changed type since
        it was saved. While that lasts, contacts are still stored by signups and
        imports but do not enter this workflow (the engine skips it and logs why).
        """
        problems = []
        if self.segment_id:
            try:
                parse(self.segment.conditions)
            except ConditionError as exc:
                problems.append(
                    _("The segment “%(segment)s” cannot be evaluated: %(error)s")
                    % {"segment": self.segment, "error": exc}
                )
        if self.scenario == self.Scenario.PROPERTY_UPDATE and self.trigger_conditions:
            try:
                parse(self.trigger_conditions)
            except ConditionError as exc:
                problems.append(
                    _("The trigger condition cannot be evaluated: %(error)s") % {"error": exc}
                )
        return problems

    def clean(self):
        super().clean()
        errors = self.settings_errors()
        if errors:
            raise ValidationError(errors)

    def settings_errors(self):
        """Problems with the trigger settings and sending period, keyed by field."""
        errors = {}
        S = self.Scenario
        if self.scenario == S.PROPERTY_UPDATE:
            if not (self.trigger_conditions or {}).get("conditions"):
                errors["trigger_conditions"] = _("Set the condition that triggers this workflow.")
            else:
                try:
                    validate_conditions(self.trigger_conditions)
                except ConditionError as exc:
                    errors["trigger_conditions"] = str(exc)
        elif self.scenario == S.DATE:
            if self.date_mode == self.DateMode.FIXED:
                if self.fixed_at is None:
                    errors["fixed_at"] = _("Choose the date and time the workflow starts.")
            else:
                if self.date_property_id is None:
                    errors["date_property"] = _("Choose the date property.")
                if self.time_of_day is None:
                    errors["time_of_day"] = _("Choose the time of day.")
        elif self.scenario == S.BIRTHDAY:
            if self.date_property_id is None:
                errors["date_property"] = _("Choose the property that holds the birth date.")
            if self.time_of_day is None:
                errors["time_of_day"] = _("Choose the time of day.")
        elif self.scenario == S.REACTIVATION:
            if not self.inactivity_days:
                errors["inactivity_days"] = _("Set after how many days without engagement.")
        if self.date_property_id is not None and self.scenario in (S.DATE, S.BIRTHDAY):
            if self.date_property.type != ContactProperty.Type.DATE:
                errors["date_property"] = _("Choose a property of type date.")

        days = self.sending_days
        if days is not None and not isinstance(days, list):
            errors["sending_days"] = _("Sending days must be a list of weekdays.")
        elif days is not None and self.pk is not None and len(days) == 0:
            errors["sending_days"] = _("Choose at least one weekday to send on.")
        elif days and any(d not in ALL_WEEKDAYS for d in days):
            errors["sending_days"] = _("Weekdays are numbered 0 (Monday) to 6 (Sunday).")
        if (self.sending_start is None) != (self.sending_end is None):
            errors["sending_end"] = _(
                "Set both the start and the end of the sending hours, or neither."
            )
        elif self.sending_start is not None and self.sending_start == self.sending_end:
            errors["sending_end"] = _(
                "The sending hours start and end at the same time; leave both empty to send at any time."
            )
        return errors

    def activation_problems(self) -> list[ActivationProblem]:
        """Every reason this draft cannot be activated now, each with the section that fixes it.

        Each distinct template is checked (and its MJML compiled) once, however many
        emails use it.
        """
        S = WorkflowSection
        problems = []
        if self.contact_list_id is None:
            problems.append(
                ActivationProblem(
                    S.ELIGIBILITY,
                    _("Choose the contact list the workflow draws its contacts from."),
                )
            )
        errors = self.settings_errors()
        for field, message in errors.items():
            section = S.SENDING if field.startswith("sending") else S.TRIGGER
            for text in message if isinstance(message, list) else [message]:
                problems.append(ActivationProblem(section, text))
        if self.pk is not None and not self.sending_days and "sending_days" not in errors:
            problems.append(
                ActivationProblem(S.SENDING, _("Choose at least one weekday to send on."))
            )
        steps = (
            list(self.steps.select_related("template").order_by("sort_order", "pk"))
            if self.pk
            else []
        )
        if not steps:
            problems.append(ActivationProblem(S.EMAILS, _("Add at least one email.")))
        template_problems = {}
        for position, step in enumerate(steps, start=1):
            if step.template_id not in template_problems:
                template_problems[step.template_id] = rendering.template_problems(step.template)
            for message in template_problems[step.template_id]:
                problems.append(
                    ActivationProblem(
                        S.EMAILS,
                        _("Email %(position)s ('%(name)s'): %(message)s")
                        % {"position": position, "name": step.template.name, "message": message},
                        step=step,
                    )
                )
        return problems

    # -- transitions -----------------------------------------------------

    def allows(self, action: WorkflowAction) -> bool:
        """Whether the workflow's status (as loaded) lets ``action`` be taken."""
        return self.status in allowed_from(action)

    def _transition(self, action: WorkflowAction, **fields) -> None:
        """Take ``action`` from one of its source statuses with a conditional UPDATE."""
        transition = TRANSITIONS[action]
        if transition.timestamp:
            fields[transition.timestamp] = now()
        updated = (
            type(self)
            .objects.filter(pk=self.pk, status__in=transition.sources)
            .update(status=transition.target, updated_at=now(), **fields)
        )
        if updated != 1:
            current = self._stored_status() or self.status
            raise LifecycleError(
                _("This workflow is %(status)s: it cannot become %(new)s.")
                % {
                    "status": self.Status(current).label.lower(),
                    "new": transition.target.label.lower(),
                },
                code="transition_not_allowed",
            )
        self.status = transition.target
        for field, value in fields.items():
            setattr(self, field, value)

    def activate(self) -> None:
        """Start (draft), unlock (locked) or resume (stopped) the workflow.

        A draft is checked first (``ActivationBlocked`` lists its problems) and the
        template revision of every email is frozen, so later edits to a template
        never change what this workflow sends.
        """
        with transaction.atomic():
            stored = type(self).objects.select_for_update().filter(pk=self.pk).first()
            if stored is None:
                raise LifecycleError(_("Save the workflow before activating it."))
            if stored.status == self.Status.DRAFT:
                problems = stored.activation_problems()
                if problems:
                    raise ActivationBlocked(problems)
                for step in stored.steps.select_related("template"):
                    try:
                        revision = step.template.revision_for_sending()
                    except ValidationError as exc:
                        raise LifecycleError(exc.messages, code="invalid") from exc
                    WorkflowStep.objects.filter(pk=step.pk).update(template_revision=revision)
            self._transition(WorkflowAction.ACTIVATE)

    def lock(self) -> None:
        """Stop new entries; contacts already inside finish as planned."""
        self._transition(WorkflowAction.LOCK)

    def stop(self) -> None:
        """Stop new entries and sending; emails falling due are skipped."""
        self._transition(WorkflowAction.STOP)

    def archive(self, stop_first: bool = False) -> None:
        """Archive a stopped workflow; with ``stop_first`` an active or locked one is stopped first."""
        stop_sources = TRANSITIONS[WorkflowAction.STOP].sources
        with transaction.atomic():
            if stop_first and self._stored_status() in stop_sources:
                self.stop()
            if self._stored_status() in stop_sources:
                raise LifecycleError(
                    _("Stop the workflow before archiving it."), code="not_stopped"
                )
            self._transition(WorkflowAction.ARCHIVE)

    def unarchive(self) -> None:
        """Bring an archived workflow back as stopped."""
        self._transition(WorkflowAction.UNARCHIVE, archived_at=None)

    def duplicate(self, title: str, copy_templates: bool = False) -> "EmailWorkflow":
        """A draft copy with a new title and copies of the steps (and optionally the templates)."""
        title = (title or "").strip()
        if not title:
            raise ValidationError({"title": _("Give the copy a title.")})
        with transaction.atomic():
            copy = type(self)(
                title=title,
                duplicated_from=self,
                **{
                    f.name: getattr(self, f.name)
                    for f in self._meta.concrete_fields
                    if f.editable and f.name not in ("id", "title", "duplicated_from")
                },
            )
            copy.save()
            for step in self.steps.select_related("template"):
                template = step.template
                if copy_templates:
                    template = template.copy_for_workflow(
                        _("%(name)s (copy)") % {"name": template.name}
                    )
                WorkflowStep.objects.create(
                    workflow=copy,
                    sort_order=step.sort_order,
                    delay_amount=step.delay_amount,
                    delay_unit=step.delay_unit,
                    template=template,
                )
        return copy


class WorkflowStep(Orderable):
    """One email of a workflow: a delay and the template to send."""

    class DelayUnit(models.TextChoices):
        MINUTES = "minutes", _("minutes")
        HOURS = "hours", _("hours")
        DAYS = "days", _("days")
        MONTHS = "months", _("months")

    workflow = ParentalKey(EmailWorkflow, on_delete=models.CASCADE, related_name="steps")
    delay_amount = models.PositiveIntegerField(
        _("delay"),
        default=0,
        validators=[MaxValueValidator(100000)],
        help_text=_("0 sends immediately."),
    )
    delay_unit = models.CharField(
        _("unit"), max_length=10, choices=DelayUnit.choices, default=DelayUnit.DAYS
    )
    template = models.ForeignKey(
        EmailTemplate, verbose_name=_("email template"), on_delete=models.PROTECT, related_name="+"
    )
    template_revision = models.ForeignKey(
        "wagtailcore.Revision",
        verbose_name=_("frozen template revision"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta(Orderable.Meta):
        verbose_name = _("email")
        verbose_name_plural = _("emails")

    def __str__(self):
        return f"{self.template} ({self.describe_delay()})"

    @property
    def sends_immediately(self):
        """True for "send immediately" (no delay)."""
        return self.delay_amount == 0

    def describe_delay(self):
        """The delay in words: "immediately" or "3 days later"."""
        if self.sends_immediately:
            return str(_("immediately"))
        n = self.delay_amount
        unit = {
            "minutes": ngettext("%(n)d minute later", "%(n)d minutes later", n),
            "hours": ngettext("%(n)d hour later", "%(n)d hours later", n),
            "days": ngettext("%(n)d day later", "%(n)d days later", n),
            "months": ngettext("%(n)d month later", "%(n)d months later", n),
        }[self.delay_unit]
        return unit % {"n": n}

    def _check_editable(self):
        workflow_id = self.workflow_id
        if workflow_id is None:
            return
        status = (
            EmailWorkflow.objects.filter(pk=workflow_id).values_list("status", flat=True).first()
        )
        if status is not None and status != EmailWorkflow.Status.DRAFT:
            raise LifecycleError(
                _("The emails of a %(status)s workflow cannot be changed; duplicate it instead.")
                % {"status": EmailWorkflow.Status(status).label.lower()},
                code="not_editable",
            )

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if not (update_fields and set(update_fields) <= {"template_revision"}):
            self._check_editable()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check_editable()
        return super().delete(*args, **kwargs)
