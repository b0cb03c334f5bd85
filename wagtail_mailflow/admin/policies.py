"""The permission policy Wagtail uses for a model, on every supported Wagtail version.

Wagtail 8 keeps policies in a registry (so a policy registered for a model is the one
its views and ours both consult); Wagtail 7 builds a model permission policy in each
viewset. Both give the same answers for plain model permissions.
"""

from functools import cache

from django.utils.functional import cached_property
from wagtail.admin.views.generic.permissions import (
    PermissionCheckedMixin as _PermissionCheckedMixin,
)
from wagtail.permission_policies import ModelPermissionPolicy

try:
    from wagtail.permissions import policy_registry
except ImportError:  # pragma: no cover - Wagtail 7.4
    policy_registry = None


def register(model, policy):
    """Make ``policy`` the one Wagtail's own views use for ``model`` (Wagtail 8)."""
    if policy_registry is not None:
        policy_registry.register(model, value=policy, exact_class=True)


@cache
def _model_policy(model):
    return ModelPermissionPolicy(model)


def policy_for(model):
    """The permission policy that governs ``model`` in the admin."""
    if policy_registry is not None:
        return policy_registry.get_by_type(model)
    return _model_policy(model)


class PermissionCheckedMixin(_PermissionCheckedMixin):
    """Wagtail's permission check, with the model's policy found on every version.

    Wagtail 7's mixin checks nothing unless the view is given a policy; this one always
    has the policy of its ``model``.
    """

    @cached_property
    def permission_policy(self):
        return policy_for(self.model)
