"""A contact's pages: create, edit, inspect, the POST actions, export and erase."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail.admin.views.generic import CreateView, DeleteView, EditView, InspectView
from wagtail.admin.widgets import Button
from wagtail.log_actions import log

from ... import api
from ...engine.exits import suppress
from ...models import (
    Contact,
    ContactProperty,
    Delivery,
    DeliveryEvent,
    Enrollment,
    ListMembership,
)
from ...privacy import ERASE_ACTION, erase_contact, export_contact
from ..policies import PermissionCheckedMixin
from ..side_panels import ObjectStatusPanelMixin
from ..titles import TranslatedTitleMixin
from .listing import contact_state_label


class ContactCreateView(TranslatedTitleMixin, CreateView):
    inspect_url_name = None

    def save_instance(self):
        contact = self.form.save_contact(self.request.user)
        log(contact, "wagtail.create", user=self.request.user)
        return contact

    def get_success_url(self):
        return reverse(self.inspect_url_name, args=[self.object.pk])


class ContactEditView(TranslatedTitleMixin, ObjectStatusPanelMixin, EditView):
    inspect_url_name = None

    def get_status_label(self):
        return contact_state_label(self.object)

    def save_instance(self):
        contact = self.form.save_contact(self.request.user)
        log(contact, "wagtail.edit", user=self.request.user, content_changed=True)
        return contact

    def get_success_url(self):
        return reverse(self.inspect_url_name, args=[self.object.pk])


# -- the contact's page ----------------------------------------------------------


class ContactInspectView(TranslatedTitleMixin, InspectView):
    """Everything about one contact, in a fixed number of queries."""

    template_name = "wagtail_mailflow/admin/contacts/inspect.html"
    export_url_name = None
    action_url_name = None

    def get_object(self, queryset=None):
        deliveries = Delivery.objects.select_related(
            "step", "step__template", "workflow"
        ).prefetch_related(
            # What the ESP reported, with its reason (a bounce's or a block's description).
            Prefetch("events", queryset=DeliveryEvent.objects.order_by("timestamp", "pk"))
        )
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


class ContactEraseView(TranslatedTitleMixin, DeleteView):
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
