"""The one permission mechanism of the admin: the permission policy registered for a model.

Wagtail 8 keeps policies in a registry (so a policy registered for a model is the one
its views and ours both consult); on Wagtail 7 the policies registered here are kept in
this module, and any other model gets a plain model permission policy. Policies are
registered from ``wagtail_hooks``, before the viewsets that use them.
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

#: Policies registered on a Wagtail without a registry.
_registered = {}


class ViewOnlyPermissionPolicy(ModelPermissionPolicy):
    """Model permissions, except that nobody may add, change or delete (the engine writes)."""

    def user_has_permission(self, user, action):
        return action == "view" and super().user_has_permission(user, action)

    def user_has_any_permission(self, user, actions):
        return super().user_has_any_permission(user, [a for a in actions if a == "view"])

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        return self.user_has_any_permission(user, actions)


def register(model, policy) -> None:
    """Make ``policy`` the one Wagtail's own views and ours use for ``model``."""
    if policy_registry is not None:
        policy_registry.register(model, value=policy, exact_class=True)
    else:  # pragma: no cover - Wagtail 7.4
        _registered[model] = policy


@cache
def _model_policy(model):
    return ModelPermissionPolicy(model)


def policy_for(model):
    """The permission policy that governs ``model`` in the admin."""
    if policy_registry is not None:
        return policy_registry.get_by_type(model)
    return _registered.get(model) or _model_policy(model)  # pragma: no cover - Wagtail 7.4


class PermissionCheckedMixin(_PermissionCheckedMixin):
    """Wagtail's permission check, with the model's registered policy on every version.

    Wagtail 7's mixin checks nothing unless the view is given a policy; this one always
    has the policy of its ``model``.
    """

    @cached_property
    def permission_policy(self):
        return policy_for(self.model)
