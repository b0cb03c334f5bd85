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

from ..models import ContactList, ListMembership
from ..rate_limit import rate_limited
from ..signup import subscribe_visitor
from ..subscribe_form import (
    HONEYPOT_FIELD,
    FormConfigError,
    SubscribeForm,
    parse_fields,
    read_form_config,
)
from .common import login_not_required, private

logger = logging.getLogger(__name__)

SUBSCRIBE_TEMPLATE = "wagtail_mailflow/subscribe/page.html"
THANKS_TEMPLATE = "wagtail_mailflow/subscribe/thanks.html"
RATE_LIMITED_TEMPLATE = "wagtail_mailflow/subscribe/rate_limited.html"


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
        if request.POST.get(HONEYPOT_FIELD):
            logger.info("Subscribe form: honeypot filled in, nothing stored")
            return self.thanks(request, contact_list, config)
        if form.is_valid():
            try:
                subscribe_visitor(
                    form.cleaned_data["email"],
                    contact_list,
                    source=ListMembership.Source.SUBSCRIBE,
                    source_detail=request.path[:255],
                    values=form.values(),
                    base_url=request.build_absolute_uri("/"),
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
    """The 429 page telling the visitor why and when to try again."""
    response = render(
        request,
        RATE_LIMITED_TEMPLATE,
        {
            "reason": _(
                "Too many signups from your network in a short time. "
                "Please wait a minute and try again."
            )
        },
        status=429,
    )
    response["Retry-After"] = "60"
    return private(response)


subscribe_view = SubscribeView.as_view()
