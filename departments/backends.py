from django.apps import apps
from django.contrib.auth.backends import BaseBackend

from .models import Membership


def permissions_for_roles(roles) -> frozenset[str]:
    granted: set[str] = set()
    for config in apps.get_app_configs():
        table = getattr(config, "role_permissions", None) or {}
        for role in roles:
            granted |= table.get(role, set())
    return frozenset(granted)


class RolePermissionBackend(BaseBackend):
    """Model permissions that follow from a user's staff roles (one query per request)."""

    cache_attr = "_role_permission_cache"

    def get_all_permissions(self, user_obj, obj=None):
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return frozenset()
        if not hasattr(user_obj, self.cache_attr):
            roles = set(
                Membership.objects.filter(user_id=user_obj.pk).values_list("role", flat=True)
            )
            setattr(user_obj, self.cache_attr, permissions_for_roles(roles))
        return getattr(user_obj, self.cache_attr)

    def has_perm(self, user_obj, perm, obj=None):
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label):
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))
