"""The event-driven ways in: a contact joins a list (welcome), a contact's properties change."""

import logging

from django.utils import timezone

from ..models import EmailWorkflow
from .entry import enter

logger = logging.getLogger(__name__)


def membership_started(membership, now=None):
    """A contact joined (or re-joined, or confirmed) a list: enter its welcome workflows.

    Only workflows active since before the membership began count: joining a
    list is a trigger, not a state, so activating a workflow does not sweep in
    the list's existing members.
    """
    now = now or timezone.now()
    workflows = EmailWorkflow.objects.filter(
        status=EmailWorkflow.Status.ACTIVE,
        scenario=EmailWorkflow.Scenario.WELCOME,
        contact_list_id=membership.contact_list_id,
        activated_at__lte=membership.joined_at,
    ).select_related("segment")
    entered = []
    for workflow in workflows:
        # Re-entry (when allowed) is per membership spell: the same join never counts twice.
        key = membership.joined_at.isoformat() if workflow.allow_reentry else ""
        enrollment = enter(workflow, membership.contact, entry_key=key, now=now)
        if enrollment is not None:
            entered.append(enrollment)
    return entered


def contact_state(contact, properties=None):
    """The values conditions look at, as a plain dict (for before/after comparisons)."""
    return {
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "language": contact.language,
        "properties": dict(contact.properties if properties is None else properties),
    }


def properties_changed(contact, before, after, now=None):
    """Enter ``contact`` into each active contact-update workflow whose condition just became true.

    ``before`` and ``after`` are :func:`contact_state` dicts. A save that leaves
    a condition true (or false) enters nobody.
    """
    if before == after:
        return []
    from ..conditions import evaluate
    from ..models import ContactProperty

    workflows = list(
        EmailWorkflow.objects.filter(
            status=EmailWorkflow.Status.ACTIVE, scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE
        ).select_related("segment")
    )
    if not workflows:
        return []
    now = now or timezone.now()
    definitions = {p.name: p for p in ContactProperty.objects.all()}
    entered = []
    for workflow in workflows:
        spec = workflow.trigger_conditions
        if evaluate(spec, after, properties=definitions) and not evaluate(
            spec, before, properties=definitions
        ):
            key = now.isoformat() if workflow.allow_reentry else ""
            enrollment = enter(workflow, contact, entry_key=key, now=now)
            if enrollment is not None:
                entered.append(enrollment)
    return entered
