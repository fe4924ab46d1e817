"""The Director's admin for governance: reports, incidents, disciplinary actions, scores, penalties and settings.

Evidence is read-only here for everyone; the database refuses edits and deletes too (migration 0004).
Access by role comes from workforce.admin.
"""

from django.contrib import admin

from governance.models import (
    AuditRecord,
    AuditRun,
    AuditRunItem,
    DisciplinaryAction,
    GovernanceSettings,
    Hold,
    Incident,
    Penalty,
    Policy,
    PurgeLog,
    PurgePermit,
    ScoreRecord,
    ScoringRun,
)
from workforce.admin import AppendOnlyAdminMixin, HistoryAdmin, RoleAccessMixin, ViewOnlyAdminMixin


@admin.register(AuditRecord)
class AuditRecordAdmin(AppendOnlyAdminMixin, HistoryAdmin):
    list_display = ["report_id", "worker", "task", "outcome", "hallucinated", "scope_drift", "received_at"]
    list_filter = ["outcome", "hallucinated", "scope_drift", "format_violation"]
    search_fields = ["report_id", "worker__model_id", "task__task_id"]
    list_select_related = ["worker", "task"]
    date_hierarchy = "received_at"


@admin.register(Incident)
class IncidentAdmin(AppendOnlyAdminMixin, HistoryAdmin):
    # Read-only as a whole for now; status moves through HR services.
    list_display = ["id", "worker", "task", "severity", "status", "reported_at", "resolved_at"]
    list_filter = ["status", "severity"]
    search_fields = ["worker__model_id", "task__task_id", "report__report_id"]
    list_select_related = ["worker", "task"]
    date_hierarchy = "reported_at"


@admin.register(DisciplinaryAction)
class DisciplinaryActionAdmin(AppendOnlyAdminMixin, HistoryAdmin):
    list_display = ["created_at", "worker", "action", "actor_kind", "actor", "reason", "effective_until"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["worker__model_id", "reason", "violation_type"]
    list_select_related = ["worker", "actor"]
    date_hierarchy = "created_at"


@admin.register(ScoreRecord)
class ScoreRecordAdmin(AppendOnlyAdminMixin, HistoryAdmin):
    list_display = ["created_at", "worker", "score", "previous_reputation", "reputation", "applied_action"]
    list_filter = ["applied_action"]
    search_fields = ["worker__model_id", "run_key"]
    list_select_related = ["worker"]
    date_hierarchy = "created_at"


@admin.register(Penalty)
class PenaltyAdmin(AppendOnlyAdminMixin, HistoryAdmin):
    list_display = ["created_at", "worker", "reason", "severity", "points", "incident"]
    list_filter = ["reason", "severity"]
    search_fields = ["worker__model_id", "reason"]
    list_select_related = ["worker", "incident"]
    date_hierarchy = "created_at"


@admin.register(GovernanceSettings)
class GovernanceSettingsAdmin(AppendOnlyAdminMixin, HistoryAdmin):
    """Every version stays as it was: decisions name the version they used."""

    list_display = [
        "version",
        "created_at",
        "created_by",
        "note",
        "promotion_threshold",
        "warning_threshold",
        "termination_threshold",
        "retention_days",
    ]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"


@admin.register(Policy)
class PolicyAdmin(HistoryAdmin):
    list_display = ["violation_type", "severity", "action", "active", "description"]
    list_filter = ["action", "active", "severity"]
    search_fields = ["violation_type", "description"]


@admin.register(AuditRun)
class AuditRunAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    list_display = ["id", "status", "total", "processed", "submitted_by", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["submitted_by"]
    date_hierarchy = "created_at"


@admin.register(AuditRunItem)
class AuditRunItemAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    list_display = ["run", "position", "status"]
    list_filter = ["status"]
    list_select_related = ["run"]


@admin.register(ScoringRun)
class ScoringRunAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    list_display = ["key", "trigger", "status", "window_end", "workers_scored", "created_at", "finished_at"]
    list_filter = ["status", "trigger"]
    search_fields = ["key"]
    date_hierarchy = "created_at"


@admin.register(Hold)
class HoldAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    list_display = ["kind", "worker", "incident", "reason", "created_by", "created_at", "lifted_at"]
    list_filter = ["kind", "lifted_at"]
    search_fields = ["worker__model_id", "reason"]
    list_select_related = ["worker", "incident", "created_by"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a hold is lifted, not deleted, so the purge's exemptions stay explained


@admin.register(PurgeLog)
class PurgeLogAdmin(AppendOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    """The record of what each purge deleted: it outlives the rows it names."""

    list_display = ["started_at", "actor_kind", "actor", "reason", "cutoff", "dry_run", "finished_at"]
    list_filter = ["actor_kind", "dry_run"]
    search_fields = ["reason"]
    list_select_related = ["actor"]
    date_hierarchy = "started_at"


@admin.register(PurgePermit)
class PurgePermitAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    """A permit lives only inside a purge's transaction; one listed here was committed and licenses every
    delete of evidence. The Director may delete it, never create one."""

    list_display = ["id", "reason", "created_at"]
