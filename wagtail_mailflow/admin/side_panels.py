"""The edit views' status side panel showing the object's own status.

Wagtail's panel reads "Live" for any model without draft/publish; a workflow has its own
lifecycle (draft, active, locked…) and a contact its sending state, so the panel shows those.
"""

from wagtail.admin.ui.components import MediaContainer
from wagtail.admin.ui.side_panels import StatusSidePanel

STATUS_TEMPLATE = "wagtail_mailflow/admin/side_panels/status.html"
WAGTAIL_STATUS_TEMPLATE = "wagtailadmin/shared/side_panels/includes/status/workflow.html"


class ObjectStatusSidePanel(StatusSidePanel):
    """A status panel whose first line is ``status_label`` instead of "Live"."""

    def __init__(self, *args, status_label="", **kwargs):
        super().__init__(*args, **kwargs)
        self.status_label = status_label

    def get_status_templates(self, context):
        return [
            STATUS_TEMPLATE if template == WAGTAIL_STATUS_TEMPLATE else template
            for template in super().get_status_templates(context)
        ]

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        context["object_status_label"] = self.status_label
        return context


class ObjectStatusPanelMixin:
    """For an edit view: its status side panel says ``get_status_label()`` (Wagtail's
    ``EditView.get_side_panels`` with the panel above)."""

    def get_status_label(self):
        raise NotImplementedError

    def get_side_panels(self):
        return MediaContainer(
            [
                ObjectStatusSidePanel(
                    self.object,
                    self.request,
                    locale=self.locale,
                    translations=self.translations,
                    usage_url=self.get_usage_url(),
                    history_url=self.get_history_url(),
                    last_updated_info=self.get_last_updated_info(),
                    status_label=self.get_status_label(),
                )
            ]
        )
