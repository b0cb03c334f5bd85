"""The Python API for sites and tests: subscribe, update properties, unsubscribe.

Each call runs in one transaction and fires the triggers: a new list membership
enters the list's welcome workflows, a property change enters the contact-update
workflows whose condition it makes true. Immediate emails go out as soon as the
transaction commits.
"""

import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import signals
from .contact_fields import EDITABLE_FIELDS
from .engine.exits import ExitResult, unsubscribe_everywhere, unsubscribe_from_list
from .engine.triggers import contact_state, membership_started, properties_changed
from .models import (
    Contact,
    ContactList,
    Enrollment,
    ListMembership,
    clean_properties,
    normalize_email,
)
from .privacy import forget_do_not_contact, is_do_not_contact

Source = ListMembership.Source


def _get_list(contact_list: ContactList | int | str) -> ContactList:
    if isinstance(contact_list, ContactList):
        return contact_list
    try:
        if isinstance(contact_list, int):
            return ContactList.objects.get(pk=contact_list)
        return ContactList.objects.get(name=contact_list)
    except ContactList.DoesNotExist:
        raise ValidationError(
            _("There is no contact list '%(name)s'.") % {"name": contact_list}
        ) from None


def get_or_create_contact(email: str, **fields) -> tuple[Contact, bool]:
    """The contact with this address (any case), created if new; safe under concurrent calls."""
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            _("'%(email)s' is not a valid email address.") % {"email": email}, code="invalid"
        ) from None
    contact = Contact.objects.filter(email__iexact=email).first()
    if contact is not None:
        return contact, False
    try:
        with transaction.atomic():
            return Contact.objects.create(email=email, **fields), True
    except IntegrityError:  # created by a concurrent request in between
        return Contact.objects.get(email__iexact=email), False


def update_contact(
    contact: Contact,
    *,
    properties: dict | None = None,
    now: datetime.datetime | None = None,
    **fields,
) -> list[Enrollment]:
    """Merge ``properties`` (validated, coerced; None removes) and contact ``fields``; fire triggers.

    Returns the contact-update enrollments this change created.
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown contact fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        before = contact_state(contact)
        merged = dict(contact.properties or {})
        if properties:
            removed = {name for name, value in properties.items() if value is None}
            merged.update(clean_properties({k: v for k, v in properties.items() if v is not None}))
            for name in removed:
                merged.pop(name, None)
        changed_fields = [
            name
            for name, value in fields.items()
            if value is not None and getattr(contact, name) != value
        ]
        for name in changed_fields:
            setattr(contact, name, fields[name])
        if merged == contact.properties and not changed_fields:
            return []  # nothing changed: no work, no triggers
        contact.properties = merged
        contact.save(update_fields=["properties", "updated_at", *changed_fields])
        return properties_changed(contact, before, contact_state(contact), now=now)


def subscribe(
    email: str,
    contact_list: ContactList | int | str,
    *,
    properties: dict | None = None,
    source: str = Source.API,
    source_detail: str = "",
    confirmed: bool = False,
    now: datetime.datetime | None = None,
    **fields,
) -> tuple[Contact, ListMembership, bool]:
    """Subscribe an address to a list (creating the contact), with properties and the source.

    Returns ``(contact, membership, joined)`` where ``joined`` says whether this
    call started a membership (new, or back after leaving), which is what
    triggers welcome workflows. ``confirmed`` records double opt-in consent.

    An address erased after it unsubscribed from everything or was suppressed
    (a do-not-contact record, see :func:`wagtail_mailflow.privacy.is_do_not_contact`)
    is created unsubscribed from everything and ``joined`` is False: nothing is sent
    until the mailbox confirms. With ``confirmed`` (the mailbox did confirm) the
    record is deleted and the address subscribes as any other.
    """
    now = now or timezone.now()
    contact_list = _get_list(contact_list)
    if source not in Source.values:
        raise ValidationError(_("Unknown source '%(source)s'.") % {"source": source})
    cleaned = clean_properties(properties or {})  # validate before writing anything
    with transaction.atomic():
        contact, created = get_or_create_contact(
            email, **{k: v for k, v in fields.items() if v is not None}
        )
        # An erased address that had asked not to be mailed comes back unsubscribed from
        # everything: nothing is sent until its mailbox confirms (signup.confirm).
        held = created and not confirmed and is_do_not_contact(contact.email) is not None
        if held:
            contact.unsubscribed_at = now
            contact.save(update_fields=["unsubscribed_at", "updated_at"])
        elif confirmed:
            forget_do_not_contact(contact.email)
        if not created and (cleaned or any(v is not None for v in fields.values())):
            update_contact(contact, properties=cleaned, now=now, **fields)
        elif created and cleaned:
            contact.properties = cleaned
            contact.save(update_fields=["properties", "updated_at"])
        if (created and not held) or confirmed:
            contact.consent_at = contact.consent_at or now
            contact.consent_source = contact.consent_source or f"{source}:{source_detail}".rstrip(
                ":"
            )
            contact.save(update_fields=["consent_at", "consent_source", "updated_at"])
        membership, joined = _join(contact, contact_list, source, source_detail, confirmed, now)
        joined = joined and not held
        if joined:
            signals.contact_subscribed.send(sender=ListMembership, membership=membership)
            membership_started(membership, now=now)
    return contact, membership, joined


def _join(contact, contact_list, source, source_detail, confirmed, now):
    confirmed_at = now if confirmed else None
    try:
        with transaction.atomic():
            membership = ListMembership.objects.create(
                contact=contact,
                contact_list=contact_list,
                source=source,
                source_detail=source_detail[:255],
                joined_at=now,
                confirmed_at=confirmed_at,
            )
            return membership, True
    except IntegrityError:
        pass
    membership = ListMembership.objects.select_for_update().get(
        contact=contact, contact_list=contact_list
    )
    if membership.left_at is not None:
        membership.left_at = None
        membership.joined_at = now
        membership.source = source
        membership.source_detail = source_detail[:255]
        membership.confirmed_at = confirmed_at
        membership.save()
        return membership, True
    if confirmed and membership.confirmed_at is None:
        membership.confirmed_at = now
        membership.save(update_fields=["confirmed_at"])
        return membership, True  # confirming is when a double opt-in member really joins
    return membership, False


def unsubscribe(
    contact: Contact, contact_list: ContactList | int | str | None = None, *, source: str = "api"
) -> ExitResult:
    """Unsubscribe from one list (ending its enrollments there), or from everything."""
    if contact_list is None:
        return unsubscribe_everywhere(contact, source=source)
    return unsubscribe_from_list(contact, _get_list(contact_list), source=source)
