from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailMailflowConfig(AppConfig):
    name = "wagtail_mailflow"
    label = "wagtail_mailflow"
    verbose_name = _("Email automation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anymail.signals import tracking

        from . import (
            checks,  # noqa: F401  (registers system checks)
            subscriptions,  # noqa: F401  (registers the signup settings check)
        )
        from .sending.tracking import handle_tracking_event

        tracking.connect(handle_tracking_event, dispatch_uid="wagtail_mailflow.tracking")

        from .triggers import users as user_sync

        user_sync.connect()  # only when WAGTAIL_MAILFLOW_USER_SYNC is set
