# Shim: old import path, removed once every import is updated.
from ..engine.tracking import *  # noqa: F403
from ..engine.tracking import handle_event, mark_first_event  # noqa: F401
