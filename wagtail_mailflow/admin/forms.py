"""Admin forms: the workflow form refuses edits its status forbids, with a clear message."""

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from .. import conf

WEEKDAY_CHOICES = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def timezone_choices():
    """Every IANA timezone this machine knows, sorted."""
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class WorkflowForm(WagtailAdminModelForm):
    """Edit a draft workflow; any other status is refused before anything is saved."""

    sending_days = forms.TypedMultipleChoiceField(
        label=_("Sending days"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one weekday to send on.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "language" in self.fields:
            self.fields["language"].widget = forms.Select(choices=conf.languages())
        if "timezone" in self.fields:
            self.fields["timezone"].widget = forms.Select(choices=timezone_choices())
        if not self.instance.pk and "sending_days" in self.fields:
            # The new instance's own default (an empty list) is already in ``initial``.
            if not self.initial.get("sending_days"):
                self.initial["sending_days"] = [0, 1, 2, 3, 4, 5, 6]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not self.instance.is_editable:
            raise forms.ValidationError(
                _("This workflow is %(status)s and can no longer be edited; duplicate it instead.")
                % {"status": self.instance.get_status_display().lower()},
                code="not_editable",
            )
        return cleaned
