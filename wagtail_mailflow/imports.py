# Stored path: django-q2 tasks queued by 0.1.0 name wagtail_mailflow.imports.run_import_task.
"""Kept so that an import task queued before an upgrade still runs; the import lives in
:mod:`wagtail_mailflow.contact_import`."""

from .contact_import.jobs import run_job as run_import_task

__all__ = ["run_import_task"]
