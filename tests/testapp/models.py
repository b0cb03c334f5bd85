from django.conf import settings
from django.db import models


class Profile(models.Model):
    """A site's user profile, for the user-sync tests (a city and loyalty points)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    city = models.CharField(max_length=100, blank=True)
    loyalty_points = models.IntegerField(default=0)
    birthday = models.DateField(null=True, blank=True)

    def __str__(self):
        return f"Profile of {self.user}"


# A signup form page, as a site would write one (see docs/signup-forms.md).
from modelcluster.fields import ParentalKey  # noqa: E402
from wagtail.admin.panels import FieldPanel, InlinePanel  # noqa: E402
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField  # noqa: E402

from wagtail_mailflow.forms import MailflowSignupFormMixin  # noqa: E402


class SignupFormField(AbstractFormField):
    page = ParentalKey("SignupFormPage", on_delete=models.CASCADE, related_name="form_fields")


class SignupFormPage(MailflowSignupFormMixin, AbstractEmailForm):
    """A Wagtail form page that subscribes its visitors."""

    content_panels = AbstractEmailForm.content_panels + [
        InlinePanel("form_fields", label="Form fields"),
        FieldPanel("to_address"),
        *MailflowSignupFormMixin.mailflow_panels,
    ]
