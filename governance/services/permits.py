"""The purge's licence to delete append-only evidence (see governance/migrations/0004_append_only_triggers.py),
and the connection it deletes over.

The database refuses a DELETE on an evidence table unless a PurgePermit row is visible to the deleting
transaction. The permit lives and dies inside that transaction, so no other connection ever sees it.

With database roles (manage.py db_roles), the purge runs over its own connection, the `purge` alias
(DATABASE_PURGE_URL), as the purge role: the only role that may insert a permit or delete evidence at all. The
application's role has neither privilege, so a permit cannot unlock anything for it; the triggers stay as
defence in depth.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from governance.models import PurgePermit

PURGE_ALIAS = "purge"
# What makes two aliases one login to one database.
_LOGIN = ("ENGINE", "NAME", "USER", "HOST", "PORT")


def purge_database() -> str:
    """The alias the purge runs on: `purge` when it is configured as another login, else the default connection.

    Unset (SQLite, a single PostgreSQL URL) or the same login as the default (a test database mirrors the
    default), a second connection would add nothing but a transaction the caller cannot see."""
    if PURGE_ALIAS not in connections.settings:
        return DEFAULT_DB_ALIAS
    purge, default = connections[PURGE_ALIAS].settings_dict, connections[DEFAULT_DB_ALIAS].settings_dict
    if all(purge.get(key) == default.get(key) for key in _LOGIN):
        return DEFAULT_DB_ALIAS
    return PURGE_ALIAS


@contextmanager
def purge_permit(*, reason: str, using: str | None = None) -> Iterator[PurgePermit]:
    """Let the enclosing transaction on `using` (the purge's connection by default) delete evidence rows until
    the block ends.

    Use inside `transaction.atomic(using=...)`: a permit committed on its own would license every connection.
    """
    using = using or purge_database()
    if not transaction.get_connection(using).in_atomic_block:
        raise transaction.TransactionManagementError(
            "purge_permit() must run inside transaction.atomic(); "
            "a permit outside a transaction would be committed and let anyone delete evidence."
        )
    # A savepoint of its own: if the block raises and the caller catches it inside the same transaction,
    # the permit is rolled back with the deletes rather than left behind to be committed.
    with transaction.atomic(using=using):
        permit = PurgePermit.objects.using(using).create(reason=reason)
        yield permit
        PurgePermit.objects.using(using).filter(pk=permit.pk).delete()
