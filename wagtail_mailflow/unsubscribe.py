"""Signed unsubscribe tokens and the links that carry them.

A token is ``<contact id>-<list id>.<signature>``: the signature (HMAC-SHA256
keyed with ``SECRET_KEY`` and a salt of this package) covers both ids, so a
token for one contact cannot be edited into another's, nor into another list.
Tokens never expire: the law asks for links that work for 30 days at least,
and an old email should unsubscribe as well as a new one. Keys listed in
``SECRET_KEY_FALLBACKS`` still verify, so rotating ``SECRET_KEY`` does not
break the links already in inboxes.
"""

from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from . import conf

SALT = "wagtail_mailflow.unsubscribe"
SEP = "."


class InvalidToken(ValueError):
    """The token was altered, truncated or signed with a key this site does not know."""


def _signer():
    # Built at call time so that SECRET_KEY / SECRET_KEY_FALLBACKS changes are honoured.
    return signing.Signer(salt=SALT, sep=SEP, algorithm="sha256")


def _value(contact_id, list_id):
    return f"{int(contact_id)}-{'' if list_id is None else int(list_id)}"


def make_token(contact_id, list_id=None):
    """A signed token for unsubscribing ``contact_id`` from ``list_id`` (None: from every list)."""
    return _signer().sign(_value(contact_id, list_id))


def read_token(token):
    """Return ``(contact_id, list_id)`` from a token; raise ``InvalidToken`` when it was forged."""
    try:
        value = _signer().unsign(token or "")
    except signing.BadSignature:
        raise InvalidToken(_("The unsubscribe link is invalid or was altered.")) from None
    contact_part, dash, list_part = value.partition("-")
    if not dash or not contact_part.isdigit() or not (list_part == "" or list_part.isdigit()):
        # Only a key holder can sign, so this means a token from something else we signed.
        raise InvalidToken(_("The unsubscribe link is malformed."))
    return int(contact_part), int(list_part) if list_part else None


def unsubscribe_path(contact_id, list_id=None):
    """The site-relative path of the unsubscribe page for this contact and list."""
    return reverse("wagtail_mailflow:unsubscribe", args=[make_token(contact_id, list_id)])


def unsubscribe_url(contact_id, list_id=None):
    """The absolute unsubscribe URL (``WAGTAIL_MAILFLOW_BASE_URL`` + path) for emails."""
    return conf.base_url() + unsubscribe_path(contact_id, list_id)


def unsubscribe_url_maker():
    """A function ``(contact_id, list_id) -> URL`` equal to :func:`unsubscribe_url`, for a batch.

    The URL pattern is reversed and the signer built once; each call only signs
    the token. Tokens hold URL-safe characters only (digits, ``-``, ``.``,
    base64url), which ``reverse`` leaves as they are, so the result is the same
    string.
    """
    prefix, _token, suffix = unsubscribe_url(0, 0).partition(make_token(0, 0))
    sign = _signer().sign

    def make_url(contact_id, list_id=None):
        return prefix + sign(_value(contact_id, list_id)) + suffix

    return make_url
