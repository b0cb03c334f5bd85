"""Contacts, lists, segments and contact properties in the admin.

``listing`` filters the contacts, ``forms`` edits one, ``views`` shows and acts on one,
``viewsets`` wires them. The contact pages go through the Python API, as a site's own
code would: an editor's "Add contact" subscribes through
:func:`~wagtail_mailflow.api.subscribe` (source ``admin``, so welcome workflows start),
property edits go through :func:`~wagtail_mailflow.api.update_contact` (so
contact-update workflows start), unsubscribes through
:func:`~wagtail_mailflow.api.unsubscribe`, and "Erase" through
:func:`~wagtail_mailflow.privacy.erase_contact`.
"""
