"""Registers the "Email automation" admin menu and its viewsets."""

from wagtail.snippets.models import register_snippet

from .viewsets import MailflowViewSetGroup

register_snippet(MailflowViewSetGroup)
