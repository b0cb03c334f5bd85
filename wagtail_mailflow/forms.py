# Stored path: sites import the form page mixin from here (documented in docs/signup-forms.md).
"""Public import path for site code: ``from wagtail_mailflow.forms import MailflowSignupFormMixin``."""

from .integrations.form_pages import MailflowFormPageForm, MailflowSignupFormMixin

__all__ = ["MailflowFormPageForm", "MailflowSignupFormMixin"]
