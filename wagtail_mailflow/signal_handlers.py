"""Every signal receiver of the package; ``AppConfig.ready()`` connects them."""

from django.conf import settings
from django.db.models.signals import post_save
from django.test.signals import setting_changed

from . import tasks
from .conditions import register_sqlite_fold
from .engine import tracking
from .integrations import site_users

# -- conditions: SQLite case folding ----------------------------------------------------


def register_condition_functions(sender, connection, **kwargs):
    """Give each new SQLite connection the case-folding function conditions use in SQL."""
    if connection.vendor == "sqlite":
        register_sqlite_fold(connection)


# -- engine: waking the workers, queueing imports, the ESP's tracking events ------------


def wake_workers(sender, count=1, **kwargs):
    """Deliveries are due now: queue the dispatch task(s) once the transaction commits."""
    tasks.wake_on_commit(count or 1)


def queue_import(sender, import_id, **kwargs):
    """A contact import was queued: hand it to the task queue once the transaction commits."""
    tasks.queue_import_on_commit(import_id)


def record_tracking_event(sender, event, esp_name, **kwargs):
    """anymail's ``tracking`` signal: record the ESP's event once and act on it."""
    tracking.handle_event(event, esp_name)


# -- site users as contacts (WAGTAIL_MAILFLOW_USER_SYNC) --------------------------------
# Connected only while the setting is present, so a site without it pays nothing on saves.

USER_SYNC_USER_UID = "wagtail_mailflow.user_sync.user"
USER_SYNC_PROFILE_UID = "wagtail_mailflow.user_sync.profile"
USER_SYNC_SETTING_UID = "wagtail_mailflow.user_sync.setting"
_connected_profile_model = None


def user_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """post_save of the user model: registrations sync on commit, saves at once."""
    if not raw:  # fixtures (loaddata) are not registrations
        site_users.handle_user_save(instance, created=created, update_fields=update_fields)


def profile_saved(sender, instance, created, raw=False, **kwargs):
    """post_save of the profile model: copy the mapped profile values to the user's contact."""
    if not raw:
        site_users.handle_profile_save(instance)


def connect_user_sync():
    """Connect the user and profile receivers for the configured models (none without it)."""
    global _connected_profile_model
    disconnect_user_sync()
    try:
        config = site_users.get_config()
    except site_users.ConfigError:
        return  # the system check reports it
    if config is None:
        return
    post_save.connect(user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid=USER_SYNC_USER_UID)
    if config.profile_model is not None:
        post_save.connect(
            profile_saved, sender=config.profile_model, dispatch_uid=USER_SYNC_PROFILE_UID
        )
        _connected_profile_model = config.profile_model


def disconnect_user_sync():
    """Disconnect the user and profile receivers."""
    global _connected_profile_model
    post_save.disconnect(dispatch_uid=USER_SYNC_USER_UID, sender=settings.AUTH_USER_MODEL)
    if _connected_profile_model is not None:
        post_save.disconnect(dispatch_uid=USER_SYNC_PROFILE_UID, sender=_connected_profile_model)
        _connected_profile_model = None


def user_sync_setting_changed(setting, **kwargs):
    """``override_settings`` in tests: follow the new mapping."""
    if setting == site_users.SETTING:
        connect_user_sync()


def connect_site_users():
    """Connect the site-user receivers, and reconnect them whenever tests change the setting."""
    setting_changed.connect(user_sync_setting_changed, dispatch_uid=USER_SYNC_SETTING_UID)
    connect_user_sync()
