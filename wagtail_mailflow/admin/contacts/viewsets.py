"""The viewsets of contacts, lists, segments and contact properties."""

from django.urls import path
from django.utils.translation import gettext_lazy
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn
from wagtail.admin.viewsets.model import ModelViewSet

from ...models import (
    Contact,
    ContactList,
    ContactProperty,
    Segment,
)
from ..conditions import ConditionBuilder, ConditionCountView
from ..imports import ImportButtonIndexView
from .forms import FORM_FIELDS, ContactForm
from .listing import ContactFilterSet, contact_state_label
from .property_views import ContactPropertyDeleteView
from .views import (
    ContactActionView,
    ContactCreateView,
    ContactEditView,
    ContactEraseView,
    ContactExportView,
    ContactInspectView,
)


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
    form_fields = FORM_FIELDS

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
    panels = [
        FieldPanel("name"),
        FieldPanel("description"),
        FieldPanel(
            "conditions",
            widget=ConditionBuilder("mailflow_segments:condition_count"),
            help_text=gettext_lazy("A contact is in the segment when these conditions match."),
        ),
    ]

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path(
                "condition-count/",
                ConditionCountView.as_view(model=Segment),
                name="condition_count",
            ),
        ]


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
    delete_view_class = ContactPropertyDeleteView


contact_viewset = ContactViewSet("mailflow_contacts")
contact_list_viewset = ContactListViewSet("mailflow_lists")
segment_viewset = SegmentViewSet("mailflow_segments")
contact_property_viewset = ContactPropertyViewSet("mailflow_properties")
