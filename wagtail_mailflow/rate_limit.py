"""What guards public signup posts, the subscribe view's and form pages' alike: a rate limit
counted per visitor IP in Django's default cache, and a honeypot field bots fill in."""

import hashlib
import logging
import time

from django import forms
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import conf
from .adapter import get_adapter

logger = logging.getLogger(__name__)


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """``"5/m"`` → ``(5, 60)``; ``"100/2h"`` → ``(100, 7200)``; None or '' → None."""
    return conf.parse_rate(rate, "SUBSCRIBE_RATE")


def rate_limited(request: HttpRequest, scope: str = "subscribe") -> bool:
    """Count one public signup post from this IP; True when it is over the limit.

    The IP is the adapter's ``get_client_ip``. A fixed window in the default cache:
    with a per-process cache (LocMemCache) each process counts on its own, so use a
    shared cache in production.
    """
    try:
        rate = parse_rate(conf.get("SUBSCRIBE_RATE"))
    except ImproperlyConfigured:
        logger.error("Invalid WAGTAIL_MAILFLOW_SUBSCRIBE_RATE; signups are not rate limited")
        return False
    if rate is None:
        return False
    limit, period = rate
    ip = get_adapter().get_client_ip(request) or "unknown"
    ip_hash = hashlib.sha256(ip.encode()).hexdigest()[:32]
    key = f"wagtail_mailflow:rate:{scope}:{ip_hash}:{int(time.time() // period)}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=period + 1)
        count = 1
    return count > limit


RATE_LIMITED_TEMPLATE = "wagtail_mailflow/subscribe/rate_limited.html"


def rate_limited_response(request: HttpRequest) -> HttpResponse:
    """The 429 page telling the visitor why and when to try again."""
    response = render(
        request,
        RATE_LIMITED_TEMPLATE,
        {
            "reason": _(
                "Too many signups from your network in a short time. "
                "Please wait a minute and try again."
            )
        },
        status=429,
    )
    response["Retry-After"] = "60"
    response["Cache-Control"] = "no-store, private"
    return response


# --- Honeypot ------------------------------------------------------------------------------

#: Name of the hidden field people never see and bots fill in, on the subscribe form.
HONEYPOT_FIELD = "website"
#: Its name on form pages, where a site's own "Website" field may take "website".
FORM_PAGE_HONEYPOT_FIELD = "mailflow_website"


class HoneypotInput(forms.TextInput):
    """A text input hidden from people (off screen, out of the tab order, hidden from screen
    readers) with its own label, whatever template renders the form."""

    template_name = "wagtail_mailflow/forms/honeypot.html"

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", "tabindex": "-1", **(attrs or {})})


def honeypot_field() -> forms.CharField:
    """The honeypot: an optional text field with no visible label."""
    return forms.CharField(required=False, label="", widget=HoneypotInput())


def caught_by_honeypot(data, name: str = HONEYPOT_FIELD) -> bool:
    """Whether a post filled in the honeypot ``name``: a bot; nothing is stored for it."""
    if data.get(name):
        logger.info("Signup: honeypot %r filled in, nothing stored", name)
        return True
    return False
