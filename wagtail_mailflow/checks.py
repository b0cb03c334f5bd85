"""System checks that tell a site what is misconfigured."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from . import conf


@register()
def check_settings(app_configs=None, **kwargs):
    """Report settings that would make emails unsendable or unsafe."""
    messages = []
    if not conf.base_url():
        messages.append(
            Warning(
                "Neither WAGTAIL_MAILFLOW_BASE_URL nor WAGTAILADMIN_BASE_URL is set.",
                hint="Emails need absolute URLs for unsubscribe links and images.",
                id="wagtail_mailflow.W001",
            )
        )
    q = getattr(settings, "Q_CLUSTER", None)
    if isinstance(q, dict):
        timeout = q.get("timeout")
        retry = q.get("retry", 60)
        if timeout is not None and retry is not None and retry <= timeout + 3:
            messages.append(
                Error(
                    f"Q_CLUSTER['retry'] ({retry}) must be greater than Q_CLUSTER['timeout'] "
                    f"({timeout}) + 3 seconds.",
                    hint="Otherwise django-q2 hands a still-running task to a second worker.",
                    id="wagtail_mailflow.E001",
                )
            )
    return messages
