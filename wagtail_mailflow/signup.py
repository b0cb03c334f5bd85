"""Signups from the public site: form pages and the subscribe form share this path.

:func:`subscribe_visitor` subscribes an address through :func:`wagtail_mailflow.api.subscribe`
(which starts the list's welcome workflows). On a double opt-in list the new
membership waits unconfirmed and the visitor is sent a confirmation email (built
and sent by the site's adapter) with a signed, expiring link; :func:`confirm` (the
link's POST) confirms it, records the consent and only then starts the welcome
workflows.
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

from . import conf
from .adapter import get_adapter
from .api import subscribe
from .contact_fields import MAPPABLE_FIELDS, MAX_LENGTHS
from .models import Contact, ContactList, ContactProperty, ListMembership, clean_properties
from .tokens import confirm_path

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


def subscribe_visitor(
    email: str,
    contact_list: ContactList,
    *,
    source: str,
    source_detail: str = "",
    values: dict[str, Any] | None = None,
    language: str | None = None,
    base_url: str | None = None,
    now: datetime.datetime | None = None,
) -> Signup:
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


def _email_language(contact, language):
    for code in (contact.language, language):
        if conf.is_site_language(code):
            return code
    return settings.LANGUAGE_CODE


def send_confirmation(
    membership_id: int, *, language: str | None = None, base_url: str | None = None
) -> bool:
    """Email the confirmation link for one unconfirmed membership; True if a message went out.

    Runs after the signup's transaction commits. The adapter builds and sends the
    email. A sending failure is logged, never shown to the visitor: they can sign
    up again to get a new link.
    """
    membership = (
        ListMembership.objects.select_related("contact", "contact_list")
        .filter(pk=membership_id, left_at__isnull=True, confirmed_at__isnull=True)
        .first()
    )
    if membership is None or membership.contact.suppressed_at is not None:
        return False
    language = _email_language(membership.contact, language)
    with translation.override(language):
        path = confirm_path(membership.contact_id, membership.contact_list_id, language)
        confirm_url = (conf.base_url() or (base_url or "").rstrip("/")) + path
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


def confirm(
    contact: Contact, contact_list: ContactList, *, now: datetime.datetime | None = None
) -> ListMembership:
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
