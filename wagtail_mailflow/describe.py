"""A workflow in plain words, as the review screen shows it before activation.

"1) Trigger: a new contact joins 'Newsletter'. 2) 'Hello and welcome' is sent
immediately. 3) 'Save up to 15% this week' is sent 3 days later." followed by
the sending-period note.
"""

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .conditions import ConditionError, describe

WEEKDAY_NAMES = {
    0: lambda: _("Monday"),
    1: lambda: _("Tuesday"),
    2: lambda: _("Wednesday"),
    3: lambda: _("Thursday"),
    4: lambda: _("Friday"),
    5: lambda: _("Saturday"),
    6: lambda: _("Sunday"),
}


def _conditions_text(spec):
    """conditions.describe(), or a placeholder when the spec does not parse."""
    try:
        return str(describe(spec))
    except ConditionError:
        return _("(invalid conditions)")


def _list_name(workflow):
    if workflow.contact_list_id is None:
        return _("(no contact list chosen)")
    return str(workflow.contact_list)


def _time(value):
    return formats.time_format(value, "H:i") if value else ""


def describe_trigger(workflow):
    """The trigger sentence of the workflow's scenario."""
    S = workflow.Scenario
    list_name = _list_name(workflow)
    if workflow.scenario == S.WELCOME:
        text = _("Trigger: a new contact joins '%(list)s'") % {"list": list_name}
    elif workflow.scenario == S.PROPERTY_UPDATE:
        text = _("Trigger: a contact of '%(list)s' is updated and now matches: %(conditions)s") % {
            "list": list_name,
            "conditions": _conditions_text(workflow.trigger_conditions or {}),
        }
    elif workflow.scenario == S.DATE and workflow.date_mode == workflow.DateMode.FIXED:
        when = (
            formats.date_format(workflow.fixed_at, "DATETIME_FORMAT")
            if workflow.fixed_at
            else _("(no date chosen)")
        )
        text = _("Trigger: on %(when)s, every contact of '%(list)s' enters") % {
            "when": when,
            "list": list_name,
        }
    elif workflow.scenario == S.DATE:
        prop = str(workflow.date_property) if workflow.date_property_id else _("(no property)")
        days = workflow.offset_days or 0
        if days > 0:
            relative = ngettext(
                "%(n)d day after each contact's '%(property)s'",
                "%(n)d days after each contact's '%(property)s'",
                days,
            ) % {"n": days, "property": prop}
        elif days < 0:
            relative = ngettext(
                "%(n)d day before each contact's '%(property)s'",
                "%(n)d days before each contact's '%(property)s'",
                -days,
            ) % {"n": -days, "property": prop}
        else:
            relative = _("on each contact's '%(property)s'") % {"property": prop}
        text = _("Trigger: %(relative)s at %(time)s, contacts of '%(list)s' enter") % {
            "relative": relative,
            "time": _time(workflow.time_of_day) or _("(no time chosen)"),
            "list": list_name,
        }
    elif workflow.scenario == S.BIRTHDAY:
        prop = str(workflow.date_property) if workflow.date_property_id else _("(no property)")
        text = _(
            "Trigger: a contact of '%(list)s' has a birthday ('%(property)s'), at %(time)s, "
            "once a year"
        ) % {
            "list": list_name,
            "property": prop,
            "time": _time(workflow.time_of_day) or _("(no time chosen)"),
        }
    else:
        days = workflow.inactivity_days or 0
        text = ngettext(
            "Trigger: a contact of '%(list)s' has not opened or clicked any email for %(n)d day",
            "Trigger: a contact of '%(list)s' has not opened or clicked any email for %(n)d days",
            days,
        ) % {"list": list_name, "n": days}
    if workflow.segment_id:
        # A clause of its own: the trigger sentences have singular and plural subjects.
        text += "; " + _("only contacts who match the segment '%(segment)s' (%(conditions)s)") % {
            "segment": workflow.segment,
            "conditions": _conditions_text(workflow.segment.conditions),
        }
    return text


def _after_entry(step):
    n = step.delay_amount
    return {
        "minutes": ngettext(
            "%(n)d minute after the contact enters", "%(n)d minutes after the contact enters", n
        ),
        "hours": ngettext(
            "%(n)d hour after the contact enters", "%(n)d hours after the contact enters", n
        ),
        "days": ngettext(
            "%(n)d day after the contact enters", "%(n)d days after the contact enters", n
        ),
        "months": ngettext(
            "%(n)d month after the contact enters", "%(n)d months after the contact enters", n
        ),
    }[step.delay_unit] % {"n": n}


def describe_step(step, position):
    """One email's line: "'Hello' is sent immediately" or "… 3 days later"."""
    name = str(step.template) if step.template_id else _("(no template)")
    if position == 1 and not step.sends_immediately:
        delay = _after_entry(step)
    else:
        delay = step.describe_delay()
    return _("'%(name)s' is sent %(delay)s") % {"name": name, "delay": delay}


def _weekdays_text(days):
    days = sorted(set(days))
    if days == list(range(7)):
        return _("every day")
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return _("%(first)s to %(last)s") % {
            "first": WEEKDAY_NAMES[days[0]](),
            "last": WEEKDAY_NAMES[days[-1]](),
        }
    return ", ".join(WEEKDAY_NAMES[d]() for d in days)


def describe_sending_period(workflow):
    """The sending period and what happens to emails due outside it."""
    days = _weekdays_text(workflow.get_sending_days())
    if workflow.sending_start and workflow.sending_end:
        period = _("%(days)s, %(start)s–%(end)s") % {
            "days": days,
            "start": _time(workflow.sending_start),
            "end": _time(workflow.sending_end),
        }
    else:
        period = _("%(days)s, at any time") % {"days": days}
    return _(
        "Sending period: %(period)s (%(timezone)s). Emails due outside the sending period "
        "wait until it next opens."
    ) % {"period": period, "timezone": workflow.timezone}


def describe_workflow(workflow):
    """The workflow in plain words: trigger, one line per email, then the sending-period note."""
    lines = [describe_trigger(workflow)]
    steps = list(workflow.steps.select_related("template").order_by("sort_order", "pk"))
    if not steps:
        lines.append(_("No email has been added yet."))
    for position, step in enumerate(steps, start=1):
        lines.append(describe_step(step, position))
    lines.append(describe_sending_period(workflow))
    return lines
