"""Roles and accounts: the groups every deployment needs and the first Director."""

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from workforce.models import Role

DIRECTOR_USERNAME = "director"


def ensure_roles() -> dict[str, Group]:
    """Create the Director, Manager, Auditor and Viewer groups if missing. Safe to run any number of times."""
    return {role.value: Group.objects.get_or_create(name=role.value)[0] for role in Role}


def role_group(name: str) -> Group:
    """The group for a role named in any case ("manager", "MANAGER"). Raises ValueError on an unknown role."""
    wanted = name.strip().lower()
    for role in Role:
        if role.value.lower() == wanted:
            return ensure_roles()[role.value]
    choices = ", ".join(role.value.lower() for role in Role)
    raise ValueError(f"unknown role {name!r}; choose one of {choices}")


@dataclass(frozen=True)
class DirectorAccount:
    user: User
    created: bool
    password: str | None  # set only when the account was just created


@transaction.atomic
def ensure_director(username: str = DIRECTOR_USERNAME) -> DirectorAccount:
    """Make sure a Director account exists. A new account gets a random password, returned once, never stored."""
    groups = ensure_roles()
    user = User.objects.select_for_update().filter(username=username).first()
    if user is not None:
        user.groups.add(groups[Role.DIRECTOR.value])
        return DirectorAccount(user=user, created=False, password=None)
    password = secrets.token_urlsafe(12)
    user = User.objects.create_superuser(username=username, email="", password=password)
    user.groups.add(groups[Role.DIRECTOR.value])
    return DirectorAccount(user=user, created=True, password=password)


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
