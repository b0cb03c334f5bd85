# Stored path: docs of 0.1.0 told sites to import ``sync_user`` from here; their code keeps working.
"""Site users as contacts now live in :mod:`wagtail_mailflow.integrations.site_users`."""

from ..integrations.site_users import ConfigError, UserSync, get_config, sync_user

__all__ = ["ConfigError", "UserSync", "get_config", "sync_user"]
