"""What every bulk action of the package shares: its confirmation page.

The page (``wagtail_mailflow/admin/bulk_confirmation.html``) is headed by the
action's name with its icon, and ends with the action's two buttons, or a way
back when none of the selected items can take it. Each action's own template
extends it and lists the items that can and cannot take the action.
"""


class ConfirmationMixin:
    """The header icon and the buttons of a bulk action's confirmation page."""

    header_icon = "mail"
    #: The "Yes, …" and "No, …" buttons.
    confirm_label: str
    cancel_label: str
    #: "serious" for an action that cannot be undone or that stops sending.
    confirm_class = ""

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "header_icon": self.header_icon,
            "action_button_text": self.confirm_label,
            "no_action_button_text": self.cancel_label,
            "action_button_class": self.confirm_class,
        }
