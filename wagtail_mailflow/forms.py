"""Public import path for site code: ``from wagtail_mailflow.forms import MailflowSignupFormMixin``."""

from .triggers.forms import MailflowFormPageForm, MailflowSignupFormMixin

__all__ = ["MailflowFormPageForm", "MailflowSignupFormMixin"]
