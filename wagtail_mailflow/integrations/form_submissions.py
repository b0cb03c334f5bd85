"""Wagtail form submissions of signup form pages: which pages they are, and their erasure.

A signup page keeps no submission unless its class sets ``mailflow_keep_submissions``
(see ``form_pages``); what it kept, or kept before, repeats a contact's address and
answers, so erasing the contact deletes it.
"""

from django.db.models import Q
from wagtail.models import get_page_models


def signup_page_models() -> list[type]:
    """The page models that use ``MailflowSignupFormMixin``."""
    return [model for model in get_page_models() if hasattr(model, "mailflow_address_field")]


def erase_submissions(emails: set[str]) -> int:
    """Delete the form submissions of signup pages whose address is one of ``emails``.

    Each page's address field decides (its setting, else its first *Email* field),
    whatever the page keeps now: it may have kept submissions before. Returns how
    many submissions were deleted.
    """
    deleted = 0
    for model in signup_page_models():
        for page in model.objects.all():
            name = page.mailflow_address_field()
            if name is None:
                continue
            matches = Q()
            for email in emails:
                matches |= Q(**{f"form_data__{name}__iexact": email})
            submissions = page.get_submission_class().objects.filter(matches, page=page)
            deleted += submissions.delete()[0]
    return deleted
