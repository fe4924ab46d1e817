"""The Director edits HR's written policy. Every decision names the settings version it used
(DisciplinaryAction.policy_version), and a policy is edited in place, so each edit publishes a new settings
version in the same transaction: a decision before the edit and one after it name different versions."""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from aura_project.errors import DomainError
from governance.domain.detection import SEVERITY_MAX, SEVERITY_MIN
from governance.domain.ladder import ACTION_ORDER
from governance.models import Policy
from governance.models.policy import SEVERITY_MESSAGE
from governance.selectors import settings_current
from governance.services.settings import settings_publish
from workforce.services.access import is_director


def policy_problems(*, severity, action) -> dict[str, str]:
    """What is wrong with a policy's new values, by field; empty when it may be saved."""
    problems: dict[str, str] = {}
    # The reports' scale (governance.domain.detection); the column's validators and check constraint say the same.
    if not isinstance(severity, int) or isinstance(severity, bool) or not SEVERITY_MIN <= severity <= SEVERITY_MAX:
        problems["severity"] = SEVERITY_MESSAGE
    if action not in ACTION_ORDER:
        # Promotions, rehires, reinstatements and overturns are never a violation's consequence.
        problems["action"] = "A policy's action is one of: " + ", ".join(ACTION_ORDER) + "."
    return problems


def policy_update(
    *,
    policy: Policy,
    severity: int,
    action: str,
    description: str,
    active: bool,
    actor: User,
    now: datetime,
    reason: str = "",
) -> Policy:
    """Save the Director's edit of one policy and publish the settings version that decisions will name."""
    if not is_director(actor):
        raise DomainError("only the Director may change a policy", field="actor", code="forbidden")
    if problems := policy_problems(severity=severity, action=action):
        field, message = next(iter(problems.items()))
        raise DomainError(message, field=field)
    note = f"policy {policy.violation_type} changed by {actor.get_username()}"
    if reason.strip():  # the Director's why, kept on the policy's history and the version it publishes
        note = f"{note}: {reason.strip()}"
    with transaction.atomic():
        # The row lock makes two edits of one policy take turns, each starting from what the other saved.
        locked = Policy.objects.select_for_update().get(pk=policy.pk)
        locked.severity, locked.action, locked.active = severity, action, active
        locked.description = (description or "")[: Policy._meta.get_field("description").max_length]
        locked._history_user, locked._history_date, locked._change_reason = actor, now, note[:100]
        locked.save()
        # The version in force, copied as it is, under a new number and a note that says why.
        draft = settings_current()
        draft._history_date = now
        settings_publish(draft=draft, note=note, actor=actor)
    policy.refresh_from_db()
    return policy
