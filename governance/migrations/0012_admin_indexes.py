"""Indexes for the admin's evidence lists at millions of rows (aura_project.admin_scale): each serves a list
filter, so that the list, its bounded count and its date hierarchy find a filter value's rows newest first
instead of scanning the table. Built concurrently on PostgreSQL, so reports keep arriving meanwhile."""

from django.db import migrations, models

from aura_project.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("governance", "0011_actors_reviews_probation"),
    ]

    operations = [
        # Reports by outcome, newest first. Clean ones, most of them, are found on the time index; the index
        # holds the rest only, so a clean report (the common write) adds nothing to it.
        AddIndexOnline(
            model_name="auditrecord",
            index=models.Index(
                condition=models.Q(("outcome", "clean"), _negated=True),
                fields=["outcome", "received_at"],
                name="governance_audit_outcome_idx",
            ),
        ),
        # Reports the detector flagged, by flag, newest first: only flagged reports are in these.
        AddIndexOnline(
            model_name="auditrecord",
            index=models.Index(
                condition=models.Q(("hallucinated", True)), fields=["received_at"], name="governance_audit_halluc_idx"
            ),
        ),
        AddIndexOnline(
            model_name="auditrecord",
            index=models.Index(
                condition=models.Q(("scope_drift", True)), fields=["received_at"], name="governance_audit_drift_idx"
            ),
        ),
        AddIndexOnline(
            model_name="auditrecord",
            index=models.Index(
                condition=models.Q(("format_violation", True)),
                fields=["received_at"],
                name="governance_audit_format_idx",
            ),
        ),
        # Disciplinary actions by action, and by who acted, newest first.
        AddIndexOnline(
            model_name="disciplinaryaction",
            index=models.Index(fields=["action", "created_at"], name="governance_action_kind_idx"),
        ),
        AddIndexOnline(
            model_name="disciplinaryaction",
            index=models.Index(fields=["actor_kind", "created_at"], name="governance_action_actor_idx"),
        ),
        # Incidents by status, and by severity, newest first.
        AddIndexOnline(
            model_name="incident",
            index=models.Index(fields=["status", "reported_at"], name="governance_incident_status_idx"),
        ),
        AddIndexOnline(
            model_name="incident",
            index=models.Index(fields=["severity", "reported_at"], name="governance_incident_sev_idx"),
        ),
        # Penalties by violation type, and by severity, newest first.
        AddIndexOnline(
            model_name="penalty",
            index=models.Index(fields=["reason", "created_at"], name="governance_penalty_reason_idx"),
        ),
        AddIndexOnline(
            model_name="penalty",
            index=models.Index(fields=["severity", "created_at"], name="governance_penalty_sev_idx"),
        ),
        # Scores by what was applied, newest first; NONE, most scores, is found on the time index.
        AddIndexOnline(
            model_name="scorerecord",
            index=models.Index(
                condition=models.Q(("applied_action", "NONE"), _negated=True),
                fields=["applied_action", "created_at"],
                name="governance_score_applied_idx",
            ),
        ),
    ]
