"""The fleet's mode, pure: normal, or halted by the Director (an emergency pause of all routing).

While halted, routing offers nobody (workforce.domain.routing.rank) and an assignment someone asks for is refused
with `SystemHalted`, which says who halted the fleet, since when and why. Reports are still recorded: a repair
after a failed attempt leaves the task waiting for a worker instead.
"""

from dataclasses import dataclass
from datetime import datetime

from aura_project.errors import DomainError

NORMAL = "normal"
HALTED = "halted"


@dataclass(frozen=True)
class Mode:
    """The mode, with who set it, when and why (for `normal`: the last resume, if any)."""

    halted: bool = False
    since: datetime | None = None
    by: str = ""
    reason: str = ""

    @property
    def name(self) -> str:
        return HALTED if self.halted else NORMAL

    def describe(self) -> str:
        if not self.halted:
            return "the system is running normally"
        since = self.since.isoformat() if self.since else "an unknown time"
        return f"the system is halted by {self.by or 'the Director'} since {since}: {self.reason}"

    def as_dict(self) -> dict:
        return {
            "mode": self.name,
            "halted": self.halted,
            "since": self.since.isoformat() if self.since else None,
            "by": self.by,
            "reason": self.reason,
        }


NORMAL_MODE = Mode()


def mode_change_problem(mode: Mode, *, halt: bool) -> str | None:
    """Why halting (or resuming) would change nothing; None when it applies."""
    if halt and mode.halted:
        return f"already halted: {mode.describe()}"
    if not halt and not mode.halted:
        return "the system is not halted"
    return None


class SystemHalted(DomainError):
    """An assignment asked for while the fleet is halted: 409, naming who halted it, since when and why."""

    status_code = 409

    def __init__(self, mode: Mode) -> None:
        super().__init__(f"assignment refused: {mode.describe()}", code="halted")
        self.mode = mode

    def as_body(self) -> dict:
        return {
            "detail": self.message,
            "code": self.code,
            "halted_by": self.mode.by,
            "halted_since": self.mode.since.isoformat() if self.mode.since else None,
            "halt_reason": self.mode.reason,
        }
