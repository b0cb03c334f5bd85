"""``{% load mailflow %}``: a signup form for sites that do not use form pages.

::

    {% load mailflow %}
    {% mailflow_subscribe_form "Newsletter" %}
    {% mailflow_subscribe_form "Newsletter" fields="first_name city" consent="I agree to receive the newsletter." button="Sign me up" next="/thanks/" %}

The list is given by name, primary key or instance. ``fields`` are extra
optional inputs, each a contact field (``first_name``, ``last_name``,
``language``, ``timezone``) or a contact property (typed input). ``consent``
adds a checkbox with that label that must be ticked. ``next`` sends the visitor
to a page of the site after signing up instead of the built-in thank-you page.
The form posts to ``wagtail_mailflow:subscribe``; the markup comes from
``wagtail_mailflow/subscribe/form.html`` (or ``template=``), which a site may override.
"""

import logging

from django import template as django_template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify

from ..subscribe_form import (
    HONEYPOT_FIELD,
    FormConfigError,
    SubscribeForm,
    make_form_config,
    parse_fields,
    resolve_list,
)

logger = logging.getLogger(__name__)
register = django_template.Library()

FORM_TEMPLATE = "wagtail_mailflow/subscribe/form.html"


@register.simple_tag(takes_context=True)
def mailflow_subscribe_form(
    context,
    contact_list,
    fields="",
    consent="",
    button="",
    next="",  # noqa: A002  (the usual name of a redirect target in Django templates)
    template=FORM_TEMPLATE,
):
    """Render a signup form for ``contact_list`` (see the module docstring for the options)."""
    try:
        resolved = resolve_list(contact_list)
        names = parse_fields(fields)
        form = SubscribeForm(extra_fields=names, consent=consent)
    except FormConfigError as exc:
        # A template author's mistake: loud while developing, logged (not a 500) in production.
        if settings.DEBUG:
            raise django_template.TemplateSyntaxError(f"mailflow_subscribe_form: {exc}") from exc
        logger.error("mailflow_subscribe_form: %s", exc)
        return ""
    request = context.get("request")
    return render_to_string(
        template,
        {
            "form": form,
            "contact_list": resolved,
            "action": reverse(
                "wagtail_mailflow:subscribe", args=[slugify(resolved.name) or resolved.pk]
            ),
            "form_config": make_form_config(resolved, names, consent, next),
            "honeypot_field": HONEYPOT_FIELD,
            "button_label": button,
        },
        request=request,
    )
