# Shim: old import path, removed once every import is updated.
"""The signup service is :mod:`wagtail_mailflow.signup`, its tokens :mod:`wagtail_mailflow.tokens`,
its rate limit :mod:`wagtail_mailflow.rate_limit` and its system check :mod:`wagtail_mailflow.checks`."""

from .rate_limit import parse_rate, rate_limited  # noqa: F401
from .signup import Signup, confirm, send_confirmation, split_values, subscribe_visitor  # noqa: F401
from .tokens import (  # noqa: F401
    ConfirmationRef,
    ExpiredToken,
    confirm_path,
    make_confirm_token,
    read_confirm_token,
)
from .tokens import InvalidConfirmToken as InvalidToken  # noqa: F401
