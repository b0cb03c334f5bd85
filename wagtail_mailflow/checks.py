"""Every system check of the package, registered when ``AppConfig.ready()`` imports this module.

Their ids, each used once (listed in docs/settings.md):

* ``E002`` no base URL for the links in emails (formerly the warning ``W001``: links are never
  built from a request's ``Host``); ``E001`` an unsafe ``Q_CLUSTER``.
* ``E020`` a malformed ``SUBSCRIBE_RATE``; ``E021`` a ``CONFIRM_MAX_AGE`` that is not a positive
  number; ``E022`` an ``ADAPTER`` that cannot be imported.
* ``E030`` a ``SEND_CONCURRENCY`` that is not a whole number from 1; ``E031`` a malformed
  ``SEND_RATE``.
* ``E101``–``E108`` a malformed ``USER_SYNC`` (``E106``, ``E107`` need the database).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import Error, Tags, register
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import DatabaseError
from django.utils.module_loading import import_string

from . import conf
from .adapter import DefaultAdapter
from .contact_fields import SYNCED_FIELDS
from .integrations.site_users import SETTING as USER_SYNC_SETTING
from .integrations.site_users import ConfigError, get_config
from .models import ContactList, ContactProperty
from .rate_limit import parse_rate


@register()
def check_settings(app_configs=None, **kwargs):
    """Report settings that would make emails unsendable or unsafe."""
    messages = []
    if not conf.base_url():
        messages.append(
            Error(
                "Neither WAGTAIL_MAILFLOW_BASE_URL nor WAGTAILADMIN_BASE_URL is set.",
                hint=(
                    "Emails need absolute URLs for unsubscribe and confirmation links and "
                    "images; they are never taken from a request's Host header. Set "
                    "WAGTAIL_MAILFLOW_BASE_URL = 'https://www.example.com'."
                ),
                id="wagtail_mailflow.E002",
            )
        )
    q = getattr(settings, "Q_CLUSTER", None)
    if isinstance(q, dict):
        timeout = q.get("timeout")
        retry = q.get("retry", 60)
        if timeout is not None and retry is not None and retry <= timeout + 3:
            messages.append(
                Error(
                    f"Q_CLUSTER['retry'] ({retry}) must be greater than Q_CLUSTER['timeout'] "
                    f"({timeout}) + 3 seconds.",
                    hint="Otherwise django-q2 hands a still-running task to a second worker.",
                    id="wagtail_mailflow.E001",
                )
            )
    return messages


# --- Sending speed ------------------------------------------------------------------------


@register()
def check_sending_settings(app_configs=None, **kwargs):
    """Report a SEND_CONCURRENCY that is not a whole number from 1, or a malformed SEND_RATE."""
    messages = []
    concurrency = conf.get("SEND_CONCURRENCY")
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        messages.append(
            Error(
                f"WAGTAIL_MAILFLOW_SEND_CONCURRENCY must be a whole number from 1 up, "
                f"not {concurrency!r}.",
                hint="1 sends one email after the other; 16 to 64 suits an HTTP API ESP.",
                id="wagtail_mailflow.E030",
            )
        )
    try:
        conf.parse_rate(conf.get("SEND_RATE"), "SEND_RATE")
    except ImproperlyConfigured as exc:
        messages.append(
            Error(
                str(exc),
                hint="For example '14/s' for an Amazon SES quota of 14 a second, or "
                "'100000/d'; None sends as fast as the ESP answers.",
                id="wagtail_mailflow.E031",
            )
        )
    return messages


# --- Public signup -------------------------------------------------------------------------


@register()
def check_signup_settings(app_configs=None, **kwargs):
    """Report a malformed WAGTAIL_MAILFLOW_SUBSCRIBE_RATE, CONFIRM_MAX_AGE or ADAPTER."""
    messages = []
    try:
        parse_rate(conf.get("SUBSCRIBE_RATE"))
    except ImproperlyConfigured as exc:
        messages.append(Error(str(exc), id="wagtail_mailflow.E020"))
    max_age = conf.get("CONFIRM_MAX_AGE")
    if not isinstance(max_age, int | float) or isinstance(max_age, bool) or max_age <= 0:
        messages.append(
            Error(
                "WAGTAIL_MAILFLOW_CONFIRM_MAX_AGE must be a number of seconds above 0.",
                id="wagtail_mailflow.E021",
            )
        )
    path = conf.get("ADAPTER")
    try:
        adapter = import_string(path)
    except ImportError as exc:
        messages.append(
            Error(
                f"WAGTAIL_MAILFLOW_ADAPTER {path!r} cannot be imported: {exc}",
                hint="Give the dotted path of a subclass of "
                "wagtail_mailflow.adapter.DefaultAdapter.",
                id="wagtail_mailflow.E022",
            )
        )
    else:
        if not (isinstance(adapter, type) and issubclass(adapter, DefaultAdapter)):
            messages.append(
                Error(
                    f"WAGTAIL_MAILFLOW_ADAPTER {path!r} is not a subclass of "
                    "wagtail_mailflow.adapter.DefaultAdapter.",
                    id="wagtail_mailflow.E022",
                )
            )
    return messages


# --- Site users (WAGTAIL_MAILFLOW_USER_SYNC) -------------------------------------------------


def _user_sync_error(msg, id_, hint=None):
    return Error(f"{USER_SYNC_SETTING}: {msg}", hint=hint, id=f"wagtail_mailflow.{id_}")


def _check_path(model, what, target, attribute, errors):
    try:
        model._meta.get_field(attribute)
        return
    except FieldDoesNotExist:
        pass
    if hasattr(model, attribute):  # a property or method
        return
    errors.append(
        _user_sync_error(
            f"{what} → {target!r}: {model._meta.label} has no field {attribute!r}.",
            "E104",
            hint="Use a field of the user model, or 'profile.<field>' for the profile model.",
        )
    )


@register()
def check_user_sync(app_configs=None, **kwargs):
    """Report a malformed WAGTAIL_MAILFLOW_USER_SYNC: models, field paths, contact fields."""
    try:
        config = get_config()
    except ConfigError as exc:
        msg = str(exc)
        id_ = "E102" if msg.startswith("profile_model") else "E101"
        hint = "Give it as 'app_label.ModelName'." if id_ == "E102" else None
        return [_user_sync_error(msg, id_, hint)]
    if config is None:
        return []
    errors = []
    user_model = get_user_model()
    if (config.profile_fields or config.profile_properties) and config.profile_model is None:
        errors.append(
            _user_sync_error(
                "'profile.…' paths need 'profile_model'.",
                "E108",
                hint="Set 'profile_model' to 'app_label.ModelName'.",
            )
        )
    if config.profile_model is not None:
        try:
            link = config.profile_model._meta.get_field(config.profile_user_field)
            if getattr(link, "related_model", None) is not user_model or link.many_to_many:
                raise FieldDoesNotExist
        except FieldDoesNotExist:
            errors.append(
                _user_sync_error(
                    f"{config.profile_model._meta.label}.{config.profile_user_field} is not a "
                    "ForeignKey or OneToOneField to the user model.",
                    "E103",
                    hint="Set 'profile_user_field' to the profile's link to the user.",
                )
            )
    for target in [*config.user_fields, *config.profile_fields]:
        if target not in SYNCED_FIELDS:
            errors.append(
                _user_sync_error(
                    f"'fields' → {target!r} is not a contact field.",
                    "E105",
                    hint=f"Contact fields: {', '.join(SYNCED_FIELDS)}; map other values "
                    "to properties.",
                )
            )
    for what, mapping in (("fields", config.user_fields), ("properties", config.user_properties)):
        for target, attribute in mapping.items():
            _check_path(user_model, what, target, attribute, errors)
    if config.profile_model is not None:
        for what, mapping in (
            ("fields", config.profile_fields),
            ("properties", config.profile_properties),
        ):
            for target, attribute in mapping.items():
                _check_path(config.profile_model, what, target, attribute, errors)
    return errors


@register(Tags.database)
def check_user_sync_database(app_configs=None, databases=None, **kwargs):
    """Report mapped properties and a signup list that do not exist (needs the database)."""
    if not databases:
        return []
    try:
        config = get_config()
    except ConfigError:
        return []  # reported by check_user_sync
    if config is None:
        return []
    errors = []
    names = {*config.user_properties, *config.profile_properties}
    try:
        known = set(ContactProperty.objects.filter(name__in=names).values_list("name", flat=True))
        list_exists = (
            config.signup_list is None
            or ContactList.objects.filter(name=config.signup_list).exists()
        )
    except DatabaseError:
        return []  # not migrated yet
    for name in sorted(names - known):
        errors.append(
            _user_sync_error(
                f"'properties' → {name!r} is not a contact property.",
                "E106",
                hint="Create it under Mail automation › Contact properties.",
            )
        )
    if not list_exists:
        errors.append(
            _user_sync_error(
                f"'signup_list' {config.signup_list!r} is not a contact list.",
                "E107",
                hint="Create the list under Mail automation › Lists, or set it to None.",
            )
        )
    return errors
