# Stored path: sites import ``wagtail_mailflow.triggers.users.sync_user`` (documented in 0.1.0).
"""Old home of the site integrations, now :mod:`wagtail_mailflow.integrations`."""
