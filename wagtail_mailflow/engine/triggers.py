"""The event-driven ways in, for one contact and for a set: joining a list, a contact changing.

Two rules, each written once here and used by the Python API (one contact at a
time) and by the CSV import (a chunk of contacts at a time):

* **Welcome**: a contact who joins a list (or comes back, or confirms a double
  opt-in) enters the list's active welcome workflows — only those active since
  before the membership began: joining is a trigger, not a state, so activating
  a workflow does not sweep in the list's existing members. Re-entry, when a
  workflow allows it, is per membership spell: the same join never counts twice.
* **Contact update**: a change to a contact enters each active contact-update
  workflow whose condition the change made true. A change that leaves a
  condition true (or false) enters nobody.
"""

import datetime
import logging
from collections.abc import Iterable, Mapping

from django.utils import timezone

from ..conditions import ConditionError, ConditionSet, evaluate, parse
from ..contact_fields import CONDITION_FIELDS
from ..models import Contact, ContactProperty, EmailWorkflow, Enrollment, ListMembership
from .entry import enter, enter_many

logger = logging.getLogger(__name__)

#: An active contact-update workflow and its parsed condition.
UpdateTrigger = tuple[EmailWorkflow, ConditionSet]


def _entry_key(workflow: EmailWorkflow, at: datetime.datetime) -> str:
    # With re-entry allowed, each join (or change) is its own entry; without, one key for all.
    return at.isoformat() if workflow.allow_reentry else ""


def _enter_set(workflow, contact_ids, at, now):
    return enter_many(
        workflow,
        Contact.objects.filter(pk__in=contact_ids),
        entry_key=_entry_key(workflow, at),
        now=now,
    )


# -- welcome -------------------------------------------------------------------------


def welcome_workflows(contact_list_id: int, joined_at: datetime.datetime):
    """The welcome workflows of a list that a membership begun at ``joined_at`` enters."""
    return EmailWorkflow.objects.filter(
        status=EmailWorkflow.Status.ACTIVE,
        scenario=EmailWorkflow.Scenario.WELCOME,
        contact_list_id=contact_list_id,
        activated_at__lte=joined_at,
    ).select_related("segment")


def membership_started(
    membership: ListMembership, now: datetime.datetime | None = None
) -> list[Enrollment]:
    """A contact joined (or re-joined, or confirmed) a list: enter its welcome workflows."""
    now = now or timezone.now()
    entered = []
    for workflow in welcome_workflows(membership.contact_list_id, membership.joined_at):
        enrollment = enter(
            workflow,
            membership.contact,
            entry_key=_entry_key(workflow, membership.joined_at),
            now=now,
        )
        if enrollment is not None:
            entered.append(enrollment)
    return entered


def memberships_started(
    contact_list_id: int,
    contact_ids: list[int],
    joined_at: datetime.datetime,
    now: datetime.datetime | None = None,
) -> int:
    """Contacts joined a list together at ``joined_at``: enter its welcome workflows.

    The set-based :func:`membership_started`; returns how many enrollments it created.
    """
    if not contact_ids:
        return 0
    now = now or timezone.now()
    entered = 0
    for workflow in welcome_workflows(contact_list_id, joined_at):
        entered += _enter_set(workflow, contact_ids, joined_at, now)
    return entered


# -- contact update ------------------------------------------------------------------


def contact_state(contact, properties: Mapping | None = None) -> dict:
    """The values conditions look at, as a plain dict (for before/after comparisons).

    Every field a condition may test is here, so that a change to any of them
    is seen by the contact-update trigger.
    """
    state = {name: getattr(contact, name) for name in CONDITION_FIELDS}
    state["properties"] = dict(contact.properties if properties is None else properties)
    return state


def update_triggers(definitions: Mapping | None = None) -> list[UpdateTrigger]:
    """The active contact-update workflows, each with its condition parsed once."""
    workflows = list(
        EmailWorkflow.objects.filter(
            status=EmailWorkflow.Status.ACTIVE, scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE
        ).select_related("segment")
    )
    if not workflows:
        return []
    if definitions is None:
        definitions = {p.name: p for p in ContactProperty.objects.all()}
    triggers = []
    for workflow in workflows:
        try:
            triggers.append((workflow, parse(workflow.trigger_conditions, definitions)))
        except ConditionError as exc:
            # A property the condition reads was deleted or changed type: the change is
            # stored all the same, nobody enters; the workflow's page shows why.
            logger.warning(
                "Workflow %s skipped: its trigger condition cannot be evaluated: %s",
                workflow.pk,
                exc,
            )
    return triggers


def became_true(spec: ConditionSet, before: Mapping, after: Mapping) -> bool:
    """Whether a change from state ``before`` to state ``after`` makes ``spec`` true."""
    return evaluate(spec, after) and not evaluate(spec, before)


def properties_changed(
    contact: Contact, before: Mapping, after: Mapping, now: datetime.datetime | None = None
) -> list[Enrollment]:
    """Enter ``contact`` into each active contact-update workflow whose condition just became true.

    ``before`` and ``after`` are :func:`contact_state` dicts.
    """
    if before == after:
        return []
    now = now or timezone.now()
    entered = []
    for workflow, spec in update_triggers():
        if became_true(spec, before, after):
            enrollment = enter(workflow, contact, entry_key=_entry_key(workflow, now), now=now)
            if enrollment is not None:
                entered.append(enrollment)
    return entered


def contacts_changed(
    changes: Iterable[tuple[int, Mapping, Mapping]],
    triggers: list[UpdateTrigger],
    now: datetime.datetime | None = None,
) -> int:
    """The set-based :func:`properties_changed`: ``changes`` are ``(contact id, before, after)``.

    ``triggers`` come from :func:`update_triggers` (read once for many sets).
    Returns how many enrollments it created.
    """
    changes = [change for change in changes if change[1] != change[2]]
    if not changes or not triggers:
        return 0
    now = now or timezone.now()
    entered = 0
    for workflow, spec in triggers:
        entering = [pk for pk, before, after in changes if became_true(spec, before, after)]
        if entering:
            entered += _enter_set(workflow, entering, now, now)
    return entered
