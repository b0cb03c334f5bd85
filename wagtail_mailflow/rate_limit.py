"""The rate limit of public signup posts, counted per visitor IP in Django's default cache."""

import hashlib
import logging
import re
import time

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from . import conf
from .adapter import get_adapter

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\w*\s*$")


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """``"5/m"`` → ``(5, 60)``; ``"100/2h"`` → ``(100, 7200)``; None or '' → None."""
    if rate in (None, ""):
        return None
    match = _RATE_RE.match(str(rate))
    if match is None or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"WAGTAIL_MAILFLOW_SUBSCRIBE_RATE must look like '5/m' (a count per s, m, h or d), "
            f"not {rate!r}."
        )
    return int(match[1]), int(match[2] or 1) * _PERIODS[match[3]]


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
