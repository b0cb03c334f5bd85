"""Contacts, lists, segments and contact properties in the admin.

The contact pages go through the Python API, as a site's own code would: an
editor's "Add contact" subscribes through :func:`~wagtail_mailflow.api.subscribe`
(source ``admin``, so welcome workflows start), property edits go through
:func:`~wagtail_mailflow.api.update_contact` (so contact-update workflows
start), unsubscribes through :func:`~wagtail_mailflow.api.unsubscribe`, and
"Erase" through :func:`~wagtail_mailflow.privacy.erase_contact`.
"""

import json

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn
from wagtail.admin.views.generic import CreateView, DeleteView, EditView, InspectView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import AdminDateInput, Button
from wagtail.log_actions import log

from .. import api
from ..engine.exits import suppress
from ..models import (
    Contact,
    ContactList,
    ContactProperty,
    Delivery,
    Enrollment,
    ListMembership,
    Segment,
)
from ..privacy import ERASE_ACTION, erase_contact, export_contact
from .imports import ImportButtonIndexView
from .policies import PermissionCheckedMixin

Source = ListMembership.Source

# -- listing ---------------------------------------------------------------------


class ContactState:
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"

    choices = [
        (SUBSCRIBED, gettext_lazy("Can receive email")),
        (UNSUBSCRIBED, gettext_lazy("Unsubscribed from everything")),
        (SUPPRESSED, gettext_lazy("Suppressed")),
    ]


def contact_state_label(contact):
    """A short label for the contact's sending state."""
    if contact.suppressed_at is not None:
        return _("Suppressed (%(reason)s)") % {"reason": contact.get_suppression_reason_display()}
    if contact.unsubscribed_at is not None:
        return _("Unsubscribed")
    return _("Subscribed")


class ContactFilterSet(WagtailFilterSet):
    contact_list = django_filters.ModelChoiceFilter(
        label=gettext_lazy("List"),
        queryset=ContactList.objects.all(),
        method="filter_list",
        empty_label=gettext_lazy("Any list"),
    )
    source = django_filters.ChoiceFilter(
        label=gettext_lazy("Joined through"),
        choices=Source.choices,
        method="filter_source",
        empty_label=gettext_lazy("Any source"),
    )
    state = django_filters.ChoiceFilter(
        label=gettext_lazy("State"),
        choices=ContactState.choices,
        method="filter_state",
        empty_label=gettext_lazy("Any state"),
    )

    class Meta:
        model = Contact
        fields = ["language"]

    def _memberships(self):
        # list and source together mean one membership with both (a subquery, so no duplicates).
        memberships = ListMembership.objects.filter(contact=OuterRef("pk"), left_at__isnull=True)
        data = self.form.cleaned_data
        if data.get("contact_list"):
            memberships = memberships.filter(contact_list=data["contact_list"])
        if data.get("source"):
            memberships = memberships.filter(source=data["source"])
        return memberships

    def filter_list(self, queryset, name, value):
        return queryset.filter(Exists(self._memberships())) if value else queryset

    def filter_source(self, queryset, name, value):
        if not value or self.form.cleaned_data.get("contact_list"):
            return queryset  # already applied together with the list
        return queryset.filter(Exists(self._memberships()))

    def filter_state(self, queryset, name, value):
        if value == ContactState.SUBSCRIBED:
            return queryset.reachable()
        if value == ContactState.UNSUBSCRIBED:
            return queryset.filter(unsubscribed_at__isnull=False)
        if value == ContactState.SUPPRESSED:
            return queryset.filter(suppressed_at__isnull=False)
        return queryset


# -- forms -----------------------------------------------------------------------

PROPERTY_PREFIX = "property__"
BOOLEAN_CHOICES = [
    ("", gettext_lazy("Not set")),
    ("true", gettext_lazy("Yes")),
    ("false", gettext_lazy("No")),
]


def property_formfield(prop):
    """A form field for one contact property, by its type; values are checked by its coercion."""
    Type = ContactProperty.Type
    common = {
        "label": prop.label or prop.name,
        "required": False,
        "help_text": prop.description or "",
    }
    if prop.type == Type.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if prop.type == Type.BOOLEAN:
        return forms.ChoiceField(choices=BOOLEAN_CHOICES, **common)
    if prop.type == Type.DATE:
        return forms.CharField(widget=AdminDateInput(format="%Y-%m-%d"), **common)
    return forms.CharField(**common)


def property_initial(prop, value):
    if value is None:
        return ""
    if prop.type == ContactProperty.Type.BOOLEAN:
        return "true" if value else "false"
    return value


class ContactForm(WagtailAdminModelForm):
    """A contact with one field per contact property, and lists to subscribe it to."""

    lists = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Subscribe to lists"),
        queryset=ContactList.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Welcome workflows of these lists start for this contact."),
    )
    confirmed = forms.BooleanField(
        label=gettext_lazy("Confirmed"),
        required=False,
        help_text=gettext_lazy(
            "The person has confirmed their subscription (needed on double opt-in lists)."
        ),
    )
    consent_note = forms.CharField(
        label=gettext_lazy("How was consent given?"),
        required=False,
        max_length=200,
        help_text=gettext_lazy('Recorded with the subscription, e.g. "Signed up at our stand".'),
    )

    class Meta:
        model = Contact
        fields = ["email", "first_name", "last_name", "language", "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.property_definitions = list(ContactProperty.objects.all())
        stored = (self.instance.properties or {}) if self.instance.pk else {}
        for prop in self.property_definitions:
            name = PROPERTY_PREFIX + prop.name
            self.fields[name] = property_formfield(prop)
            self.initial.setdefault(name, property_initial(prop, stored.get(prop.name)))
        if self.instance.pk:
            current = self.instance.memberships.filter(left_at__isnull=True).values("contact_list")
            self.fields["lists"].queryset = ContactList.objects.exclude(pk__in=current)
        # lists, confirmation and consent note last, after the properties
        for name in ("lists", "confirmed", "consent_note"):
            self.fields[name] = self.fields.pop(name)

    def property_fields(self):
        return [self[PROPERTY_PREFIX + p.name] for p in self.property_definitions]

    def clean(self):
        cleaned = super().clean()
        self.property_values = {}
        for prop in self.property_definitions:
            name = PROPERTY_PREFIX + prop.name
            if name not in cleaned:
                continue
            raw = cleaned[name]
            if isinstance(raw, str) and not raw.strip():
                raw = None  # an empty field means "not set", whatever the type
            try:
                self.property_values[prop.name] = prop.coerce(raw)
            except ValidationError as exc:
                self.add_error(name, exc.messages)
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        # The JSON field is filled through the API, never straight from the form.
        self.instance.properties = self.instance.properties or {}

    def contact_fields(self):
        return {
            name: self.cleaned_data.get(name, "")
            for name in ("first_name", "last_name", "language", "timezone")
        }

    def source_detail(self, user):
        note = self.cleaned_data.get("consent_note", "").strip()
        who = user.get_username() if user is not None else ""
        return f"{who}: {note}" if note else who

    def save_contact(self, user):
        """Create or update the contact through the API; returns the saved contact."""
        fields = self.contact_fields()
        lists = list(self.cleaned_data.get("lists") or [])
        detail = self.source_detail(user)
        confirmed = self.cleaned_data.get("confirmed", False)
        values = self.property_values
        if self.instance.pk is None:
            set_values = {k: v for k, v in values.items() if v is not None}
            if not lists:
                contact = Contact.objects.create(
                    email=self.cleaned_data["email"], properties=set_values, **fields
                )
                return contact
            contact = None
            for contact_list in lists:
                contact, _membership, _joined = api.subscribe(
                    self.cleaned_data["email"],
                    contact_list,
                    properties=set_values if contact is None else None,
                    source=Source.ADMIN,
                    source_detail=detail,
                    confirmed=confirmed,
                    **(fields if contact is None else {}),
                )
            return contact
        contact = self.instance
        if "email" in self.changed_data:
            Contact.objects.filter(pk=contact.pk).update(email=contact.email)
        api.update_contact(contact, properties=values, **fields)
        for contact_list in lists:
            api.subscribe(
                contact.email,
                contact_list,
                source=Source.ADMIN,
                source_detail=detail,
                confirmed=confirmed,
            )
        contact.refresh_from_db()
        return contact


class ContactCreateView(CreateView):
    inspect_url_name = None

    def save_instance(self):
        contact = self.form.save_contact(self.request.user)
        log(contact, "wagtail.create", user=self.request.user)
        return contact

    def get_success_url(self):
        return reverse(self.inspect_url_name, args=[self.object.pk])


class ContactEditView(EditView):
    inspect_url_name = None

    def save_instance(self):
        contact = self.form.save_contact(self.request.user)
        log(contact, "wagtail.edit", user=self.request.user, content_changed=True)
        return contact

    def get_success_url(self):
        return reverse(self.inspect_url_name, args=[self.object.pk])


# -- the contact's page ----------------------------------------------------------


class ContactInspectView(InspectView):
    """Everything about one contact, in a fixed number of queries."""

    template_name = "wagtail_mailflow/admin/contacts/inspect.html"
    export_url_name = None
    action_url_name = None

    def get_object(self, queryset=None):
        deliveries = Delivery.objects.select_related("step", "step__template", "workflow")
        return get_object_or_404(
            Contact.objects.select_related("user").prefetch_related(
                Prefetch(
                    "memberships",
                    queryset=ListMembership.objects.select_related("contact_list").order_by(
                        "-joined_at", "-pk"
                    ),
                ),
                Prefetch(
                    "enrollments",
                    queryset=Enrollment.objects.select_related("workflow").order_by(
                        "-entered_at", "-pk"
                    ),
                ),
                Prefetch("deliveries", queryset=deliveries.order_by("-due_at", "-pk")),
            ),
            pk=self.pk,
        )

    def get_fields(self):
        return []

    @cached_property
    def header_more_buttons(self):
        buttons = []
        if self.get_edit_url():
            buttons.append(
                Button(_("Edit"), url=self.get_edit_url(), icon_name="edit", priority=10)
            )
        buttons.append(
            Button(
                _("Export data"),
                url=reverse(self.export_url_name, args=[self.object.pk]),
                icon_name="download",
                priority=20,
            )
        )
        if self.get_delete_url():
            buttons.append(
                Button(_("Erase"), url=self.get_delete_url(), icon_name="bin", priority=30)
            )
        return buttons

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contact = self.object
        stored = contact.properties or {}
        definitions = {p.name: p for p in ContactProperty.objects.filter(name__in=list(stored))}
        context.update(
            {
                "contact": contact,
                "state_label": contact_state_label(contact),
                "property_rows": [
                    (definitions[name] if name in definitions else name, value)
                    for name, value in sorted(stored.items())
                ],
                "memberships": list(contact.memberships.all()),
                "enrollments": list(contact.enrollments.all()),
                "deliveries": list(contact.deliveries.all()),
                "can_change": self.user_has_permission("change"),
                "action_url": reverse(self.action_url_name, args=[contact.pk]),
            }
        )
        return context


class ContactActionView(PermissionCheckedMixin, View):
    """POST-only actions on a contact's page: unsubscribe (one list or all), suppress, unsuppress."""

    model = Contact
    permission_required = "change"
    inspect_url_name = None
    http_method_names = ["post"]

    def post(self, request, pk):
        contact = get_object_or_404(Contact, pk=pk)
        action = request.POST.get("action")
        back = HttpResponseRedirect(reverse(self.inspect_url_name, args=[contact.pk]))
        if action == "unsubscribe_list":
            membership_id = request.POST.get("membership", "")
            membership = (
                ListMembership.objects.filter(contact=contact, pk=int(membership_id))
                .select_related("contact_list")
                .first()
                if membership_id.isdigit()
                else None
            )
            if membership is None:
                messages.error(request, _("That membership does not exist."))
                return back
            api.unsubscribe(contact, membership.contact_list, source="admin")
            messages.success(
                request,
                _("Unsubscribed from '%(list)s'.") % {"list": membership.contact_list},
            )
        elif action == "unsubscribe_all":
            api.unsubscribe(contact, source="admin")
            messages.success(request, _("Unsubscribed from all emails."))
        elif action == "suppress":
            suppress(contact, Contact.SuppressionReason.MANUAL)
            messages.success(request, _("The address is suppressed: nothing will be sent to it."))
        elif action == "unsuppress":
            if contact.suppressed_at is None:
                messages.warning(request, _("The address is not suppressed."))
                return back
            Contact.objects.filter(pk=contact.pk).update(
                suppressed_at=None, suppression_reason="", updated_at=timezone.now()
            )
            messages.success(
                request,
                _("The address is no longer suppressed. Workflows it left do not resume."),
            )
        else:
            messages.error(request, _("Unknown action."))
            return back
        log(contact, f"wagtail_mailflow.contact.{action}", user=request.user)
        return back


class ContactExportView(PermissionCheckedMixin, View):
    """Download everything stored about a contact as JSON."""

    model = Contact
    any_permission_required = ["change", "view"]

    def get(self, request, pk):
        contact = get_object_or_404(Contact, pk=pk)
        data = json.dumps(export_contact(contact), cls=DjangoJSONEncoder, indent=2)
        response = HttpResponse(data, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
        log(contact, "wagtail_mailflow.contact.export", user=request.user)
        return response


class ContactEraseView(DeleteView):
    """Erase: personal data deleted, enrollments and deliveries kept anonymously (statistics)."""

    template_name = "wagtail_mailflow/admin/contacts/confirm_erase.html"
    page_title = gettext_lazy("Erase contact")

    @property
    def confirmation_message(self):
        return _(
            "Erase this contact? Its address, names, properties, consent and memberships are "
            "deleted and cannot be recovered. The emails it was sent stay in the statistics, "
            "anonymously; emails not yet sent are cancelled."
        )

    def get_usage_url(self):
        return None

    def delete_action(self):
        erase_contact(self.object, user=self.request.user)

    def get_success_message(self):
        return _("Contact erased; anonymous statistics are kept.")


# -- viewsets ----------------------------------------------------------------------


class ContactViewSet(ModelViewSet):
    model = Contact
    icon = "user"
    menu_label = gettext_lazy("Contacts")
    url_prefix = "mailflow/contacts"
    add_to_admin_menu = False
    inspect_view_enabled = True
    copy_view_enabled = False
    search_fields = ["email", "first_name", "last_name"]
    filterset_class = ContactFilterSet
    index_view_class = ImportButtonIndexView
    add_view_class = ContactCreateView
    edit_view_class = ContactEditView
    inspect_view_class = ContactInspectView
    delete_view_class = ContactEraseView
    list_display = [
        "email",
        "first_name",
        "last_name",
        StatusTagColumn(
            "state",
            label=gettext_lazy("State"),
            accessor=contact_state_label,
            primary=lambda contact: contact.is_reachable,
        ),
        DateColumn("created_at", label=gettext_lazy("Created")),
    ]
    form_fields = ["email", "first_name", "last_name", "language", "timezone"]

    def get_form_class(self, for_update=False):
        return ContactForm

    def get_add_view_kwargs(self, **kwargs):
        return super().get_add_view_kwargs(inspect_url_name=self.get_url_name("inspect"), **kwargs)

    def get_edit_view_kwargs(self, **kwargs):
        return super().get_edit_view_kwargs(inspect_url_name=self.get_url_name("inspect"), **kwargs)

    def get_inspect_view_kwargs(self, **kwargs):
        return super().get_inspect_view_kwargs(
            export_url_name=self.get_url_name("export"),
            action_url_name=self.get_url_name("action"),
            **kwargs,
        )

    @property
    def action_view(self):
        return ContactActionView.as_view(inspect_url_name=self.get_url_name("inspect"))

    @property
    def export_view(self):
        return ContactExportView.as_view()

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("action/<int:pk>/", self.action_view, name="action"),
            path("export/<int:pk>/", self.export_view, name="export"),
        ]


def register_contact_log_actions(actions):
    """``register_log_actions`` hook: what the contact pages write to Wagtail's history."""
    actions.register_action(
        ERASE_ACTION, _("Erase contact"), _("Contact erased (personal data removed)")
    )
    for action, label in (
        ("unsubscribe_list", _("Unsubscribed from a list")),
        ("unsubscribe_all", _("Unsubscribed from all emails")),
        ("suppress", _("Address suppressed")),
        ("unsuppress", _("Suppression lifted")),
        ("export", _("Personal data exported")),
    ):
        actions.register_action(f"wagtail_mailflow.contact.{action}", label, label)


class ContactListViewSet(ModelViewSet):
    model = ContactList
    icon = "list-ul"
    menu_label = gettext_lazy("Lists")
    url_prefix = "mailflow/lists"
    add_to_admin_menu = False
    index_view_class = ImportButtonIndexView
    search_fields = ["name"]
    list_display = [
        "name",
        "double_opt_in",
        DateColumn("created_at", label=gettext_lazy("Created")),
    ]
    form_fields = ["name", "description", "double_opt_in"]


class SegmentViewSet(ModelViewSet):
    model = Segment
    icon = "sliders"
    menu_label = gettext_lazy("Segments")
    url_prefix = "mailflow/segments"
    add_to_admin_menu = False
    search_fields = ["name"]
    list_display = ["name", "description"]
    form_fields = ["name", "description", "conditions"]


class ContactPropertyViewSet(ModelViewSet):
    model = ContactProperty
    icon = "tag"
    menu_label = gettext_lazy("Contact properties")
    url_prefix = "mailflow/properties"
    add_to_admin_menu = False
    search_fields = ["name", "label"]
    list_display = [
        "name",
        "label",
        Column("type", accessor="get_type_display", label=gettext_lazy("Type")),
    ]
    form_fields = ["name", "label", "type", "description"]


contact_viewset = ContactViewSet("mailflow_contacts")
contact_list_viewset = ContactListViewSet("mailflow_lists")
segment_viewset = SegmentViewSet("mailflow_segments")
contact_property_viewset = ContactPropertyViewSet("mailflow_properties")
