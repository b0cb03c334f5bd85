"""Site users as contacts: registrations create (and may subscribe) contacts, saves sync them.

Configured by ``WAGTAIL_MAILFLOW_USER_SYNC`` (see ``docs/site-users.md``)::

    WAGTAIL_MAILFLOW_USER_SYNC = {
        # contact field -> path on the user ("name") or on its profile ("profile.name")
        "fields": {"first_name": "first_name", "last_name": "last_name"},
        # contact property -> path
        "properties": {"city": "profile.city", "points": "profile.loyalty_points"},
        # list every new user with an email joins (source "user"), or None
        "signup_list": "Newsletter",
        # optional profile model and its ForeignKey / OneToOneField to the user
        "profile_model": "accounts.Profile",
        "profile_user_field": "user",
    }

* A **new user** with an email address gets a contact (an existing contact with
  that address is linked instead) once the registering transaction commits, so
  the profile saved in the same transaction is read too; with ``signup_list``
  the contact joins that list through :func:`wagtail_mailflow.api.subscribe`,
  which starts the list's welcome workflows.
* A **save** of a linked user or of its profile updates the mapped contact
  fields and properties through :func:`wagtail_mailflow.api.update_contact`,
  which starts the contact-update workflows whose condition became true. A
  save that changes no mapped value costs one query (reading the contact) and
  writes nothing; a ``save(update_fields=...)`` that touches no mapped field
  costs none.
* A user who **changes their email** moves their contact to the new address,
  unless another contact already has it (then the contact keeps its address
  and a warning is logged).

Users who existed before the setting was added are not contacts until
:func:`sync_user` is called for them.
"""

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction

from .. import conf
from ..api import Source, get_or_create_contact, update_contact
from ..api import subscribe as subscribe_to
from ..contact_fields import SYNCED_FIELDS
from ..models import Contact, ContactProperty, normalize_email

logger = logging.getLogger(__name__)

SETTING = "WAGTAIL_MAILFLOW_USER_SYNC"
KEYS = {"fields", "properties", "signup_list", "profile_model", "profile_user_field"}
PROFILE_PREFIX = "profile."


class ConfigError(ValueError):
    """The setting is malformed; the system check ``check_user_sync`` reports the details."""


@dataclass
class UserSync:
    """The parsed setting: what to copy from the user and from its profile."""

    user_fields: dict = field(default_factory=dict)  # contact field -> user attribute
    user_properties: dict = field(default_factory=dict)  # property -> user attribute
    profile_fields: dict = field(default_factory=dict)
    profile_properties: dict = field(default_factory=dict)
    signup_list: str | None = None
    profile_model: type | None = None
    profile_user_field: str = "user"

    @property
    def user_attributes(self):
        """The user attributes whose change matters (the email always does)."""
        return {"email", *self.user_fields.values(), *self.user_properties.values()}

    def get_profile(self, user):
        """The user's profile, or None."""
        if self.profile_model is None or user.pk is None:
            return None
        return self.profile_model._default_manager.filter(
            **{self.profile_user_field: user.pk}
        ).first()

    def profile_user_id(self, profile):
        attname = self.profile_model._meta.get_field(self.profile_user_field).attname
        return getattr(profile, attname)


def _split(mapping, what):
    if mapping is None:
        return {}, {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"'{what}' must be a dict")
    on_user, on_profile = {}, {}
    for target, path in mapping.items():
        if not isinstance(path, str) or not path:
            raise ConfigError(f"'{what}' → {target!r}: the path must be a non-empty string")
        if path.startswith(PROFILE_PREFIX):
            on_profile[target] = path[len(PROFILE_PREFIX) :]
        else:
            on_user[target] = path
    return on_user, on_profile


def get_config() -> UserSync | None:
    """The parsed ``WAGTAIL_MAILFLOW_USER_SYNC``, or None when the setting is absent."""
    raw = conf.get("USER_SYNC")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{SETTING} must be a dict")
    unknown = set(raw) - KEYS
    if unknown:
        raise ConfigError(f"unknown keys {', '.join(sorted(unknown))}")
    user_fields, profile_fields = _split(raw.get("fields"), "fields")
    user_properties, profile_properties = _split(raw.get("properties"), "properties")
    profile_model = None
    if raw.get("profile_model"):
        try:
            profile_model = apps.get_model(raw["profile_model"])
        except (LookupError, ValueError) as exc:
            raise ConfigError(f"profile_model {raw['profile_model']!r}: {exc}") from None
    return UserSync(
        user_fields=user_fields,
        user_properties=user_properties,
        profile_fields=profile_fields,
        profile_properties=profile_properties,
        signup_list=raw.get("signup_list") or None,
        profile_model=profile_model,
        profile_user_field=raw.get("profile_user_field") or "user",
    )


def _read(obj, attribute):
    value = getattr(obj, attribute, None)
    return value() if callable(value) else value


def _field_value(value):
    """A mapped value as a contact's CharField holds it."""
    return "" if value is None else str(value)


def _property_value(value):
    """A mapped value in the JSON form properties are stored in (for cheap comparisons)."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if value == "":
        return None
    return value


def read_values(
    obj, fields_map: dict[str, str], properties_map: dict[str, str]
) -> tuple[dict[str, str], dict]:
    """The contact fields and properties ``obj`` maps to (obj may be None: all unset)."""
    fields = {
        name: _field_value(_read(obj, attr) if obj is not None else None)
        for name, attr in fields_map.items()
    }
    properties = {
        name: _property_value(_read(obj, attr) if obj is not None else None)
        for name, attr in properties_map.items()
    }
    return fields, properties


def _changes(contact, fields, properties):
    """The subset of ``fields`` / ``properties`` that differ from what ``contact`` holds."""
    changed_fields = {k: v for k, v in fields.items() if getattr(contact, k) != v}
    stored = contact.properties or {}
    changed_properties = {k: v for k, v in properties.items() if stored.get(k) != v}
    return changed_fields, changed_properties


def _valid_properties(values):
    """Drop (and log) mapped values that the property's type refuses, so the rest still syncs."""
    if not values:
        return {}
    definitions = {p.name: p for p in ContactProperty.objects.filter(name__in=list(values))}
    valid = {}
    for name, value in values.items():
        prop = definitions.get(name)
        if prop is None:
            logger.warning("User sync: contact property %r does not exist; skipped", name)
            continue
        try:
            valid[name] = prop.coerce(value) if value is not None else None
        except ValidationError as exc:
            logger.warning("User sync: %s skipped (%s)", name, "; ".join(exc.messages))
    return valid


def _apply(contact, fields, properties):
    """Write what changed through the API (which fires contact-update triggers)."""
    fields = {k: v for k, v in fields.items() if k in SYNCED_FIELDS}  # others: check E105
    fields, properties = _changes(contact, fields, properties)
    properties = _valid_properties(properties)
    if not fields and not properties:
        return []
    return update_contact(contact, properties=properties or None, **fields)


def _move_email(contact, email):
    """Give ``contact`` the user's new address unless it is invalid or another contact's."""
    email = normalize_email(email)
    if not email or email == contact.email:
        return
    try:
        validate_email(email)
    except ValidationError:
        logger.warning(
            "User sync: contact %s keeps its address; the new one is invalid", contact.pk
        )
        return
    if Contact.objects.filter(email__iexact=email).exclude(pk=contact.pk).exists():
        logger.warning(
            "User sync: contact %s keeps its address; another contact already has the new one",
            contact.pk,
        )
        return
    try:
        with transaction.atomic():
            Contact.objects.filter(pk=contact.pk).update(email=email)
    except IntegrityError:  # taken in between
        logger.warning("User sync: contact %s keeps its address (taken meanwhile)", contact.pk)
        return
    contact.email = email


def sync_user(user, *, subscribe: bool = True) -> Contact | None:
    """Create or link the contact of ``user``, copy the mapped values, join the signup list.

    Returns the contact, or None when the user has no valid email address or the
    setting is absent. Safe to call again: an existing contact is updated, and a
    contact that is, or ever was, on the signup list (or unsubscribed from
    everything) is not subscribed again.
    """
    config = get_config()
    email = normalize_email(getattr(user, "email", "") or "")
    if config is None or not email:
        return None
    try:
        validate_email(email)
    except ValidationError:
        logger.info("User sync: user %s has an invalid address; no contact", user.pk)
        return None
    fields, properties = read_values(user, config.user_fields, config.user_properties)
    profile = config.get_profile(user)
    profile_fields, profile_properties = read_values(
        profile, config.profile_fields, config.profile_properties
    )
    fields.update(profile_fields)
    properties.update(profile_properties)
    with transaction.atomic():
        contact = Contact.objects.filter(user=user).first()
        if contact is None:
            contact, _created = get_or_create_contact(email)
            if contact.user_id is None:
                contact.user = user
                contact.save(update_fields=["user", "updated_at"])
            elif contact.user_id != user.pk:
                logger.warning(
                    "User sync: contact %s belongs to user %s; not linked to user %s",
                    contact.pk,
                    contact.user_id,
                    user.pk,
                )
        _apply(contact, fields, properties)
        # Never re-subscribe someone who left the list or unsubscribed from everything.
        if (
            subscribe
            and config.signup_list
            and contact.unsubscribed_at is None
            and not contact.memberships.filter(contact_list__name=config.signup_list).exists()
        ):
            contact, membership, joined = subscribe_to(
                contact.email,
                config.signup_list,
                source=Source.USER,
                source_detail="registration",
            )
            if joined and contact.consent_at is None:  # the contact predates the registration
                contact.consent_at = membership.joined_at
                contact.consent_source = f"{Source.USER}:registration"
                contact.save(update_fields=["consent_at", "consent_source", "updated_at"])
    return contact


def _run_registration(user_pk):
    user = get_user_model()._default_manager.filter(pk=user_pk).first()
    if user is None:
        return
    try:
        sync_user(user)
    except (ValidationError, DatabaseError):
        # A misconfigured list must not turn a registration into an error page.
        logger.exception("User sync: could not create the contact of user %s", user_pk)


def handle_user_save(user, *, created: bool, update_fields=None) -> None:
    """A user was saved: a registration syncs on commit, a change of a mapped value at once."""
    config = get_config()
    if config is None:
        return
    if created:
        if user.email:
            transaction.on_commit(lambda pk=user.pk: _run_registration(pk))
        return
    if update_fields is not None and not (set(update_fields) & config.user_attributes):
        return  # e.g. last_login on every login: nothing to look at
    contact = Contact.objects.filter(user_id=user.pk).first()
    if contact is None:
        return
    if user.email:
        _move_email(contact, user.email)
    fields, properties = read_values(user, config.user_fields, config.user_properties)
    _apply(contact, fields, properties)


def handle_profile_save(profile) -> None:
    """A profile was saved: copy its mapped values to the user's contact."""
    config = get_config()
    if config is None or config.profile_model is None:
        return
    if not (config.profile_fields or config.profile_properties):
        return
    user_id = config.profile_user_id(profile)
    if user_id is None:
        return
    # Before the registration commits there is no contact yet: the registration reads the profile.
    contact = Contact.objects.filter(user_id=user_id).first()
    if contact is None:
        return
    fields, properties = read_values(profile, config.profile_fields, config.profile_properties)
    _apply(contact, fields, properties)
