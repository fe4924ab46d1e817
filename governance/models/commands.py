from django.db import models


class CommandRecord(models.Model):
    """The stored answer to a command sent with an Idempotency-Key (enforce, batch submission), so a retry
    gets the same answer and changes nothing."""

    key = models.CharField(max_length=250, unique=True, help_text="<endpoint>:<Idempotency-Key>.")
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical body, to spot reuse.")
    response = models.JSONField()
    status_code = models.PositiveSmallIntegerField(default=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The retention purge.
            models.Index(fields=["created_at"], name="governance_command_time_idx"),
        ]

    def __str__(self) -> str:
        return self.key
