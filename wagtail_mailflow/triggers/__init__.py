"""The ways contacts come in from the site: one module per way (users: registrations and
profile saves mapped to contacts by ``WAGTAIL_MAILFLOW_USER_SYNC``)."""
