"""Public signup pages: the subscribe form's view and the double opt-in confirmation view.

The subscribe form (rendered by ``{% mailflow_subscribe_form %}``) posts a
signed ``form`` value naming its list, extra fields, consent text and thank-you
address: only forms a site's own templates rendered can subscribe, and only to
the list they name, so lists the site never offered stay closed to the public.
"""

import logging
from contextlib import nullcontext

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from .models import ContactList, ContactProperty, ListMembership
from .models.signups import MAPPABLE_FIELDS
from .subscriptions import (
    ExpiredToken,
    InvalidToken,
    confirm,
    rate_limited,
    read_confirm_token,
    send_confirmation,
    subscribe_visitor,
)
from .views import login_not_required, mask_email

logger = logging.getLogger(__name__)

FORM_SALT = "wagtail_mailflow.subscribe-form"
#: Name of the hidden field people never see and bots fill in.
HONEYPOT_FIELD = "website"
SUBSCRIBE_TEMPLATE = "wagtail_mailflow/subscribe/page.html"
THANKS_TEMPLATE = "wagtail_mailflow/subscribe/thanks.html"
RATE_LIMITED_TEMPLATE = "wagtail_mailflow/subscribe/rate_limited.html"
CONFIRM_TEMPLATE = "wagtail_mailflow/confirm/page.html"


class FormConfigError(ValueError):
    """A template asked for a subscribe form that cannot be built (unknown list or field)."""


def _builtin_field(name):
    if name == "language":
        return forms.ChoiceField(
            label=gettext_lazy("Language"),
            required=False,
            choices=[("", "---------"), *settings.LANGUAGES],
        )
    labels = {
        "first_name": gettext_lazy("First name"),
        "last_name": gettext_lazy("Last name"),
        "timezone": gettext_lazy("Time zone"),
    }
    return forms.CharField(label=labels[name], required=False, max_length=150)


def _property_field(prop):
    Type = ContactProperty.Type
    label = prop.label or prop.name.replace("_", " ").capitalize()
    if prop.type == Type.NUMBER:
        return forms.DecimalField(label=label, required=False)
    if prop.type == Type.BOOLEAN:
        return forms.BooleanField(label=label, required=False)
    if prop.type == Type.DATE:
        return forms.DateField(
            label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
    return forms.CharField(label=label, required=False, max_length=255)


class SubscribeForm(forms.Form):
    """Email address, the extra fields a template asked for, an optional consent box, a honeypot."""

    email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        error_messages={
            "required": gettext_lazy("Enter your email address."),
            "invalid": gettext_lazy("Enter a valid email address, like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, extra_fields=(), consent="", properties=None, **kwargs):
        super().__init__(*args, **kwargs)
        if properties is None:
            properties = {p.name: p for p in ContactProperty.objects.filter(name__in=extra_fields)}
        for name in extra_fields:
            if name in MAPPABLE_FIELDS:
                self.fields[name] = _builtin_field(name)
            elif name in properties:
                self.fields[name] = _property_field(properties[name])
            else:
                raise FormConfigError(
                    _("'%(name)s' is neither a contact field nor a contact property.")
                    % {"name": name}
                )
        if consent:
            self.fields["consent"] = forms.BooleanField(
                label=consent,
                required=True,
                error_messages={"required": gettext_lazy("Tick this box to subscribe.")},
            )
        # Hidden from people (see the template); bots filling every input fill it.
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            required=False,
            label=gettext_lazy("Leave this field empty"),
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
        self.extra_fields = tuple(extra_fields)

    @property
    def honeypot(self):
        return self[HONEYPOT_FIELD]

    def values(self):
        """The extra answers as ``{contact field or property: value}``."""
        return {name: self.cleaned_data.get(name) for name in self.extra_fields}


def resolve_list(contact_list):
    """A ContactList from an instance, a primary key or a name; FormConfigError if none."""
    if isinstance(contact_list, ContactList):
        return contact_list
    found = None
    if isinstance(contact_list, int) or (isinstance(contact_list, str) and contact_list.isdigit()):
        found = ContactList.objects.filter(pk=int(contact_list)).first()
    if found is None:
        found = ContactList.objects.filter(name=str(contact_list)).first()
    if found is None:
        raise FormConfigError(_("There is no contact list '%(name)s'.") % {"name": contact_list})
    return found


def parse_fields(fields):
    """``"first_name city"`` or ``"first_name,city"`` or a list → a tuple of names."""
    if not fields:
        return ()
    if isinstance(fields, str):
        fields = fields.replace(",", " ").split()
    return tuple(dict.fromkeys(str(name).strip() for name in fields if str(name).strip()))


def make_form_config(contact_list, fields=(), consent="", next_url=""):
    """The signed value of a subscribe form's hidden ``form`` input."""
    data = {"l": contact_list.pk}
    if fields:
        data["f"] = list(fields)
    if consent:
        data["c"] = str(consent)
    if next_url:
        data["n"] = str(next_url)
    return signing.dumps(data, salt=FORM_SALT, compress=True)


def read_form_config(value):
    """The dict signed by :func:`make_form_config`, or None if it was altered."""
    try:
        data = signing.loads(value or "", salt=FORM_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("l"), int):
        return None
    return data


def _private(response):
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


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
            return _private(
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
        return _private(
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
        return _private(
            render(
                request,
                THANKS_TEMPLATE,
                {"contact_list": contact_list, "double_opt_in": contact_list.double_opt_in},
            )
        )

    def options(self, request, *args, **kwargs):
        return HttpResponse(headers={"Allow": "POST, OPTIONS"})


def _list_refs(contact_list):
    from django.utils.text import slugify

    return {str(contact_list.pk), slugify(contact_list.name)}


def rate_limited_response(request):
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
    return _private(response)


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
        except InvalidToken as exc:
            return self.page(request, "invalid", status=400, reason=str(exc))
        except ExpiredToken as exc:
            ref, self.expired = exc.value, True
        self.membership = (
            ListMembership.objects.select_related("contact", "contact_list")
            .filter(contact_id=ref.contact_id, contact_list_id=ref.list_id, left_at__isnull=True)
            .first()
        )
        language = ref.language if ref.language and _is_site_language(ref.language) else None
        with translation.override(language) if language else nullcontext():
            if self.membership is None:
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
        if self.membership.confirmed_at is not None:
            return self.page(request, "already", **self.context())
        if self.expired:
            return self.page(request, "expired", status=410, **self.context())
        return self.page(request, "confirm", **self.context())

    def post(self, request, token):
        if self.membership.confirmed_at is not None:
            return self.page(request, "already", **self.context())
        if self.expired:
            if request.POST.get("action") != "resend":
                return self.page(request, "expired", status=410, **self.context())
            if rate_limited(request, "confirm-resend"):
                return rate_limited_response(request)
            send_confirmation(
                self.membership.pk,
                language=self.language,
                base_url=request.build_absolute_uri("/"),
            )
            return self.page(request, "resent", **self.context())
        confirm(self.membership.contact, self.membership.contact_list)
        return self.page(request, "done", **self.context())

    def page(self, request, state, status=200, **context):
        response = render(request, CONFIRM_TEMPLATE, {"state": state, **context}, status=status)
        response["Referrer-Policy"] = "no-referrer"  # the URL holds a token
        return _private(response)

    def options(self, request, *args, **kwargs):
        return HttpResponse(headers={"Allow": "GET, POST, HEAD, OPTIONS"})


def _is_site_language(code):
    codes = {c for c, _name in settings.LANGUAGES}
    return code in codes or code.split("-")[0] in codes


subscribe_view = SubscribeView.as_view()
confirm_view = ConfirmView.as_view()
