"""Roles and accounts: the groups every deployment needs and the first Director."""

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from aura_project.errors import Forbidden
from workforce.domain.actor import KEY, USER, Actor, may
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
    if isinstance(user, Actor):
        return user.is_director
    return Role.DIRECTOR.value in caller_roles(user)


def as_actor(who) -> Actor:
    """The Actor behind a caller: an Actor as it is, a User (its groups' roles; none if inactive), or a
    service key's principal (its one role)."""
    if isinstance(who, Actor):
        return who
    if isinstance(who, User):
        roles = frozenset(caller_roles(who)) if who.is_active else frozenset()
        return Actor(kind=USER, name=who.get_username(), roles=roles, user_id=who.pk)
    role = getattr(who, "role", None)
    if role is not None:  # workforce.api.auth.ServicePrincipal
        return Actor(kind=KEY, name=who.name, roles=frozenset({role}))
    raise TypeError(f"not an actor: {who!r}")


def actor_require(who, permission: str, *, message: str | None = None) -> Actor:
    """The one role check every write service makes: the Actor, or Forbidden."""
    actor = as_actor(who)
    if not may(actor, permission):
        raise Forbidden(message or f"{actor.label} may not {permission.replace('_', ' ')}")
    return actor
