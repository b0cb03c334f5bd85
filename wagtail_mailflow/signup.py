"""Signups from the public site: form pages and the subscribe form share this path.

:func:`subscribe_visitor` subscribes an address through :func:`wagtail_mailflow.api.subscribe`
(which starts the list's welcome workflows). On a double opt-in list the new
membership waits unconfirmed and the visitor is sent a confirmation email (built
and sent by the site's adapter) with a signed, expiring link; :func:`confirm` (the
link's POST) confirms it, records the consent and only then starts the welcome
workflows.

A visitor is a stranger until the mailbox answers. For an address already known, a
signup only fills what is missing (an empty name, a property not set): it never
changes what the person, an import or an editor set. And it never undoes an
unsubscribe, from the list or from everything: the address is sent a confirmation
email, on any list, and it rejoins only when the link is confirmed
(:func:`needs_mailbox_proof`). The visitor sees the same "check your inbox" either way.

Links in confirmation emails are built from the configured base URL, or the root URL of
the Wagtail site the visitor signed up on; never from a request's ``Host`` header.
"""

import datetime
import logging
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from wagtail.models import Site

from . import conf
from .adapter import get_adapter
from .api import subscribe, update_contact
from .contact_fields import MAPPABLE_FIELDS, MAX_LENGTHS
from .models import (
    Contact,
    ContactList,
    ContactProperty,
    ListMembership,
    clean_properties,
    normalize_email,
)
from .tokens import ConfirmationRef, confirm_path

logger = logging.getLogger(__name__)


@dataclass
class Signup:
    """What a public signup did: the contact, its membership, and whether an email went out."""

    contact: Contact
    membership: ListMembership
    joined: bool
    confirmation_sent: bool = False


def split_values(
    values: dict[str, Any], definitions: dict[str, ContactProperty] | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
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
    if name == "language" and not conf.is_site_language(value):
        logger.warning("Signup: skipped language %r (not in LANGUAGES)", value)
        return None
    if name == "timezone":
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            logger.warning("Signup: skipped timezone %r (unknown)", value)
            return None
    return value[: MAX_LENGTHS[name]]


def only_missing(
    contact: Contact, fields: dict[str, str], properties: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The part of a stranger's answers that fills what ``contact`` lacks; the rest is dropped."""
    stored = contact.properties or {}
    return (
        {name: value for name, value in fields.items() if not getattr(contact, name)},
        {
            name: value
            for name, value in properties.items()
            if stored.get(name) in (None, "", [], ())
        },
    )


def needs_mailbox_proof(contact: Contact, membership: ListMembership | None) -> bool:
    """Whether joining takes a confirmation from the mailbox: the person unsubscribed before.

    From this list (a membership that was left) or from everything. A stranger's
    signup never undoes that; only the confirmation link sent to the address does.
    """
    return contact.unsubscribed_at is not None or (
        membership is not None and membership.left_at is not None
    )


def awaits_confirmation(membership: ListMembership) -> bool:
    """Whether confirming ``membership`` would change anything (the link, the email, the page).

    An unconfirmed membership of a double opt-in list, a membership that was left, or
    any membership of a contact unsubscribed from everything.
    """
    return (
        membership.left_at is not None
        or membership.contact.unsubscribed_at is not None
        or (membership.contact_list.double_opt_in and membership.confirmed_at is None)
    )


def subscribe_visitor(
    email: str,
    contact_list: ContactList,
    *,
    source: str,
    source_detail: str = "",
    values: dict[str, Any] | None = None,
    language: str | None = None,
    site: Site | None = None,
    now: datetime.datetime | None = None,
) -> Signup:
    """Subscribe ``email`` from a public form; email a confirmation link when one is needed.

    ``values`` maps contact fields or property names to the visitor's answers
    (see :func:`split_values`); for a known address only what it lacks is kept
    (:func:`only_missing`). A confirmation link goes out on a double opt-in list,
    and on any list when the address unsubscribed before (:func:`needs_mailbox_proof`).
    ``site`` is the Wagtail site signed up on (its root URL is the links' fallback
    when no base URL is configured). Raises ``ValidationError`` only for an invalid
    address. The confirmation email goes out once the transaction commits, and is
    sent again when an address that never confirmed signs up again.
    """
    now = now or timezone.now()
    fields, properties = split_values(values or {})
    with transaction.atomic():
        known = Contact.objects.filter(email__iexact=normalize_email(email)).first()
        if known is not None:
            fields, properties = only_missing(known, fields, properties)
            membership = ListMembership.objects.filter(
                contact=known, contact_list=contact_list
            ).first()
            if needs_mailbox_proof(known, membership):
                return _ask_mailbox(
                    known,
                    contact_list,
                    membership,
                    fields,
                    properties,
                    source,
                    source_detail,
                    language=language,
                    site=site,
                    now=now,
                )
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
        if not awaits_confirmation(membership):
            return signup
        if contact.consent_at == now and not contact.consent_source.startswith("double-opt-in"):
            # Consent on a double opt-in list is given by confirming, not by filling a form.
            contact.consent_at, contact.consent_source = None, ""
            contact.save(update_fields=["consent_at", "consent_source", "updated_at"])
        signup.confirmation_sent = _send_after_commit(contact, membership, language, site)
    return signup


def _ask_mailbox(
    contact, contact_list, membership, fields, properties, source, detail, *, language, site, now
):
    """A known address that unsubscribed: fill what it lacks, change no membership, send a link.

    An address that never was on this list gets an unconfirmed membership (it joins
    nothing while the contact is unsubscribed; confirming starts it); a membership
    that was left stays left until the link is confirmed.
    """
    if fields or properties:
        update_contact(contact, properties=properties, now=now, **fields)
    if membership is None:
        membership, _created = ListMembership.objects.get_or_create(
            contact=contact,
            contact_list=contact_list,
            defaults={"source": source, "source_detail": detail[:255], "joined_at": now},
        )
    signup = Signup(contact, membership, joined=False)
    signup.confirmation_sent = _send_after_commit(contact, membership, language, site)
    return signup


def _send_after_commit(contact, membership, language, site):
    if contact.suppressed_at is not None:
        return False
    language = language or translation.get_language()
    transaction.on_commit(lambda: send_confirmation(membership.pk, language=language, site=site))
    return True


def link_base_url(site: Site | None = None) -> str:
    """Scheme and host of the links in confirmation emails, without a trailing slash.

    The configured base URL (``WAGTAIL_MAILFLOW_BASE_URL`` or ``WAGTAILADMIN_BASE_URL``;
    system check ``E002`` when neither is set); without one, the root URL of ``site`` or
    of the default Wagtail site, both from the site's own configuration. Never the
    request's ``Host`` header, which a visitor chooses. '' when none is known.
    """
    configured = conf.base_url()
    if configured:
        return configured
    site = site or Site.objects.filter(is_default_site=True).first()
    return site.root_url.rstrip("/") if site is not None else ""


def _email_language(contact, language):
    for code in (contact.language, language):
        if conf.is_site_language(code):
            return code
    return settings.LANGUAGE_CODE


def send_confirmation(
    membership_id: int, *, language: str | None = None, site: Site | None = None
) -> bool:
    """Email the confirmation link of a membership that awaits one; True if a message went out.

    Runs after the signup's transaction commits. The adapter builds and sends the
    email. A sending failure is logged, never shown to the visitor: they can sign
    up again to get a new link. Without any base URL (see :func:`link_base_url`)
    nothing is sent and an error is logged.
    """
    membership = (
        ListMembership.objects.select_related("contact", "contact_list")
        .filter(pk=membership_id)
        .first()
    )
    if (
        membership is None
        or membership.contact.suppressed_at is not None
        or not awaits_confirmation(membership)
    ):
        return False
    base = link_base_url(site)
    if not base:
        logger.error(
            "Confirmation email of membership %s not sent: no base URL for its link "
            "(set WAGTAIL_MAILFLOW_BASE_URL)",
            membership_id,
        )
        return False
    language = _email_language(membership.contact, language)
    with translation.override(language):
        path = confirm_path(membership.contact_id, membership.contact_list_id, language)
        confirm_url = base + path
        try:
            get_adapter().send_confirmation_email(
                membership, confirm_url=confirm_url, language=language
            )
        except Exception:
            logger.exception(
                "Could not send the confirmation email of membership %s", membership_id
            )
            return False
    return True


def link_outdated(ref: ConfirmationRef, membership: ListMembership) -> bool:
    """Whether the person unsubscribed after this link was sent: then it confirms nothing.

    A link proves the mailbox wanted the list when it was sent; an unsubscribe
    since (from the list or from everything) is the person's later word.
    """
    if ref.issued_at is None:
        return False
    # Token times are whole seconds: an unsubscribe in the same second as the link predates it.
    after = ref.issued_at + datetime.timedelta(seconds=1)
    left = membership.left_at
    unsubscribed = membership.contact.unsubscribed_at
    return (left is not None and left >= after) or (
        unsubscribed is not None and unsubscribed >= after
    )


def confirm(
    contact: Contact, contact_list: ContactList, *, now: datetime.datetime | None = None
) -> ListMembership:
    """Confirm a membership through its link: consent is recorded, welcome workflows start.

    Confirming is the visitor's own proven consent, so it also lifts an earlier
    unsubscribe, from this list or from everything (never a suppression). Returns the
    membership.
    """
    now = now or timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        membership = ListMembership.objects.select_related("contact_list").get(
            contact=contact, contact_list=contact_list
        )
        membership.contact = contact
        if not awaits_confirmation(membership):
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
