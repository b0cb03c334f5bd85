"""Every value the product signs: unsubscribe tokens, double opt-in confirmation tokens and the
subscribe form's hidden configuration, all built by :func:`signer`.

Each kind has a salt of its own, so a token of one kind never verifies as another.
Signatures are HMAC-SHA256 keyed with ``SECRET_KEY``; keys listed in
``SECRET_KEY_FALLBACKS`` still verify, so rotating ``SECRET_KEY`` does not break the
links already in inboxes. Signers are built at call time so that changes to those
settings (and ``override_settings`` in tests) are honoured.

* **Unsubscribe** tokens are ``<contact id>-<list id>.<signature>``: the signature
  covers both ids, so a token for one contact cannot be edited into another's, nor
  into another list. They never expire: the law asks for links that work for 30 days
  at least, and an old email should unsubscribe as well as a new one.
* **Confirmation** tokens are ``<contact id>-<list id>-<language>`` signed with a
  timestamp, valid for ``WAGTAIL_MAILFLOW_CONFIRM_MAX_AGE`` seconds.
* **Subscribe form** configurations name the list, extra fields, consent text and
  thank-you address a site's template rendered, so a post can only subscribe to the
  list its form offered.
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from . import conf

UNSUBSCRIBE_SALT = "wagtail_mailflow.unsubscribe"
CONFIRM_SALT = "wagtail_mailflow.confirm"
FORM_SALT = "wagtail_mailflow.subscribe-form"
#: Separator of unsubscribe and confirmation tokens: URL-safe, unlike the default ":".
SEP = "."

_CONFIRM_RE = re.compile(r"(\d+)-(\d+)-([A-Za-z-]{0,12})")
_LANGUAGE_RE = re.compile(r"[A-Za-z-]{0,12}")


def signer(salt: str, *, timestamped: bool = False, sep: str = SEP) -> signing.Signer:
    """The signer of one kind of value (HMAC-SHA256, ``SECRET_KEY`` and its fallbacks)."""
    cls = signing.TimestampSigner if timestamped else signing.Signer
    return cls(salt=salt, sep=sep, algorithm="sha256")


# --- Unsubscribe -------------------------------------------------------------------------


class InvalidToken(ValueError):
    """The token was altered, truncated or signed with a key this site does not know."""


def _unsubscribe_value(contact_id, list_id):
    return f"{int(contact_id)}-{'' if list_id is None else int(list_id)}"


def make_token(contact_id: int, list_id: int | None = None) -> str:
    """A signed token for unsubscribing ``contact_id`` from ``list_id`` (None: from every list)."""
    return signer(UNSUBSCRIBE_SALT).sign(_unsubscribe_value(contact_id, list_id))


def read_token(token: str) -> tuple[int, int | None]:
    """Return ``(contact_id, list_id)`` from a token; raise ``InvalidToken`` when it was forged."""
    try:
        value = signer(UNSUBSCRIBE_SALT).unsign(token or "")
    except signing.BadSignature:
        raise InvalidToken(_("The unsubscribe link is invalid or was altered.")) from None
    contact_part, dash, list_part = value.partition("-")
    if not dash or not contact_part.isdigit() or not (list_part == "" or list_part.isdigit()):
        # Only a key holder can sign, so this means a token from something else we signed.
        raise InvalidToken(_("The unsubscribe link is malformed."))
    return int(contact_part), int(list_part) if list_part else None


def unsubscribe_path(contact_id: int, list_id: int | None = None) -> str:
    """The site-relative path of the unsubscribe page for this contact and list."""
    return reverse("wagtail_mailflow:unsubscribe", args=[make_token(contact_id, list_id)])


def unsubscribe_url(contact_id: int, list_id: int | None = None) -> str:
    """The absolute unsubscribe URL (``WAGTAIL_MAILFLOW_BASE_URL`` + path) for emails."""
    return conf.base_url() + unsubscribe_path(contact_id, list_id)


def unsubscribe_url_maker() -> Callable[..., str]:
    """A function ``(contact_id, list_id) -> URL`` equal to :func:`unsubscribe_url`, for a batch.

    The URL pattern is reversed and the signer built once; each call only signs
    the token. Tokens hold URL-safe characters only (digits, ``-``, ``.``,
    base64url), which ``reverse`` leaves as they are, so the result is the same
    string.
    """
    prefix, _token, suffix = unsubscribe_url(0, 0).partition(make_token(0, 0))
    sign = signer(UNSUBSCRIBE_SALT).sign

    def make_url(contact_id, list_id=None):
        return prefix + sign(_unsubscribe_value(contact_id, list_id)) + suffix

    return make_url


# --- Double opt-in confirmation ------------------------------------------------------------


class InvalidConfirmToken(ValueError):
    """The confirmation link was altered, truncated or signed with a key this site does not know."""


class ExpiredToken(Exception):
    """A genuine confirmation link that is too old; ``value`` still says who it was for."""

    def __init__(self, value: "ConfirmationRef"):
        super().__init__("The confirmation link has expired.")
        self.value = value


@dataclass(frozen=True)
class ConfirmationRef:
    """Whose membership of which list a confirmation token confirms, and the visitor's language."""

    contact_id: int
    list_id: int
    language: str
    #: When the link was signed (whole seconds, UTC).
    issued_at: datetime.datetime | None = None


def make_confirm_token(contact_id: int, list_id: int, language: str = "") -> str:
    """A signed, timestamped token confirming ``contact_id``'s membership of ``list_id``."""
    language = language if _LANGUAGE_RE.fullmatch(language or "") else ""
    return signer(CONFIRM_SALT, timestamped=True).sign(
        f"{int(contact_id)}-{int(list_id)}-{language or ''}"
    )


def _parse_confirmation(confirm_signer, token):
    """The :class:`ConfirmationRef` of a token whose signature was checked."""
    # The value and its timestamp, as TimestampSigner.unsign reads them, without the age check.
    value, _sep, stamp = signing.Signer.unsign(confirm_signer, token).rpartition(SEP)
    match = _CONFIRM_RE.fullmatch(value)
    if match is None:
        raise InvalidConfirmToken(_("The confirmation link is malformed."))
    issued_at = datetime.datetime.fromtimestamp(signing.b62_decode(stamp), tz=datetime.UTC)
    return ConfirmationRef(int(match[1]), int(match[2]), match[3], issued_at)


def read_confirm_token(token: str, max_age: float | None = None) -> ConfirmationRef:
    """The :class:`ConfirmationRef` of a token; raise ``InvalidConfirmToken`` or ``ExpiredToken``.

    ``max_age`` is in seconds (default ``WAGTAIL_MAILFLOW_CONFIRM_MAX_AGE``).
    """
    max_age = conf.get("CONFIRM_MAX_AGE") if max_age is None else max_age
    confirm_signer = signer(CONFIRM_SALT, timestamped=True)
    try:
        confirm_signer.unsign(token or "", max_age=max_age)
    except signing.SignatureExpired:
        raise ExpiredToken(_parse_confirmation(confirm_signer, token)) from None
    except signing.BadSignature:
        raise InvalidConfirmToken(_("The confirmation link is invalid or was altered.")) from None
    return _parse_confirmation(confirm_signer, token)


def confirm_path(contact_id: int, list_id: int, language: str = "") -> str:
    """The site-relative path of the confirmation page."""
    token = make_confirm_token(contact_id, list_id, language)
    return reverse("wagtail_mailflow:confirm", args=[token])


# --- Subscribe form configuration ------------------------------------------------------------


def sign_form_config(data: dict[str, Any]) -> str:
    """The signed, compressed value of a subscribe form's hidden ``form`` input."""
    # ":" and a timestamp: the format ``signing.dumps`` wrote, so forms in cached pages still post.
    return signer(FORM_SALT, timestamped=True, sep=":").sign_object(data, compress=True)


def read_form_config_value(value: str) -> Any:
    """The object signed by :func:`sign_form_config`, or None if it was altered."""
    try:
        return signer(FORM_SALT, timestamped=True, sep=":").unsign_object(value or "")
    except signing.BadSignature:
        return None


# --- Do-not-contact address hashes ------------------------------------------------------------

ADDRESS_SALT = "wagtail_mailflow.do-not-contact"


def address_hashes(email: str) -> list[str]:
    """Keyed hashes of a normalised (lowercased) address: the current key's first.

    HMAC-SHA256 keyed with ``SECRET_KEY`` (and each of ``SECRET_KEY_FALLBACKS``, so
    records written before a key rotation are still found), salted for this use
    only. The address cannot be read back from a hash, and without the key it
    cannot be checked against a list of guesses.
    """
    value = (email or "").strip().lower()
    keys = [django_settings.SECRET_KEY, *getattr(django_settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        salted_hmac(ADDRESS_SALT, value, secret=key, algorithm="sha256").hexdigest() for key in keys
    ]


def address_hash(email: str) -> str:
    """The keyed hash a do-not-contact record is stored under (see :func:`address_hashes`)."""
    return address_hashes(email)[0]
