"""Roles decide what each caller may do. A key carries one role; a user has the roles of its groups."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from workforce.models import Role


def caller_roles(user) -> set[str]:
    role = getattr(user, "role", None)
    if role is not None:
        return {role}
    if not user or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return {Role.DIRECTOR.value}
    return set(user.groups.values_list("name", flat=True))


def is_director(user) -> bool:
    return Role.DIRECTOR.value in caller_roles(user)


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
