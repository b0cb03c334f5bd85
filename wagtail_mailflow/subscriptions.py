"""Signups from the public site: form pages and the subscribe form share this path.

:func:`subscribe_visitor` subscribes an address through :func:`wagtail_mailflow.api.subscribe`
(which starts the list's welcome workflows). On a double opt-in list the new
membership waits unconfirmed and the visitor is sent a confirmation email with a
signed, expiring link; :func:`confirm` (the link's POST) confirms it, records the
consent and only then starts the welcome workflows.

Confirmation tokens are ``<contact id>-<list id>-<language>`` signed with a
timestamp (HMAC-SHA256 keyed with ``SECRET_KEY`` and a salt of their own, so an
unsubscribe token is never a confirmation token), valid for
``WAGTAIL_MAILFLOW_CONFIRM_MAX_AGE`` seconds.
"""

import hashlib
import logging
import re
import time
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core import checks, signing
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import conf
from .api import subscribe
from .models import Contact, ContactProperty, ListMembership, clean_properties
from .models.signups import MAPPABLE_FIELDS

logger = logging.getLogger(__name__)

CONFIRM_SALT = "wagtail_mailflow.confirm"
SEP = "."

#: Lengths of the contact fields a visitor's answer may fill (longer answers are cut).
FIELD_MAX_LENGTHS = {"first_name": 150, "last_name": 150, "language": 12, "timezone": 63}


# --- Subscribing -----------------------------------------------------------------------


@dataclass
class Signup:
    """What a public signup did: the contact, its membership, and whether an email went out."""

    contact: Contact
    membership: ListMembership
    joined: bool
    confirmation_sent: bool = False


def split_values(values, definitions=None):
    """Split ``{target: raw answer}`` into ``(fields, properties)`` that are safe to store.

    Targets are contact fields (first name, last name, language, timezone) or
    property names. A value that fails validation (unknown property, wrong type,
    unknown language or timezone) is left out with a logged warning: a visitor's
    odd answer must never lose their signup.
    """
    fields, properties = {}, {}
    prop_names = [name for name in values if name not in MAPPABLE_FIELDS]
    if definitions is None:
        definitions = {p.name: p for p in ContactProperty.objects.filter(name__in=prop_names)}
    for target, raw in values.items():
        if isinstance(raw, list | tuple):
            raw = ", ".join(str(v) for v in raw)
        if target in MAPPABLE_FIELDS:
            value = _clean_field(target, raw)
            if value is not None:
                fields[target] = value
            continue
        try:
            properties.update(clean_properties({target: raw}, definitions))
        except ValidationError as exc:
            logger.warning("Signup: skipped property %r: %s", target, "; ".join(exc.messages))
    return fields, properties


def _clean_field(name, raw):
    value = "" if raw is None else str(raw).strip()
    if not value:
        return None
    if name == "language":
        codes = {code for code, _name in settings.LANGUAGES}
        if value not in codes and value.split("-")[0] not in codes:
            logger.warning("Signup: skipped language %r (not in LANGUAGES)", value)
            return None
    if name == "timezone":
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            logger.warning("Signup: skipped timezone %r (unknown)", value)
            return None
    return value[: FIELD_MAX_LENGTHS[name]]


def subscribe_visitor(
    email,
    contact_list,
    *,
    source,
    source_detail="",
    values=None,
    language=None,
    base_url=None,
    now=None,
):
    """Subscribe ``email`` from a public form; on a double opt-in list, email a confirmation link.

    ``values`` maps contact fields or property names to the visitor's answers
    (see :func:`split_values`). Raises ``ValidationError`` only for an invalid
    address. The confirmation email goes out once the transaction commits, and
    is sent again when an address that never confirmed signs up again.
    """
    now = now or timezone.now()
    fields, properties = split_values(values or {})
    with transaction.atomic():
        contact, membership, joined = subscribe(
            email,
            contact_list,
            properties=properties,
            source=source,
            source_detail=source_detail[:255],
            now=now,
            **fields,
        )
        signup = Signup(contact, membership, joined)
        if not contact_list.double_opt_in or membership.confirmed_at is not None:
            return signup
        if contact.consent_at == now and not contact.consent_source.startswith("double-opt-in"):
            # Consent on a double opt-in list is given by confirming, not by filling a form.
            contact.consent_at, contact.consent_source = None, ""
            contact.save(update_fields=["consent_at", "consent_source", "updated_at"])
        if contact.suppressed_at is None:
            language = language or translation.get_language()
            transaction.on_commit(
                lambda: send_confirmation(membership.pk, language=language, base_url=base_url)
            )
            signup.confirmation_sent = True
    return signup


# --- Confirmation tokens -----------------------------------------------------------------


class InvalidToken(ValueError):
    """The confirmation link was altered, truncated or signed with a key this site does not know."""


class ExpiredToken(Exception):
    """A genuine confirmation link that is too old; ``value`` still says who it was for."""

    def __init__(self, value):
        super().__init__("The confirmation link has expired.")
        self.value = value


@dataclass(frozen=True)
class ConfirmationRef:
    contact_id: int
    list_id: int
    language: str


def _signer():
    # Built at call time so that SECRET_KEY / SECRET_KEY_FALLBACKS changes are honoured.
    return signing.TimestampSigner(salt=CONFIRM_SALT, sep=SEP, algorithm="sha256")


def make_confirm_token(contact_id, list_id, language=""):
    """A signed, timestamped token confirming ``contact_id``'s membership of ``list_id``."""
    language = language if re.fullmatch(r"[A-Za-z-]{0,12}", language or "") else ""
    return _signer().sign(f"{int(contact_id)}-{int(list_id)}-{language or ''}")


def _parse(value):
    match = re.fullmatch(r"(\d+)-(\d+)-([A-Za-z-]{0,12})", value)
    if match is None:
        raise InvalidToken(_("The confirmation link is malformed."))
    return ConfirmationRef(int(match[1]), int(match[2]), match[3])


def read_confirm_token(token, max_age=None):
    """The :class:`ConfirmationRef` of a token; ``InvalidToken`` if forged, ``ExpiredToken`` if old."""
    max_age = conf.get("CONFIRM_MAX_AGE") if max_age is None else max_age
    signer = _signer()
    try:
        return _parse(signer.unsign(token or "", max_age=max_age))
    except signing.SignatureExpired:
        raise ExpiredToken(_parse(signer.unsign(token))) from None
    except signing.BadSignature:
        raise InvalidToken(_("The confirmation link is invalid or was altered.")) from None


def confirm_path(contact_id, list_id, language=""):
    """The site-relative path of the confirmation page."""
    token = make_confirm_token(contact_id, list_id, language)
    return reverse("wagtail_mailflow:confirm", args=[token])


# --- The confirmation email --------------------------------------------------------------


def _email_language(contact, language):
    for code in (contact.language, language):
        if code and _is_site_language(code):
            return code
    return settings.LANGUAGE_CODE


def _is_site_language(code):
    codes = {c for c, _name in settings.LANGUAGES}
    return code in codes or code.split("-")[0] in codes


def send_confirmation(membership_id, *, language=None, base_url=None):
    """Email the confirmation link for one unconfirmed membership; True if a message went out.

    Runs after the signup's transaction commits. A sending failure is logged,
    never shown to the visitor: they can sign up again to get a new link.
    """
    membership = (
        ListMembership.objects.select_related("contact", "contact_list")
        .filter(pk=membership_id, left_at__isnull=True, confirmed_at__isnull=True)
        .first()
    )
    if membership is None or membership.contact.suppressed_at is not None:
        return False
    contact, contact_list = membership.contact, membership.contact_list
    language = _email_language(contact, language)
    with translation.override(language):
        path = confirm_path(contact.pk, contact_list.pk, language)
        context = {
            "contact": contact,
            "contact_list": contact_list,
            "confirm_url": (conf.base_url() or (base_url or "").rstrip("/")) + path,
            "site_name": getattr(settings, "WAGTAIL_SITE_NAME", "") or "",
            "max_age_days": max(1, round(conf.get("CONFIRM_MAX_AGE") / 86400)),
        }
        subject = " ".join(
            render_to_string("wagtail_mailflow/emails/confirm_subject.txt", context).split()
        )
        text = render_to_string("wagtail_mailflow/emails/confirm.txt", context)
        html = render_to_string("wagtail_mailflow/emails/confirm.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=conf.default_from_email() or None,
        to=[contact.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        logger.exception("Could not send the confirmation email of membership %s", membership_id)
        return False
    return True


def confirm(contact, contact_list, *, now=None):
    """Confirm a double opt-in membership: consent is recorded, welcome workflows start.

    Confirming is the visitor's own proven consent, so it also lifts an earlier
    "unsubscribe from everything" (never a suppression). Returns the membership.
    """
    now = now or timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        membership = ListMembership.objects.get(contact=contact, contact_list=contact_list)
        if membership.confirmed_at is not None:
            return membership
        detail = f"{membership.source}:{membership.source_detail}".rstrip(":")
        contact.consent_at = now
        contact.consent_source = f"double-opt-in:{detail}"[:255]
        contact.unsubscribed_at = None
        contact.save(
            update_fields=["consent_at", "consent_source", "unsubscribed_at", "updated_at"]
        )
        _contact, membership, _joined = subscribe(
            contact.email,
            contact_list,
            source=membership.source,
            source_detail=membership.source_detail,
            confirmed=True,
            now=now,
        )
    return membership


# --- Rate limit ----------------------------------------------------------------------------

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\w*\s*$")


def parse_rate(rate):
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


def client_ip(request):
    """The visitor's address as the web server saw it (behind a proxy, set REMOTE_ADDR right)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limited(request, scope="subscribe"):
    """Count one public signup post from this IP; True when it is over the limit.

    A fixed window in the default cache: with a per-process cache (LocMemCache)
    each process counts on its own, so use a shared cache in production.
    """
    try:
        rate = parse_rate(conf.get("SUBSCRIBE_RATE"))
    except ImproperlyConfigured:
        logger.error("Invalid WAGTAIL_MAILFLOW_SUBSCRIBE_RATE; signups are not rate limited")
        return False
    if rate is None:
        return False
    limit, period = rate
    ip_hash = hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]
    key = f"wagtail_mailflow:rate:{scope}:{ip_hash}:{int(time.time() // period)}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=period + 1)
        count = 1
    return count > limit


@checks.register()
def check_signup_settings(app_configs=None, **kwargs):
    """Report a malformed WAGTAIL_MAILFLOW_SUBSCRIBE_RATE or CONFIRM_MAX_AGE."""
    messages = []
    try:
        parse_rate(conf.get("SUBSCRIBE_RATE"))
    except ImproperlyConfigured as exc:
        messages.append(checks.Error(str(exc), id="wagtail_mailflow.E020"))
    max_age = conf.get("CONFIRM_MAX_AGE")
    if not isinstance(max_age, int | float) or isinstance(max_age, bool) or max_age <= 0:
        messages.append(
            checks.Error(
                "WAGTAIL_MAILFLOW_CONFIRM_MAX_AGE must be a number of seconds above 0.",
                id="wagtail_mailflow.E021",
            )
        )
    return messages
