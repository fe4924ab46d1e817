"""A detector's mode, set by the Director (or the oversight's automatic switch to observe): a new settings version.

Modes live in the versioned settings (`GovernanceSettings.detector_modes`), so every finding names the version
whose mode it ran under, and a change is a new version with who made it and why, never an edit.
"""

import copy
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from aura_project.errors import DomainError, NotFound
from aura_project.history import acting
from governance.domain.detectors import MODES, REGISTRY
from governance.models import GovernanceSettings
from governance.selectors import settings_current
from governance.selectors_detectors import detector_setup
from governance.services.settings import settings_problems
from workforce.domain.actor import USER
from workforce.services.access import actor_require

NOTE_MAX = 300  # GovernanceSettings.note


@dataclass(frozen=True)
class ModeChange:
    detector: str
    before: str
    mode: str
    changed: bool
    settings: GovernanceSettings
    actor_label: str

    def as_dict(self) -> dict:
        return {
            "detector": self.detector,
            "before": self.before,
            "mode": self.mode,
            "changed": self.changed,
            "settings_version": self.settings.version,
            "actor": self.actor_label,
            "reason": self.settings.note if self.changed else "",
        }


def detector_mode_set(*, name: str, mode: str, reason: str, actor, now: datetime) -> ModeChange:
    """Set one detector's mode, publishing a new settings version noting who and why. Setting the mode it
    already has publishes nothing (a retry, or the oversight and the Director agreeing)."""
    actor = actor_require(actor, "detector_mode", message="only the Director may set a detector's mode")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("say why the mode changes", field="reason")
    if name not in REGISTRY:
        raise NotFound(f"no detector {name!r}; the detectors are: {', '.join(REGISTRY)}", field="name")
    if mode not in MODES:
        raise DomainError(f"the mode is one of {', '.join(MODES)}", field="mode")
    with acting(actor), transaction.atomic():
        # The newest version, locked: two changes at once publish one after the other, neither lost.
        newest = GovernanceSettings.objects.select_for_update().order_by("-version").values_list("version", flat=True)
        current = settings_current(version=newest.first())
        before = detector_setup(current).mode(name).value
        if before == mode:
            return ModeChange(name, before, mode, changed=False, settings=current, actor_label=actor.label)
        draft = copy.copy(current)
        draft.detector_modes = {**(current.detector_modes or {}), name: mode}
        problems = settings_problems({f.name: getattr(draft, f.name) for f in GovernanceSettings._meta.concrete_fields})
        if problems:
            field, message = next(iter(problems.items()))
            raise DomainError(message, field=field)
        draft.pk = None  # a new version, never an edit
        draft.note = f"detector {name}: {before} -> {mode} by {actor.label}: {reason}"[:NOTE_MAX]
        draft.created_by_id = actor.user_id if actor.kind == USER else None
        draft._change_reason = draft.note[:100]
        draft.save(force_insert=True)
    return ModeChange(name, before, mode, changed=True, settings=draft, actor_label=actor.label)
