"""What a site may customise in the public signup, in one class chosen by a setting.

``WAGTAIL_MAILFLOW_ADAPTER`` names the class (default :class:`DefaultAdapter`); it is
looked up at every call, so ``override_settings`` works and a site's subclass may live
in any installed app::

    # mysite/mailflow.py
    from wagtail_mailflow.adapter import DefaultAdapter

    class SiteAdapter(DefaultAdapter):
        def get_client_ip(self, request):
            ...

    # settings.py
    WAGTAIL_MAILFLOW_ADAPTER = "mysite.mailflow.SiteAdapter"
"""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from . import conf
from .models import ListMembership

CONFIRM_SUBJECT_TEMPLATE = "wagtail_mailflow/emails/confirm_subject.txt"
CONFIRM_TEXT_TEMPLATE = "wagtail_mailflow/emails/confirm.txt"
CONFIRM_HTML_TEMPLATE = "wagtail_mailflow/emails/confirm.html"


class DefaultAdapter:
    """The package's behaviour; subclass it and override the methods a site needs changed."""

    def get_client_ip(self, request: HttpRequest) -> str:
        """The visitor's address that public signups are rate limited by.

        ``REMOTE_ADDR``, the address the web server saw. Behind a reverse proxy that
        is the proxy's address for everyone: override this to read the header the
        proxy sets (only the part the proxy itself added can be trusted).
        """
        return request.META.get("REMOTE_ADDR", "") or "unknown"

    def get_confirmation_context(
        self, membership: ListMembership, *, confirm_url: str, language: str
    ) -> dict[str, Any]:
        """The template context of the double opt-in confirmation email."""
        return {
            "contact": membership.contact,
            "contact_list": membership.contact_list,
            "confirm_url": confirm_url,
            "language": language,
            "site_name": getattr(settings, "WAGTAIL_SITE_NAME", "") or "",
            "max_age_days": max(1, round(conf.get("CONFIRM_MAX_AGE") / 86400)),
        }

    def render_confirmation_email(
        self, membership: ListMembership, *, confirm_url: str, language: str
    ) -> EmailMessage:
        """The confirmation email, built from the ``wagtail_mailflow/emails/confirm*`` templates.

        Called with the email's language active, after the signup committed.
        """
        context = self.get_confirmation_context(
            membership, confirm_url=confirm_url, language=language
        )
        subject = " ".join(render_to_string(CONFIRM_SUBJECT_TEMPLATE, context).split())
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string(CONFIRM_TEXT_TEMPLATE, context),
            from_email=conf.default_from_email() or None,
            to=[membership.contact.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(render_to_string(CONFIRM_HTML_TEMPLATE, context), "text/html")
        return message

    def send_confirmation_email(
        self, membership: ListMembership, *, confirm_url: str, language: str
    ) -> None:
        """Send the confirmation email; an exception is logged by the caller, never shown."""
        self.render_confirmation_email(
            membership, confirm_url=confirm_url, language=language
        ).send()


def get_adapter() -> DefaultAdapter:
    """An instance of the class ``WAGTAIL_MAILFLOW_ADAPTER`` names, looked up at call time."""
    return import_string(conf.get("ADAPTER"))()
