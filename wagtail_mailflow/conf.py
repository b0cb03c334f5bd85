"""Every WAGTAIL_MAILFLOW_* setting with its default, read at call time.

Reading lazily (``conf.get("FROM_EMAIL")`` or ``conf.FROM_EMAIL``) means
``override_settings`` works in tests and a site can change a setting without
re-importing the package.
"""

import re

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "WAGTAIL_MAILFLOW_"

DEFAULTS = {
    # Sender used when an email template leaves "From address" empty.
    "FROM_EMAIL": None,
    # Absolute base URL of the public site, used for links and images in emails
    # (unsubscribe, images). Falls back to WAGTAILADMIN_BASE_URL.
    "BASE_URL": None,
    # Postal address printed in every email footer (CAN-SPAM requires one).
    "POSTAL_ADDRESS": "",
    # Timezone and language proposed for new workflows (None: TIME_ZONE / LANGUAGE_CODE).
    "DEFAULT_TIMEZONE": None,
    "DEFAULT_LANGUAGE": None,
    # Languages a workflow may be rendered in (None: settings.LANGUAGES).
    "LANGUAGES": None,
    # How many compiled template revisions each process keeps in memory.
    "RENDER_CACHE_SIZE": 256,
    # Deliveries claimed and sent per batch (each message is its own ESP call).
    "BATCH_SIZE": 200,
    # How long a worker's claim on a batch lasts; after that another worker may
    # take the deliveries it never handed to the ESP.
    "LEASE_SECONDS": 300,
    # Attempts before a transiently failing delivery is marked failed. With the backoff
    # below (1, 2, 4... minutes, then hourly) 24 attempts span about 18 hours: an ESP
    # outage of an afternoon or a night loses no email.
    "MAX_ATTEMPTS": 24,
    # Exponential backoff for transient ESP errors: base delay and ceiling, seconds.
    "RETRY_BASE_SECONDS": 60,
    "RETRY_MAX_SECONDS": 3600,
    # While a batch is at the ESP, the contacts not yet sent to are checked again for
    # unsubscribes and suppressions whenever this many seconds passed (one query):
    # nothing goes out later than this after an unsubscribe commits (plus one ESP
    # call); a few queries a second against a slow ESP, none for a fast local backend.
    "RECHECK_SECONDS": 0.25,
    # Rows are handed to the ESP in groups lasting about this long: a worker killed
    # mid-batch leaves at most one group's outcome unknown.
    "HANDOVER_SECONDS": 0.5,
    # How long sending pauses after the ESP refuses the account (401/403).
    "PAUSE_SECONDS": 900,
    # ESP calls a worker keeps in flight at once, each on its own connection (see
    # docs/sending.md); 1 sends one message after the other.
    "SEND_CONCURRENCY": 32,
    # Emails per unit of time across every worker and machine ("40/s", "100000/h": a count
    # per s, m, h or d); None: as fast as the ESP answers.
    "SEND_RATE": None,
    # Suppress a contact once this many different emails to it soft-bounced
    # (deferred, or bounced but not hard) within SOFT_BOUNCE_DAYS; 0 never does.
    "SOFT_BOUNCE_LIMIT": 3,
    "SOFT_BOUNCE_DAYS": 30,
    # Site users as contacts (see docs/site-users.md): a dict mapping user / profile
    # fields to contact fields ("fields") and properties ("properties"), with an
    # optional "signup_list", "profile_model" and "profile_user_field". None: off.
    "USER_SYNC": None,
    # CSV imports (see docs/importing.md): the largest file accepted, the size from
    # which the import runs in a django-q2 task instead of the request, and how many
    # rows are written per chunk.
    "IMPORT_MAX_BYTES": 50 * 1024 * 1024,
    "IMPORT_ASYNC_BYTES": 1024 * 1024,
    "IMPORT_CHUNK_SIZE": 1000,
    # The most conditions a segment or a contact-update trigger may have (checked when it
    # is saved): a longer set makes queries the database refuses. See docs/editor-guide.md.
    "MAX_CONDITIONS": 100,
    # Public signup (see docs/signup-forms.md): subscribe-form posts allowed per visitor IP
    # ("5/m": 5 a minute; s, m, h or d; None: no limit), and how long a double opt-in
    # confirmation link stays valid, in seconds.
    "SUBSCRIBE_RATE": "5/m",
    "CONFIRM_MAX_AGE": 7 * 24 * 3600,
    # Dotted path of the class sites subclass to customise the public signup (the visitor's
    # IP behind a proxy, the confirmation email): see docs/extending.md.
    "ADAPTER": "wagtail_mailflow.adapter.DefaultAdapter",
}


def get(name):
    """Return the value of WAGTAIL_MAILFLOW_<name>, or its default."""
    if name not in DEFAULTS:
        raise AttributeError(f"Unknown wagtail-mailflow setting {name!r}")
    return getattr(django_settings, PREFIX + name, DEFAULTS[name])


def __getattr__(name):
    if name in DEFAULTS:
        return get(name)
    raise AttributeError(name)


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\w*\s*$")


def parse_rate(rate, name: str) -> tuple[int, int] | None:
    """A rate setting: ``"5/m"`` → ``(5, 60)``; ``"100/2h"`` → ``(100, 7200)``; None or '' → None.

    ``name`` is the setting's name without its prefix, for the error message.
    """
    if rate in (None, ""):
        return None
    match = _RATE_RE.match(str(rate))
    if match is None or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"{PREFIX}{name} must look like '5/m' (a count per s, m, h or d), not {rate!r}."
        )
    return int(match[1]), int(match[2] or 1) * _PERIODS[match[3]]


def base_url():
    """The public site's base URL without a trailing slash, or '' if unknown."""
    url = get("BASE_URL") or getattr(django_settings, "WAGTAILADMIN_BASE_URL", "") or ""
    return url.rstrip("/")


def is_site_language(code: str | None) -> bool:
    """Whether ``code`` (or its base, "pt" for "pt-br") is one of ``settings.LANGUAGES``."""
    if not code:
        return False
    codes = {c for c, _name in django_settings.LANGUAGES}
    return code in codes or code.split("-")[0] in codes


def default_from_email():
    """The sender used when a template has none."""
    return get("FROM_EMAIL")


def languages():
    """(code, name) pairs a workflow may use."""
    return get("LANGUAGES") or django_settings.LANGUAGES


def default_language():
    """Language proposed for a new workflow."""
    return get("DEFAULT_LANGUAGE") or django_settings.LANGUAGE_CODE.split("-")[0]


def default_timezone():
    """Timezone proposed for a new workflow."""
    return get("DEFAULT_TIMEZONE") or django_settings.TIME_ZONE or "UTC"
