"""Pages of the sandbox site: a home page and a newsletter signup form page."""

from django.db import models
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.fields import RichTextField
from wagtail.models import Page

from wagtail_mailflow.forms import MailflowSignupFormMixin


class HomePage(Page):
    """The site root."""

    intro = RichTextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["home.SignupPage"]
    max_count = 1


class SignupFormField(AbstractFormField):
    page = ParentalKey("SignupPage", on_delete=models.CASCADE, related_name="form_fields")


class SignupPage(MailflowSignupFormMixin, AbstractEmailForm):
    """A Wagtail form page where visitors sign up to the newsletter with their email address.

    The mixin subscribes each submission's address to the list chosen under
    "Newsletter signup", which starts that list's welcome workflows.
    """

    intro = RichTextField(blank=True)
    thank_you_text = RichTextField(blank=True)

    content_panels = AbstractEmailForm.content_panels + [
        FormSubmissionsPanel(),
        FieldPanel("intro"),
        InlinePanel("form_fields", label="Form fields"),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            heading="Notification email to the site team (optional)",
        ),
        *MailflowSignupFormMixin.mailflow_panels,
    ]
    parent_page_types = ["home.HomePage"]
    subpage_types = []
