from django.db import models


class PurgePermit(models.Model):
    """A row that exists only inside a purge's own transaction.

    The append-only triggers refuse DELETE unless a permit is visible. Other transactions never see an
    uncommitted permit (PostgreSQL's READ COMMITTED; SQLite's single writer), so only the purge may delete.
    """

    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"purge permit: {self.reason}"
