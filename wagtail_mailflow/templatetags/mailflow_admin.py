"""``{% load mailflow_admin %}``: the admin's one way to show dates, languages and values."""

from django import template

from ..admin import display

register = template.Library()

register.filter("mailflow_moment", display.moment)
register.filter("mailflow_relative", display.relative)
register.filter("mailflow_language", display.language_name)
register.filter("mailflow_display", display.display)
