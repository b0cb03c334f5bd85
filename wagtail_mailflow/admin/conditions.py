"""The condition builder: conditions edited as rows of field, operator and value.

:class:`ConditionBuilder` is the form widget of every condition field (a segment's
conditions, a contact-update trigger). It renders the stored JSON in a textarea,
which is what the form saves, and the same conditions as rows that the
``mailflow-conditions`` Stimulus controller keeps in step with the textarea.
Without JavaScript the rows stay hidden and the textarea is edited directly.

:class:`ConditionCountView` answers the builder's live count: how many contacts
of a list match the conditions now, and, for users who may view contacts, a few
of their addresses. Each viewset that edits conditions serves it under its own
URL, with its own model's permission.
"""

import json

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import JsonResponse
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.defaults import permission_denied

from ..conditions import (
    ALL,
    ANY,
    DAYS_OPERATORS,
    NO_VALUE_OPERATORS,
    OPERATORS,
    ConditionError,
    canonical_operator,
    compile_q,
    operator_choices,
)
from ..contact_fields import CONDITION_FIELDS, PropertyType, label
from ..models import Contact, ContactList, ContactProperty, ListMembership
from .policies import policy_for

#: How many matching contacts' addresses the count shows (to users who may view contacts).
SAMPLE_SIZE = 5
#: The longest condition set the count endpoint reads, in characters of JSON.
MAX_SPEC_LENGTH = 20_000

#: The HTML input of a value, by the type of the field it is compared with.
INPUT_TYPES = {
    PropertyType.TEXT.value: "text",
    PropertyType.NUMBER.value: "number",
    PropertyType.DATE.value: "date",
    PropertyType.BOOLEAN.value: "text",
}


def value_kind(operator):
    """What an operator's value is: ``none`` ("is set"), ``days`` or the field's own ``value``."""
    if operator in NO_VALUE_OPERATORS:
        return "none"
    if operator in DAYS_OPERATORS:
        return "days"
    return "value"


def field_definitions():
    """The fields a condition may test: the contact's own, then every property by label."""
    builtin = [
        {
            "name": name,
            "label": capfirst(str(label(name))),
            "type": PropertyType.TEXT.value,
            "group": "contact",
        }
        for name in CONDITION_FIELDS
    ]
    properties = sorted(
        (p for p in ContactProperty.objects.all() if p.type in OPERATORS),
        key=lambda p: (str(p).casefold(), p.name),
    )
    return builtin + [
        {"name": p.name, "label": capfirst(str(p)), "type": p.type, "group": "property"}
        for p in properties
    ]


def operator_definitions():
    """``{type: [{"value", "label", "kind"}, ...]}``: the builder's operators, in words."""
    return {
        type_: [
            {"value": operator, "label": str(words), "kind": value_kind(operator)}
            for operator, words in operator_choices(type_)
        ]
        for type_ in OPERATORS
    }


def _value_text(value):
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def builder_row(raw, fields_by_name, operators):
    """The context of one row, from one stored condition (valid or not)."""
    raw = raw if isinstance(raw, dict) else {}
    name = raw.get("field") if isinstance(raw.get("field"), str) else ""
    field = fields_by_name.get(name)
    type_ = field["type"] if field else PropertyType.TEXT.value
    operator = raw.get("operator") if isinstance(raw.get("operator"), str) else ""
    operator = canonical_operator(type_, operator)
    choices = operators[type_]
    if operator not in {choice["value"] for choice in choices}:
        operator = choices[0]["value"]
    kind = value_kind(operator)
    return {
        "field": name,
        "unknown_field": name if name and field is None else "",
        "type": type_,
        "operator": operator,
        "operators": choices,
        "kind": kind,
        "input_type": "number" if kind == "days" else INPUT_TYPES[type_],
        "value": "" if kind == "none" else _value_text(raw.get("value")),
    }


def _load_spec(value):
    """The stored condition set as a dict, or None when the JSON is not one the rows can show."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return None
    if value is None:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("conditions", []), list):
        return None
    return value


class ConditionBuilder(forms.Textarea):
    """Rows of field → operator → value over the JSON textarea a condition field saves.

    ``count_url_name`` is the URL name of the viewset's :class:`ConditionCountView`.
    ``list_field`` names the form's contact list field whose list the count is taken
    in; without one the builder offers its own choice of list.
    """

    template_name = "wagtail_mailflow/admin/widgets/condition_builder.html"

    def __init__(self, count_url_name, list_field=None, attrs=None):
        super().__init__(attrs={"rows": 6, **(attrs or {})})
        self.count_url_name = count_url_name
        self.list_field = list_field

    @property
    def media(self):
        return forms.Media(
            js=["wagtail_mailflow/js/condition-builder.js"],
            css={"all": ["wagtail_mailflow/css/condition-builder.css"]},
        )

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        fields = field_definitions()
        fields_by_name = {field["name"]: field for field in fields}
        operators = operator_definitions()
        spec = _load_spec(value)
        raw_rows = (spec or {}).get("conditions") or []
        widget_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context["builder"] = {
            "id": widget_id,
            "config_id": f"{widget_id}-builder-config",
            "readable": spec is not None,
            "match": (spec or {}).get("match") if (spec or {}).get("match") in (ALL, ANY) else ALL,
            "rows": [builder_row(raw, fields_by_name, operators) for raw in raw_rows],
            "blank_row": builder_row({}, fields_by_name, operators),
            "contact_fields": [field for field in fields if field["group"] == "contact"],
            "properties": [field for field in fields if field["group"] == "property"],
            "count_url": reverse(self.count_url_name),
            "list_field": self.list_field or "",
            "lists": [] if self.list_field else ContactList.objects.order_by("name"),
            "config": {
                "fields": fields,
                "operators": operators,
                "inputTypes": INPUT_TYPES,
                "strings": {
                    "countFailed": gettext("The number of matching contacts is not available."),
                    "chooseList": gettext(
                        "Choose a contact list to see how many of its contacts match."
                    ),
                    "samples": gettext("For example:"),
                },
            },
        }
        return context


def matching_contacts(spec, contact_list=None):
    """The contacts who can receive email, are in ``contact_list`` (if given) and match."""
    contacts = Contact.objects.reachable().filter(compile_q(spec))
    if contact_list is not None:
        subscribed = ListMembership.objects.subscribed().filter(
            contact=OuterRef("pk"), contact_list=contact_list
        )
        contacts = contacts.filter(Exists(subscribed))
    return contacts


class ConditionCountView(View):
    """JSON: how many contacts match ``conditions`` (in ``contact_list``, if given) now.

    Open to users who may add or change ``model`` (the workflow or segment whose
    conditions are edited); the addresses of up to :data:`SAMPLE_SIZE` of them are
    included only for users who may view contacts. A condition set that does not
    parse gives a 400 with the editor's message and the number of the row at fault.
    """

    model = None
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not policy_for(self.model).user_has_any_permission(request.user, ["add", "change"]):
            # A real 403: Wagtail's admin turns a raised PermissionDenied into a redirect.
            return permission_denied(request, PermissionDenied())
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.answer(request.GET)

    def post(self, request):
        return self.answer(request.POST)

    @staticmethod
    def error(message, position=None):
        return JsonResponse({"error": str(message), "position": position}, status=400)

    def answer(self, data):
        raw = data.get("conditions", "")
        if len(raw) > MAX_SPEC_LENGTH:
            return self.error(_("These conditions are too long to count."))
        try:
            spec = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return self.error(_("The conditions are not valid JSON."))
        list_id = data.get("contact_list", "")
        contact_list = None
        if list_id:
            contact_list = (
                ContactList.objects.filter(pk=list_id).first() if list_id.isdigit() else None
            )
            if contact_list is None:
                return self.error(_("Unknown contact list."))
        try:
            contacts = matching_contacts(spec, contact_list)
            count = contacts.count()
        except ConditionError as exc:
            return self.error(exc, exc.position)
        if contact_list is None:
            text = ngettext(
                "%(count)s contact matches now.", "%(count)s contacts match now.", count
            ) % {"count": number_format(count, force_grouping=True)}
        else:
            text = ngettext(
                "%(count)s contact of '%(list)s' matches now.",
                "%(count)s contacts of '%(list)s' match now.",
                count,
            ) % {
                "count": number_format(count, force_grouping=True),
                "list": contact_list.name,
            }
        answer = {"count": count, "text": text}
        if policy_for(Contact).user_has_permission(self.request.user, "view"):
            answer["contacts"] = list(
                contacts.order_by("pk").values_list("email", flat=True)[:SAMPLE_SIZE]
            )
        return JsonResponse(answer)
