"""The ways contacts come in from the rest of the site, one module each: Wagtail form pages
(``form_pages``) and site users (``site_users``, mapped to contacts by
``WAGTAIL_MAILFLOW_USER_SYNC``). Not to be confused with a workflow's triggers, which the
engine runs."""
