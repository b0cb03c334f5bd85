"""Admin forms: the workflow form refuses edits its status forbids, with a clear message;
a workflow's email has no delay until the editor chooses one."""

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from ..models import WorkflowStep
from . import display

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


class TimezoneInput(forms.TextInput):
    """A text input that proposes the ~600 timezones as the editor types ("Par" -> Europe/Paris),
    through the browser's own list of suggestions; the field's validator checks the name."""

    template_name = "wagtail_mailflow/admin/widgets/timezone_input.html"

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-timezones"
        context["widget"]["attrs"]["list"] = list_id
        context["list_id"] = list_id
        context["timezones"] = [name for name, _label in timezone_choices()]
        return context


def choice_widgets(form, blank_language=False):
    """The language and timezone fields of ``form`` as a list of the site's languages (by name)
    and a searchable timezone input, instead of free text."""
    if "language" in form.fields:
        choices = display.language_choices()
        if blank_language:
            choices = [("", "—"), *choices]
        form.fields["language"].widget = forms.Select(choices=choices)
    if "timezone" in form.fields:
        form.fields["timezone"].widget = TimezoneInput()


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
        choice_widgets(self)
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


#: An email whose delay is left empty.
DELAY_REQUIRED = _("Choose when this email is sent.")
#: A delay without its unit.
DELAY_UNIT_REQUIRED = _("Choose minutes, hours, days or months.")
#: The choices of a delay's unit, the first one "not chosen yet".
DELAY_UNIT_CHOICES = [("", "---------"), *WorkflowStep.DelayUnit.choices]


class WorkflowStepForm(WagtailAdminModelForm):
    """One email of the workflow editor. A new email has no delay preselected: the editor
    chooses one (0 sends immediately, whatever the unit); existing emails keep theirs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        amount = self.fields.get("delay_amount")
        unit = self.fields.get("delay_unit")
        if amount is not None:
            amount.required = True
            amount.error_messages["required"] = DELAY_REQUIRED
        if unit is not None:
            unit.required = False
            unit.choices = DELAY_UNIT_CHOICES
        if self.instance.pk is None:
            # The model's defaults ("0 days") would answer the question for the editor.
            for name in ("delay_amount", "delay_unit"):
                self.initial.pop(name, None)
                if name in self.fields:
                    self.fields[name].initial = None

    def clean(self):
        cleaned = super().clean()
        amount = cleaned.get("delay_amount")
        if "delay_unit" in self.fields and amount is not None and not cleaned.get("delay_unit"):
            if amount == 0:
                cleaned["delay_unit"] = WorkflowStep.DelayUnit.DAYS  # immediately: any unit
            else:
                self.add_error("delay_unit", DELAY_UNIT_REQUIRED)
        return cleaned
