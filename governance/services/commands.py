"""Idempotency for commands that have no natural key (enforce, batch submission): the first answer is
stored under the caller's Idempotency-Key, in the command's own transaction, and a retry gets it back."""

import hashlib
import json
from datetime import datetime

from aura_project.errors import IdempotencyConflict
from governance.models import CommandRecord

KEY_MAX = CommandRecord._meta.get_field("key").max_length


def body_fingerprint(body: object) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def command_replay(*, key: str, fingerprint: str) -> dict | None:
    """The stored answer for this key, or None. The same key with another body is a 422."""
    stored = CommandRecord.objects.filter(key=key).first()
    if stored is None:
        return None
    if stored.request_hash != fingerprint:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different request", field="Idempotency-Key"
        )
    return stored.response


def command_store(*, key: str, fingerprint: str, response: dict, now: datetime) -> None:
    """Store the answer; call inside the command's transaction so the answer and the effects commit together.
    A concurrent duplicate fails here on the unique key and its whole transaction rolls back."""
    CommandRecord.objects.create(key=key, request_hash=fingerprint, response=response, created_at=now)
