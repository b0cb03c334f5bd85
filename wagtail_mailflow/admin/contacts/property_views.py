"""Deleting a contact property: refused while a segment or a workflow uses it, saying where."""

from django.contrib import messages
from django.db.models import ProtectedError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from wagtail.admin.views.generic import DeleteView

from ...models import Segment
from ..workflows.links import NAMESPACE as WORKFLOWS


def usage_links(users):
    """(kind, name, edit URL) of each segment or workflow using a property."""
    links = []
    for user in users:
        if isinstance(user, Segment):
            links.append(
                (_("Segment"), str(user), reverse("mailflow_segments:edit", args=[user.pk]))
            )
        else:
            links.append((_("Workflow"), str(user), reverse(f"{WORKFLOWS}:edit", args=[user.pk])))
    return links


class ContactPropertyDeleteView(DeleteView):
    """The delete confirmation lists the segments and workflows that still use the property."""

    template_name = "wagtail_mailflow/admin/properties/confirm_delete.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        users = self.object.used_by()
        context["used_by"] = usage_links(users)
        context["is_protected"] = context.get("is_protected") or bool(users)
        return context

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ProtectedError:
            messages.error(
                self.request,
                _("The property “%(name)s” cannot be deleted while it is used.")
                % {"name": self.object.name},
            )
            return redirect(self.get_delete_url())
