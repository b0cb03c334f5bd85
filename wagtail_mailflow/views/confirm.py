"""The double opt-in confirmation page behind the link of the confirmation email."""

from contextlib import nullcontext

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from wagtail.models import Site

from .. import conf
from ..models import ListMembership
from ..rate_limit import rate_limited
from ..signup import awaits_confirmation, confirm, link_outdated, send_confirmation
from ..tokens import ExpiredToken, InvalidConfirmToken, read_confirm_token
from .common import login_not_required, mask_email, private
from .subscribe import rate_limited_response

CONFIRM_TEMPLATE = "wagtail_mailflow/confirm/page.html"


@method_decorator(login_not_required, name="dispatch")
class ConfirmView(View):
    """GET shows a button and changes nothing (mail scanners follow links); POST confirms.

    An expired link says so and offers to send a new one to the same address; a
    forged one answers 400.
    """

    http_method_names = ["get", "post", "head", "options"]

    def dispatch(self, request, token):
        self.expired = False
        try:
            ref = read_confirm_token(token)
        except InvalidConfirmToken as exc:
            return self.page(request, "invalid", status=400, reason=str(exc))
        except ExpiredToken as exc:
            ref, self.expired = exc.value, True
        self.membership = (
            ListMembership.objects.select_related("contact", "contact_list")
            .filter(contact_id=ref.contact_id, contact_list_id=ref.list_id)
            .first()
        )
        language = ref.language if conf.is_site_language(ref.language) else None
        with translation.override(language) if language else nullcontext():
            if self.membership is None or link_outdated(ref, self.membership):
                return self.page(
                    request,
                    "gone",
                    status=410,
                    reason=_(
                        "This subscription no longer exists. You can sign up again on our site."
                    ),
                )
            self.language = language
            return super().dispatch(request, token)

    def context(self):
        return {
            "contact_list": self.membership.contact_list,
            "masked_email": mask_email(self.membership.contact.email),
        }

    def get(self, request, token):
        if not awaits_confirmation(self.membership):
            return self.page(request, "already", **self.context())
        if self.expired:
            return self.page(request, "expired", status=410, **self.context())
        return self.page(request, "confirm", **self.context())

    def post(self, request, token):
        if not awaits_confirmation(self.membership):
            return self.page(request, "already", **self.context())
        if self.expired:
            if request.POST.get("action") != "resend":
                return self.page(request, "expired", status=410, **self.context())
            if rate_limited(request, "confirm-resend"):
                return rate_limited_response(request)
            send_confirmation(
                self.membership.pk, language=self.language, site=Site.find_for_request(request)
            )
            return self.page(request, "resent", **self.context())
        confirm(self.membership.contact, self.membership.contact_list)
        return self.page(request, "done", **self.context())

    def page(self, request, state, status=200, **context):
        response = render(request, CONFIRM_TEMPLATE, {"state": state, **context}, status=status)
        return private(response, token_url=True)

    def options(self, request, *args, **kwargs):
        return HttpResponse(headers={"Allow": "GET, POST, HEAD, OPTIONS"})


confirm_view = ConfirmView.as_view()
