"""The unsubscribe page behind every email's link and List-Unsubscribe header."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import conf
from ..engine.exits import unsubscribe_everywhere, unsubscribe_from_list
from ..models import Contact, ContactList, ListMembership
from ..tokens import InvalidToken, read_token
from .common import login_not_required, mask_email, private

TEMPLATE = "wagtail_mailflow/unsubscribe.html"

#: Value of the confirmation form's ``scope`` field that unsubscribes from every email.
SCOPE_ALL = "all"


@method_decorator([csrf_exempt, login_not_required], name="dispatch")
class UnsubscribeView(View):
    """GET asks for confirmation (and changes nothing); POST unsubscribes.

    Mail scanners and link previews follow every link in a message, so a GET
    must never unsubscribe. The POST is CSRF-exempt because RFC 8058 one-click
    requests (body ``List-Unsubscribe=One-Click``) come from mail providers
    with no cookies; the signed token is what authorises it. A one-click POST,
    or the form's default button, leaves the list the email came from; the
    form's ``scope=all`` button unsubscribes from every email.
    """

    http_method_names = ["get", "post", "head", "options"]
    template_name = TEMPLATE

    def dispatch(self, request, token):
        try:
            contact_id, list_id = read_token(token)
        except InvalidToken as exc:
            return self.page(request, "invalid", status=400, reason=str(exc))
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None:
            return self.page(
                request,
                "gone",
                status=410,
                reason=_("This address is no longer in our records: we will not email it."),
            )
        contact_list = (
            ContactList.objects.filter(pk=list_id).first() if list_id is not None else None
        )
        self.contact, self.contact_list, self.list_missing = (
            contact,
            contact_list,
            list_id is not None and contact_list is None,
        )
        if conf.is_site_language(contact.language):
            with translation.override(contact.language):
                return super().dispatch(request, token)
        return super().dispatch(request, token)

    def get(self, request, token):
        if self.list_missing:
            return self.list_gone(request)
        return self.page(request, "confirm", **self.state())

    def post(self, request, token):
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        everywhere = not one_click and request.POST.get("scope") == SCOPE_ALL
        source = "one-click" if one_click else "link"
        if everywhere or (self.contact_list is None and not self.list_missing):
            unsubscribe_everywhere(self.contact, source=source)
            return self.page(request, "done", everywhere=True, **self.state())
        if self.list_missing:
            return self.list_gone(request)
        unsubscribe_from_list(self.contact, self.contact_list, source=source)
        return self.page(request, "done", everywhere=False, **self.state())

    def list_gone(self, request):
        return self.page(
            request,
            "list_gone",
            status=410,
            reason=_("This list no longer exists: you will receive no more emails from it."),
            **self.state(),
        )

    def state(self):
        contact = self.contact
        membership_left = (
            self.contact_list is not None
            and not ListMembership.objects.filter(
                contact=contact, contact_list=self.contact_list, left_at__isnull=True
            ).exists()
        )
        return {
            "masked_email": mask_email(contact.email),
            "contact_list": self.contact_list,
            "already_unsubscribed": contact.unsubscribed_at is not None
            or (self.contact_list is not None and membership_left),
            "unsubscribed_everywhere": contact.unsubscribed_at is not None,
            "scope_all": SCOPE_ALL,
        }

    def page(self, request, state, status=200, **context):
        response = render(request, self.template_name, {"state": state, **context}, status=status)
        return private(response, token_url=True)

    def options(self, request, *args, **kwargs):
        return HttpResponse(headers={"Allow": "GET, POST, HEAD, OPTIONS"})


unsubscribe = UnsubscribeView.as_view()
