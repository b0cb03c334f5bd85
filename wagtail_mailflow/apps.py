from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailMailflowConfig(AppConfig):
    name = "wagtail_mailflow"
    label = "wagtail_mailflow"
    verbose_name = _("Email automation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        """Every side effect of the package: system checks and signal receivers."""
        # Importing these modules before the app registry is ready would load models too early.
        from anymail.signals import tracking
        from django.db.backends.signals import connection_created

        from . import (
            checks,  # noqa: F401  (registers system checks)
            signal_handlers,
            signals,
        )
        from .models import ContactImport, EmailWorkflow

        connection_created.connect(
            signal_handlers.register_condition_functions,
            dispatch_uid="wagtail_mailflow.sqlite_functions",
        )
        tracking.connect(
            signal_handlers.record_tracking_event, dispatch_uid="wagtail_mailflow.tracking"
        )
        signals.deliveries_due.connect(
            signal_handlers.wake_workers,
            sender=EmailWorkflow,
            dispatch_uid="wagtail_mailflow.wake_workers",
        )
        signals.import_queued.connect(
            signal_handlers.queue_import,
            sender=ContactImport,
            dispatch_uid="wagtail_mailflow.queue_import",
        )
        signal_handlers.connect_site_users()  # only when WAGTAIL_MAILFLOW_USER_SYNC is set
