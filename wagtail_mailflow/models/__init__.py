"""The data model: one module per concept."""

from .contacts import (  # noqa: F401
    Contact,
    ContactList,
    ContactProperty,
    ListMembership,
    Segment,
    clean_properties,
    coerce_value,
    normalize_email,
)
from .deliveries import Delivery, DeliveryEvent, SendingPause, SendingRate  # noqa: F401
from .enrollments import Enrollment  # noqa: F401
from .imports import ContactImport, StagedImportRow  # noqa: F401
from .privacy import DoNotContact  # noqa: F401
from .signups import SignupFieldMapping  # noqa: F401
from .templates import EmailTemplate  # noqa: F401
from .workflows import (  # noqa: F401
    TRANSITIONS,
    ActivationBlocked,
    ActivationProblem,
    EmailWorkflow,
    LifecycleError,
    WorkflowAction,
    WorkflowSection,
    WorkflowStatus,
    WorkflowStep,
)
