from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from aura_project.history import ActorHistory, history_user
from governance.models.policy import Action


class DisciplinaryAction(models.Model):
    """One action applied to a Worker, by HR automation, the Accountant or a named Director. Append-only.

    An overturn is a new row whose `overturns` points at the action it cancels.
    """

    class Actor(models.TextChoices):
        HR = "HR", "HR automation"
        ACCOUNTANT = "ACCOUNTANT", "Accountant"
        SYSTEM = "SYSTEM", "System timer"
        DIRECTOR = "DIRECTOR", "Director"

    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="disciplinary_actions")
    incident = models.ForeignKey(
        "governance.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="actions"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    reason = models.CharField(max_length=500)
    actor_kind = models.CharField(max_length=10, choices=Actor.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, help_text="The Director, if any."
    )
    policy_version = models.BigIntegerField(help_text="The governance settings version that decided it.")
    violation_type = models.CharField(max_length=50, blank=True)
    effective_until = models.DateTimeField(null=True, blank=True, help_text="End of a suspension or cooldown.")
    overturns = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="overturned_by"
    )
    created_at = models.DateTimeField()
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who acted: user:..., key:... or system:....")

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                # A Director acting through a key has no user row; the key's name is the name then.
                condition=Q(actor_kind="DIRECTOR", actor__isnull=False)
                | (Q(actor_kind="DIRECTOR") & ~Q(actor_label=""))
                | ~Q(actor_kind="DIRECTOR"),
                name="%(app_label)s_%(class)s_director_named",
                violation_error_message="A Director's action must name the Director.",
            ),
            models.CheckConstraint(
                condition=Q(action="OVERTURN", overturns__isnull=False) | ~Q(action="OVERTURN"),
                name="%(app_label)s_%(class)s_overturn_points_back",
                violation_error_message="An overturn must point at the action it overturns.",
            ),
        ]
        indexes = [
            # The HR ladder's record: a worker's actions by time.
            models.Index(fields=["worker", "created_at"], name="governance_action_worker_idx"),
            models.Index(fields=["created_at"], name="governance_action_time_idx"),
            # The admin's action list filtered by action or by who acted, newest first.
            models.Index(fields=["action", "created_at"], name="governance_action_kind_idx"),
            models.Index(fields=["actor_kind", "created_at"], name="governance_action_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.worker_id} ({self.reason})"


class ScoreRecord(models.Model):
    """One move of a Worker's reputation (the seed's model_scores). Append-only.

    A PENALTY move is an incident's points, at report time; a RUN or API score is the Accountant's; a
    RECOMPUTE sets the reputation again from the evidence that still stands, after an overturn."""

    class Kind(models.TextChoices):
        RUN = "RUN", "Scoring run"
        API = "API", "Manager's score"
        PENALTY = "PENALTY", "Incident penalty"
        RECOMPUTE = "RECOMPUTE", "Recomputed after an overturn"

    worker = models.ForeignKey("workforce.Worker", on_delete=models.PROTECT, related_name="scores")
    score = models.PositiveSmallIntegerField()
    previous_reputation = models.PositiveSmallIntegerField()
    reputation = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=12)
    applied_action = models.CharField(max_length=12, blank=True, help_text="What was applied after the guards.")
    metrics = models.JSONField()
    penalties = models.JSONField(default=list)
    settings_version = models.BigIntegerField()
    run_key = models.CharField(
        max_length=200, null=True, blank=True, help_text="The scoring run or request that produced it."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RUN)
    incident = models.ForeignKey(
        "governance.Incident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="score_moves",
        help_text="A PENALTY move's incident.",
    )
    basis = models.JSONField(
        default=dict, blank=True, help_text="A run's evidence: reports counted and the incidents among them."
    )
    created_at = models.DateTimeField()
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who acted: user:..., key:... or system:....")

    history = HistoricalRecords(get_user=history_user, bases=[ActorHistory])

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A scoring run delivered twice never scores a worker twice.
            models.UniqueConstraint(fields=["worker", "run_key"], name="%(app_label)s_%(class)s_once_per_run"),
            models.CheckConstraint(
                condition=Q(score__lte=100) & Q(reputation__lte=100),
                name="%(app_label)s_%(class)s_range",
                violation_error_message="Scores and reputations lie between 0 and 100.",
            ),
        ]
        indexes = [
            models.Index(fields=["worker", "created_at"], name="governance_score_worker_idx"),
            models.Index(fields=["created_at"], name="governance_score_time_idx"),
            # The admin's score list filtered by what was applied, newest first. NONE, most scores, is found
            # on the time index; the index holds only the rest, so a routine score writes nothing to it.
            models.Index(
                fields=["applied_action", "created_at"],
                condition=~Q(applied_action="NONE"),
                name="governance_score_applied_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id}: {self.score} -> {self.reputation}"
