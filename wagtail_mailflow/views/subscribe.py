"""The subscribe form's view: validate the post, subscribe through the signup service, thank."""

import logging

from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views import View
from wagtail.models import Site

from ..models import ContactList, ListMembership
from ..rate_limit import HONEYPOT_FIELD, caught_by_honeypot, rate_limited
from ..rate_limit import rate_limited_response as _rate_limited_response
from ..signup import subscribe_visitor
from ..subscribe_form import FormConfigError, SubscribeForm, parse_fields, read_form_config
from .common import login_not_required, private

logger = logging.getLogger(__name__)

SUBSCRIBE_TEMPLATE = "wagtail_mailflow/subscribe/page.html"
THANKS_TEMPLATE = "wagtail_mailflow/subscribe/thanks.html"


@method_decorator(login_not_required, name="dispatch")
class SubscribeView(View):
    """POST only: validate, subscribe, thank. Errors re-render the form on a page of its own.

    The thank-you is the same whether the address was new, already subscribed,
    suppressed or caught by the honeypot: the answer never tells who is on a list.
    """

    http_method_names = ["post", "options"]

    def post(self, request, list_ref):
        config = read_form_config(request.POST.get("form"))
        contact_list = ContactList.objects.filter(pk=config["l"]).first() if config else None
        if contact_list is None or list_ref not in _list_refs(contact_list):
            return private(
                render(
                    request,
                    SUBSCRIBE_TEMPLATE,
                    {
                        "state": "invalid",
                        "reason": _(
                            "This signup form is not valid for this list. "
                            "Please go back, reload the page and try again."
                        ),
                    },
                    status=400,
                )
            )
        if rate_limited(request, "subscribe"):
            return rate_limited_response(request)
        try:
            form = SubscribeForm(
                request.POST, extra_fields=parse_fields(config.get("f")), consent=config.get("c")
            )
        except FormConfigError:  # a property the form asked for was deleted since
            form = SubscribeForm(request.POST, consent=config.get("c"))
        if caught_by_honeypot(request.POST):
            return self.thanks(request, contact_list, config)
        if form.is_valid():
            try:
                subscribe_visitor(
                    form.cleaned_data["email"],
                    contact_list,
                    source=ListMembership.Source.SUBSCRIBE,
                    source_detail=request.path[:255],
                    values=form.values(),
                    site=Site.find_for_request(request),
                )
            except ValidationError as exc:
                form.add_error("email", exc)
            else:
                return self.thanks(request, contact_list, config)
        return private(
            render(
                request,
                SUBSCRIBE_TEMPLATE,
                {
                    "state": "form",
                    "form": form,
                    "contact_list": contact_list,
                    "action": request.path,
                    "form_config": request.POST.get("form"),
                    "honeypot_field": HONEYPOT_FIELD,
                },
            )
        )

    def thanks(self, request, contact_list, config):
        next_url = config.get("n")
        if next_url and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(next_url, status=303)
        return private(
            render(
                request,
                THANKS_TEMPLATE,
                {"contact_list": contact_list, "double_opt_in": contact_list.double_opt_in},
            )
        )

    def options(self, request, *args, **kwargs):
        return HttpResponse(headers={"Allow": "POST, OPTIONS"})


def _list_refs(contact_list):
    return {str(contact_list.pk), slugify(contact_list.name)}


def rate_limited_response(request) -> HttpResponse:
    """The 429 page telling the visitor why and when to try again (kept out of caches)."""
    return private(_rate_limited_response(request))


subscribe_view = SubscribeView.as_view()
