# Stored path: django-q2 tasks and schedules queued by sites before 0.2 name these functions.
"""The old paths of the django-q2 tasks, kept for tasks already queued or scheduled on sites.

``mailflow_schedule`` rewrites the schedules to :mod:`wagtail_mailflow.tasks`; a task
queued before an upgrade still finds its function here.
"""

from ..tasks import dispatch, scan

__all__ = ["dispatch", "scan"]
