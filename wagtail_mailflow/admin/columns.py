"""Listing columns of the package: dates past and future, statuses coloured by status."""

from wagtail.admin.ui.tables import DateColumn, StatusTagColumn

from ..models import Delivery, EmailWorkflow

_W, _D = EmailWorkflow.Status, Delivery.Status
#: The tone of each status tag in the listings.
WORKFLOW_TONES = {
    _W.DRAFT: "info",
    _W.ACTIVE: "positive",
    _W.LOCKED: "warning",
    _W.STOPPED: "critical",
}
DELIVERY_TONES = {
    _D.SCHEDULED: "info",
    _D.CLAIMED: "info",
    _D.SENDING: "info",
    _D.SENT: "positive",
    _D.FAILED: "critical",
    _D.UNKNOWN: "warning",
    _D.SUPPRESSED: "warning",
}


class MomentColumn(DateColumn):
    """A date as "3 hours ago" or "in 3 hours" (Wagtail's reads "just now" for any future
    date), the full localised date and time on hover."""

    cell_template_name = "wagtail_mailflow/admin/tables/moment_cell.html"


class StatusColumn(StatusTagColumn):
    """A status tag coloured by status: ``tones`` maps a status value to a tone
    ("positive", "warning", "critical", "info"); other statuses are grey."""

    cell_template_name = "wagtail_mailflow/admin/tables/status_cell.html"

    def __init__(self, name, tones, value_accessor=None, **kwargs):
        super().__init__(name, **kwargs)
        self.tones = tones
        self.value_accessor = value_accessor or name

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        value = instance
        for part in self.value_accessor.split("."):
            value = getattr(value, part)
        context["tone"] = self.tones.get(value, "")
        return context
