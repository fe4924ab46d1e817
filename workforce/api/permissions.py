"""Roles decide what each caller may do. A key carries one role; a user has the roles of its groups."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from workforce.models import Role
from workforce.services.access import caller_roles, is_director

__all__ = ["caller_roles", "is_director"]


class _RolePermission(BasePermission):
    read_roles: frozenset[str] = frozenset()
    write_roles: frozenset[str] = frozenset({Role.DIRECTOR.value})

    def has_permission(self, request, view) -> bool:
        roles = caller_roles(request.user)
        allowed = self.read_roles if request.method in SAFE_METHODS else self.write_roles
        return bool(roles & (allowed | {Role.DIRECTOR.value}))


class IsDirector(_RolePermission):
    pass


class ReadAnyRoleWriteManager(_RolePermission):
    """Reads for every role; writes (hire, register, report, enforce, score) for the Manager."""

    read_roles = frozenset(r.value for r in Role)
    write_roles = frozenset({Role.MANAGER.value})


class ManagerOnly(_RolePermission):
    """The Manager's own inbox."""

    read_roles = frozenset({Role.MANAGER.value})
    write_roles = frozenset({Role.MANAGER.value})


class RecordsReader(_RolePermission):
    """Incidents, evidence and records: the Manager, the Auditor and viewers read them."""

    read_roles = frozenset(r.value for r in Role)
