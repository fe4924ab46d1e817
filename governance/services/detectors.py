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
from governance.services.settings import settings_problems, settings_publish
from workforce.domain.actor import USER
from workforce.models import Event
from workforce.services.access import actor_require
from workforce.services.events import Outbox

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
        _modes_announce(before=current, after=draft, actor_label=actor.label, reason=reason, now=now)
    return ModeChange(name, before, mode, changed=True, settings=draft, actor_label=actor.label)


def detector_settings_publish(*, draft: GovernanceSettings, note: str, actor, now: datetime) -> GovernanceSettings:
    """The Director's settings editor: publish `draft` (settings_publish) and, in the same transaction, tell the
    Manager's inbox of each detector whose mode the new version changes, as `detector_mode_set` does."""
    with transaction.atomic():
        # Locked as detector_mode_set locks it: the version this one replaces is the one compared with.
        newest = GovernanceSettings.objects.select_for_update().order_by("-version").values_list("version", flat=True)
        before = settings_current(version=newest.first())
        published = settings_publish(draft=draft, note=note, actor=actor)
        _modes_announce(before=before, after=published, actor_label=_label_of(actor), reason=note, now=now)
    return published


def _label_of(actor) -> str:
    return actor_require(actor, "detector_mode", message="only the Director may set a detector's mode").label


def _modes_announce(*, before: GovernanceSettings, after: GovernanceSettings, actor_label: str, reason: str, now):
    """One `detector.mode_changed` event per detector whose mode differs between the two versions (whoever changed
    it: the Director, or the oversight's automatic switch, which also sends its figures as detector.auto_observe)."""
    old, new = detector_setup(before).modes, detector_setup(after).modes
    outbox = Outbox(now)
    for name in REGISTRY:
        if old[name] != new[name]:
            outbox.add(
                Event.Kind.DETECTOR_MODE_CHANGED.value,
                detector=name,
                before=old[name].value,
                mode=new[name].value,
                settings_version=after.version,
                actor=actor_label,
                reason=reason,
            )
    outbox.flush()
