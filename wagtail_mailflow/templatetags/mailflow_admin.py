"""``{% load mailflow_admin %}``: the admin's one way to show dates, languages and values."""

from django import template

from ..admin import display
from ..sending.rate import forecast

register = template.Library()

register.filter("mailflow_moment", display.moment)
register.filter("mailflow_relative", display.relative)
register.filter("mailflow_language", display.language_name)
register.filter("mailflow_display", display.display)


@register.inclusion_tag("wagtail_mailflow/admin/sending_rate.html")
def mailflow_sending_rate(workflow=None):
    """The configured send rate, and when the last email waiting should go (see ``forecast``)."""
    return {"forecast": forecast(None if workflow is None else workflow.pk), "workflow": workflow}
