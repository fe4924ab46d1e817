"""Who acted, and what each role may do. Pure: the services turn users and keys into an Actor and ask here.

An Actor is a person (a Director or other user), a service key with its name, or a named system component
(`hr`, `accountant`, `beat`, `sweeper`, ...). Every write service takes one as a required keyword, stores its
label on every record it writes, and asks `may` before it changes anything.
"""

from dataclasses import dataclass

DIRECTOR = "Director"
MANAGER = "Manager"
AUDITOR = "Auditor"
VIEWER = "Viewer"
SYSTEM = "System"  # the role of the engine's own components

USER = "user"
KEY = "key"
COMPONENT = "system"

# What each write needs. The Director may do everything; the components do only what automation does.
PERMISSIONS: dict[str, frozenset[str]] = {
    "report": frozenset({MANAGER, SYSTEM}),
    "hire": frozenset({MANAGER}),
    "task": frozenset({MANAGER, SYSTEM}),
    "enforce": frozenset({MANAGER}),
    "score": frozenset({MANAGER, SYSTEM}),
    "discipline": frozenset({SYSTEM}),  # HR's and the Accountant's own actions
    "intervene": frozenset(),
    "overturn": frozenset(),
    "review": frozenset(),
    "publish": frozenset(),
    "hold": frozenset(),
    "purge_early": frozenset(),
    "purge": frozenset({SYSTEM}),
    "halt": frozenset(),
    # A detector's mode: the Director, and the oversight's automatic switch to observe (issue 11).
    "detector_mode": frozenset({SYSTEM}),
}


@dataclass(frozen=True)
class Actor:
    """One caller: `kind` is user, key or system; `name` the username, key name or component."""

    kind: str
    name: str
    roles: frozenset[str] = frozenset()
    user_id: int | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def is_director(self) -> bool:
        return DIRECTOR in self.roles

    def __str__(self) -> str:
        return self.label


def component(name: str) -> Actor:
    """A named part of the engine acting on its own: hr, accountant, beat, sweeper, timers, purge, ..."""
    return Actor(kind=COMPONENT, name=name, roles=frozenset({SYSTEM}))


def may(actor: Actor, permission: str) -> bool:
    """Whether the actor's roles allow the write. Unknown permissions allow nobody but the Director."""
    if actor.is_director:
        return True
    return bool(actor.roles & PERMISSIONS.get(permission, frozenset()))


# The system components, by the name they record.
HR = component("hr")
ACCOUNTANT = component("accountant")
BEAT = component("beat")
SWEEPER = component("sweeper")
TIMERS = component("timers")
COMMAND = component("command")
OVERSIGHT = component("oversight")  # switches a detector overturned too often to observe


def on_behalf_of(label: str) -> Actor:
    """A background job acting for whoever submitted the work (a batch run for the Manager's key): it records
    the submitter's label, with the rights of the engine's own components."""
    kind, _, name = label.partition(":")
    if not name:
        kind, name = COMPONENT, label or "unknown"
    return Actor(kind=kind, name=name, roles=frozenset({SYSTEM}))


def service_key(name: str, role: str) -> Actor:
    """The caller behind a service key: its name, acting in its one role."""
    return Actor(kind=KEY, name=name, roles=frozenset({role}))
