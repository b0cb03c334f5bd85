"""'Send again' on the sent-emails listing: failed or unknown emails, selected rows, confirmed.

The confirmation says how many emails will be sent again and that those whose
outcome is unknown may reach the recipient twice. Sending again goes through
the normal claim path (``engine.resend``): never a direct send, never to a
contact who may no longer receive email. Allowed to users who may change
workflows (the workflow permission policy).
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.functional import cached_property, classproperty
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin.views.bulk_action import BulkAction

from ..engine.resend import resendable, send_again
from ..models import Delivery, EmailWorkflow
from . import policies
from .bulk import ConfirmationMixin


def can_send_again(user) -> bool:
    """Whether ``user`` may send emails again: the permission to change workflows."""
    return policies.policy_for(EmailWorkflow).user_has_permission(user, "change")


class SendAgainBulkAction(ConfirmationMixin, BulkAction):
    """Bulk "Send again" on the sent-emails listing."""

    display_name = _("Send again")
    action_type = "send_again"
    aria_label = _("Send the selected emails again")
    template_name = "wagtail_mailflow/admin/deliveries/confirm_send_again.html"
    action_priority = 10
    confirm_label = _("Yes, send again")
    cancel_label = _("No, don't send")

    @classproperty
    def models(cls):
        return [Delivery]

    def dispatch(self, request, *args, **kwargs):
        if not can_send_again(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @classmethod
    def get_queryset(cls, model, object_ids):
        if not all(str(pk).isdigit() for pk in object_ids):
            raise Http404
        return list(
            Delivery.objects.filter(pk__in=object_ids)
            .select_related("contact", "workflow", "step__template")
            .order_by("pk")
        )

    def get_all_objects_in_listing_query(self, parent_id):
        return resendable().values_list("pk", flat=True)

    @cached_property
    def _allowed(self):
        ids = [pk for pk in self.request.GET.getlist("id") if pk.isdigit()]
        if "all" in self.request.GET.getlist("id"):
            return set(resendable().values_list("pk", flat=True))
        return set(resendable(Delivery.objects.filter(pk__in=ids)).values_list("pk", flat=True))

    def check_perm(self, obj):
        return obj.pk in self._allowed

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["unknown_count"] = sum(
            1 for item in context["items"] if item["item"].status == Delivery.Status.UNKNOWN
        )
        return context

    @classmethod
    def execute_action(cls, objects, **kwargs):
        return send_again([d.pk for d in objects]), 0

    def get_success_message(self, num_parent_objects, num_child_objects):
        return ngettext(
            "%(count)d email will be sent again.",
            "%(count)d emails will be sent again.",
            num_parent_objects,
        ) % {"count": num_parent_objects}

    @cached_property
    def permission_policy(self):
        return policies.policy_for(EmailWorkflow)
