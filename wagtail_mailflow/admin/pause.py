"""The sending pause, visible: a banner across Mail automation, and "Resume now".

While a ``SendingPause`` is in force every Mail automation page (the admin URLs
under ``mailflow/``: workflows, sent emails, contacts, templates...) shows a
warning banner at the top: why sending stopped (the ESP's answer), since when
and until when. Users allowed to change workflows (the workflow permission
policy) get a "Resume now" button: a POST with a CSRF token to
:class:`ResumeSendingView`, which ends the pause and wakes the workers.

The banner is a Wagtail message added while the page's menu is built (the
``construct_main_menu`` hook, which runs on every full admin page before the
messages are shown), so it needs nothing from each view and never shows on
partial (HTMX) responses.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from ..engine.pause import active_pause, resume
from ..models import EmailWorkflow
from . import policies

#: The admin URL prefix every Mail automation page shares.
PREFIX = "mailflow/"


def can_resume(user) -> bool:
    """Whether ``user`` may end a sending pause: the permission to change workflows."""
    return policies.policy_for(EmailWorkflow).user_has_permission(user, "change")


def _is_email_automation_page(request) -> bool:
    admin_root = reverse("wagtailadmin_home")
    return request.path.startswith(admin_root + PREFIX)


def announce_pause(request, menu_items):
    """``construct_main_menu`` hook: the pause banner on Mail automation pages."""
    if not getattr(request, "user", None) or not _is_email_automation_page(request):
        return
    pause = active_pause()
    if pause is None:
        return
    html = render_to_string(
        "wagtail_mailflow/admin/sending_pause_banner.html",
        {
            "pause": pause,
            "can_resume": can_resume(request.user),
            "resume_url": reverse("mailflow_resume_sending"),
            "next": request.get_full_path(),
            "csrf_token": get_token(request),
        },
    )
    messages.warning(request, html, extra_tags="mailflow-sending-paused")


class ResumeSendingView(View):
    """End the sending pause now (POST only) and wake the workers."""

    http_method_names = ["post"]

    def post(self, request):
        if not can_resume(request.user):
            raise PermissionDenied
        was_paused = resume()
        if was_paused:
            messages.success(
                request, _("Sending resumed: the emails held by the pause go out now.")
            )
        else:
            messages.info(request, _("Sending was not paused."))
        target = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("wagtailadmin_home") + PREFIX + "workflows/"
        return HttpResponseRedirect(target)


def admin_urls():
    """``register_admin_urls`` hook: the "Resume now" endpoint."""
    return [
        path(
            PREFIX + "sending/resume/",
            ResumeSendingView.as_view(),
            name="mailflow_resume_sending",
        )
    ]
