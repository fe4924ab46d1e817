"""The Manager's inbox: durable events, written in the same transaction as the change they describe."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from workforce.models import Event

# Any constant shared by every writer of events; see Outbox.flush.
_EVENT_ORDER_LOCK = 7_301_001


@dataclass
class Outbox:
    """Collects a transaction's events and writes them as its last step."""

    now: datetime
    pending: list[Event] = field(default_factory=list)

    def add(self, kind: str, *, model_id: str = "", task_id: str = "", **payload) -> None:
        self.pending.append(Event(kind=kind, model_id=model_id, task_id=task_id, payload=payload, created_at=self.now))

    def flush(self) -> list[Event]:
        """Write the events.

        The cursor is the id, so ids must become visible in id order. On PostgreSQL two transactions can draw
        ids 10 and 11 and commit 11 first; a Manager reading after=10 at that moment would skip 10 for good.
        A transaction-scoped advisory lock taken just before the insert makes writers draw ids in commit
        order. Flushing last keeps that serialised stretch short. SQLite has one writer, so it needs no lock.
        """
        if not self.pending:
            return []
        assert transaction.get_connection().in_atomic_block, "events are written inside the change's transaction"
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_EVENT_ORDER_LOCK])
        written, self.pending = Event.objects.bulk_create(self.pending), []
        return written
