"""Contacts, lists, segments and contact properties in the admin."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.viewsets.model import ModelViewSet

from ..models import Contact, ContactList, ContactProperty, Segment


class ContactViewSet(ModelViewSet):
    model = Contact
    icon = "user"
    menu_label = _("Contacts")
    url_prefix = "mailflow/contacts"
    add_to_admin_menu = False
    inspect_view_enabled = True
    search_fields = ["email", "first_name", "last_name"]
    list_filter = ["language"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        DateColumn("created_at", label=_("Created")),
    ]
    form_fields = ["email", "first_name", "last_name", "language", "timezone", "properties"]


class ContactListViewSet(ModelViewSet):
    model = ContactList
    icon = "list-ul"
    menu_label = _("Lists")
    url_prefix = "mailflow/lists"
    add_to_admin_menu = False
    search_fields = ["name"]
    list_display = ["name", "double_opt_in", DateColumn("created_at", label=_("Created"))]
    form_fields = ["name", "description", "double_opt_in"]


class SegmentViewSet(ModelViewSet):
    model = Segment
    icon = "filter"
    menu_label = _("Segments")
    url_prefix = "mailflow/segments"
    add_to_admin_menu = False
    search_fields = ["name"]
    list_display = ["name", "description"]
    form_fields = ["name", "description", "conditions"]


class ContactPropertyViewSet(ModelViewSet):
    model = ContactProperty
    icon = "tag"
    menu_label = _("Contact properties")
    url_prefix = "mailflow/properties"
    add_to_admin_menu = False
    search_fields = ["name", "label"]
    list_display = ["name", "label", Column("type", accessor="get_type_display", label=_("Type"))]
    form_fields = ["name", "label", "type", "description"]


contact_viewset = ContactViewSet("mailflow_contacts")
contact_list_viewset = ContactListViewSet("mailflow_lists")
segment_viewset = SegmentViewSet("mailflow_segments")
contact_property_viewset = ContactPropertyViewSet("mailflow_properties")
