"""Time-driven ways in: fixed dates, dates relative to a property, birthdays, reactivation.

Each scan looks at the stretch of time since it last looked (``scanned_until``)
and enters, with set-based queries, every eligible contact whose moment fell in
it. Entry keys make every scan idempotent: the same date, the same birthday
year or the same inactive spell never enters a contact twice, so overlapping
runs and catch-up after downtime are safe.
"""

import datetime
import logging
import zoneinfo

from django.db.models import Case, CharField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Concat, Substr
from django.utils import timezone

from ..conditions import compile_q
from ..models import Contact, EmailWorkflow, ListMembership
from .entry import enter_many
from .timing import local_to_utc

logger = logging.getLogger(__name__)

#: A scan never looks further back than this (workers down for longer lose older dates).
MAX_CATCH_UP = datetime.timedelta(days=31)

Scenario = EmailWorkflow.Scenario


def run_scans(now=None):
    """Run the scan of every active date, birthday and reactivation workflow; returns entries."""
    now = now or timezone.now()
    entered = 0
    workflows = EmailWorkflow.objects.filter(
        status=EmailWorkflow.Status.ACTIVE,
        scenario__in=[Scenario.DATE, Scenario.BIRTHDAY, Scenario.REACTIVATION],
    ).select_related("segment", "date_property")
    for workflow in workflows:
        try:
            entered += scan_workflow(workflow, now)
        except Exception:  # one broken workflow must not stop the others
            logger.exception("Scan of workflow %s failed", workflow.pk)
    return entered


def scan_workflow(workflow, now):
    """Enter the contacts whose moment fell between the last scan and ``now``."""
    since = workflow.scanned_until or workflow.activated_at or now
    since = max(since, now - MAX_CATCH_UP)
    if since >= now:
        return 0
    if workflow.scenario == Scenario.DATE and workflow.date_mode == EmailWorkflow.DateMode.FIXED:
        entered = _scan_fixed(workflow, since, now)
    elif workflow.scenario == Scenario.DATE:
        entered = _scan_relative(workflow, since, now)
    elif workflow.scenario == Scenario.BIRTHDAY:
        entered = _scan_birthday(workflow, since, now)
    else:
        entered = _scan_reactivation(workflow, now)
    EmailWorkflow.objects.filter(pk=workflow.pk).update(scanned_until=now)
    workflow.scanned_until = now
    if entered:
        logger.info("Scan entered %s contacts into workflow %s", entered, workflow.pk)
    return entered


def _local_days(workflow, since, now):
    """Local dates whose time of day (in the workflow's timezone) falls in (since, now]."""
    tz = zoneinfo.ZoneInfo(workflow.timezone)
    at = workflow.time_of_day or datetime.time(0)
    day = since.astimezone(tz).date() - datetime.timedelta(days=1)
    last = now.astimezone(tz).date()
    while day <= last:
        moment = local_to_utc(day, at, tz)
        if since < moment <= now:
            yield day
        day += datetime.timedelta(days=1)


def _scan_fixed(workflow, since, now):
    if workflow.fixed_at is None or not (since < workflow.fixed_at <= now):
        return 0
    return enter_many(workflow, Contact.objects.all(), entry_key="", now=now)


def _property_text(name):
    return KeyTextTransform(name, "properties")


def _scan_relative(workflow, since, now):
    name = workflow.date_property.name
    offset = datetime.timedelta(days=workflow.offset_days)
    # A contact's moment is (its date + offset) at the time of day: its date is day - offset.
    dates = [(day - offset).isoformat() for day in _local_days(workflow, since, now)]
    if not dates:
        return 0
    in_range = compile_q(
        {
            "match": "all",
            "conditions": [
                {"field": name, "operator": "on_or_after", "value": min(dates)},
                {"field": name, "operator": "on_or_before", "value": max(dates)},
            ],
        }
    )
    return enter_many(
        workflow,
        Contact.objects.filter(in_range),
        key_expression=Cast(_property_text(name), CharField()),
        now=now,
    )


def _scan_birthday(workflow, since, now):
    name = workflow.date_property.name
    entered = 0
    for day in _local_days(workflow, since, now):
        month_days = [day.strftime("%m-%d")]
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        if (day.month, day.day) == (2, 28) and not leap:
            month_days.append("02-29")  # born on 29 February: celebrated on the 28th
        contacts = (
            Contact.objects.filter(
                compile_q(
                    {
                        "match": "all",
                        "conditions": [{"field": name, "operator": "is_set", "value": None}],
                    }
                )
            )
            .annotate(_month_day=Substr(_property_text(name), 6, 5))
            .filter(_month_day__in=month_days)
        )
        # Once a year: the entry key is the year of the birthday.
        entered += enter_many(workflow, contacts, entry_key=str(day.year), now=now)
    return entered


def _scan_reactivation(workflow, now):
    cutoff = now - datetime.timedelta(days=workflow.inactivity_days or 0)
    joined = ListMembership.objects.filter(
        contact=OuterRef("pk"), contact_list_id=workflow.contact_list_id
    ).values("joined_at")[:1]
    contacts = Contact.objects.annotate(_joined=Subquery(joined)).filter(
        Q(last_engaged_at__lt=cutoff) | Q(last_engaged_at__isnull=True, _joined__lt=cutoff)
    )
    # Once per inactive spell: the spell is named by the last engagement (or the join).
    spell = Case(
        When(
            last_engaged_at__isnull=False,
            then=Concat(Value("engaged:"), Cast(F("last_engaged_at"), CharField())),
        ),
        default=Concat(Value("joined:"), Cast(Subquery(joined), CharField())),
        output_field=CharField(),
    )
    return enter_many(workflow, contacts, key_expression=spell, now=now)
