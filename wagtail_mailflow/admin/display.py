"""How the admin shows a stored value: dates in the editor's timezone and language, one format
everywhere, language codes by name, yes/no for booleans, a dash for nothing."""

import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _

from .. import conf

EMPTY = "—"


def moment(value) -> str:
    """A date and time in the current timezone, in the active language's format."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return date_format(value, "DATETIME_FORMAT")
    return date_format(value, "DATE_FORMAT")


def relative(value, now=None) -> str:
    """ "3 hours ago" for the past, "in 3 hours" for the future, "just now" within a minute."""
    if value is None:
        return EMPTY
    now = now or timezone.now()
    seconds = (value - now).total_seconds()
    if abs(seconds) < 60:
        return _("just now")
    if seconds > 0:
        return _("in %(time)s") % {"time": timeuntil(value, now, depth=1)}
    return _("%(time)s ago") % {"time": timesince(value, now, depth=1)}


def language_name(code) -> str:
    """A language code by its name in the editor's language ("fr" -> "French" / "Français")."""
    if not code:
        return EMPTY
    for candidate in (code, code.split("-")[0]):
        try:
            return get_language_info(candidate)["name_translated"]
        except KeyError:
            continue
    return dict(conf.languages()).get(code, code)


def language_choices():
    """The site's languages as (code, name in the editor's language) choices."""
    return [(code, language_name(code)) for code, _name in conf.languages()]


def display(value) -> str:
    """Any stored value as an editor reads it."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.date):
        return moment(value)
    return str(value)
