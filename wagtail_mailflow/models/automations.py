# Shim: old import path, removed once every import is updated.
from .workflows import (  # noqa: F401
    ALL_WEEKDAYS,
    EmailWorkflow,
    EmailWorkflowQuerySet,
    LifecycleError,
    WorkflowStep,
    validate_language,
    validate_timezone,
)
