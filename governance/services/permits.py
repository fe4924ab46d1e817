"""The purge's licence to delete append-only evidence (see governance/migrations/0004_append_only_triggers.py).

The database refuses a DELETE on an evidence table unless a PurgePermit row is visible to the deleting
transaction. The permit lives and dies inside that transaction, so no other connection ever sees it.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from governance.models import PurgePermit


@contextmanager
def purge_permit(*, reason: str) -> Iterator[PurgePermit]:
    """Let the enclosing transaction delete evidence rows until the block ends.

    Use inside `transaction.atomic()`: a permit committed on its own would license every connection.
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "purge_permit() must run inside transaction.atomic(); "
            "a permit outside a transaction would be committed and let anyone delete evidence."
        )
    # A savepoint of its own: if the block raises and the caller catches it inside the same transaction,
    # the permit is rolled back with the deletes rather than left behind to be committed.
    with transaction.atomic():
        permit = PurgePermit.objects.create(reason=reason)
        yield permit
        PurgePermit.objects.filter(pk=permit.pk).delete()
