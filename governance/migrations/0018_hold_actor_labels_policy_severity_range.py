"""A hold names who placed it and who lifted it, and why, by the actor's label: a Director's service key has no user
for the old columns to point at. A policy's severity is on the reports' scale, 1 to 5, by a check constraint.

The labels are backfilled from the inbox's hold.placed / hold.lifted events where the inbox still has them (they
carry the label and the lift's reason), else from the user columns. A policy outside the scale stops the
migration rather than being changed here: a policy edit goes through the Director's service, which publishes a
settings version naming it (governance.services.policies), and a migration would change one unrecorded.
"""

import django.core.validators
from django.db import migrations, models

SEVERITY_MIN, SEVERITY_MAX = 1, 5  # governance.domain.detection, as it stood when this migration was written
HOLD_PLACED, HOLD_LIFTED = "hold.placed", "hold.lifted"


def backfill_hold_labels(apps, schema_editor):
    Hold = apps.get_model("governance", "Hold")
    Event = apps.get_model("workforce", "Event")
    placed: dict[int, str] = {}
    lifted: dict[int, tuple[str, str]] = {}
    events = Event.objects.filter(kind__in=[HOLD_PLACED, HOLD_LIFTED]).order_by("id")
    for kind, payload in events.values_list("kind", "payload").iterator():
        hold_id = payload.get("hold") if isinstance(payload, dict) else None
        if not isinstance(hold_id, int):
            continue
        if kind == HOLD_PLACED:
            placed.setdefault(hold_id, str(payload.get("actor") or ""))
        else:
            lifted.setdefault(hold_id, (str(payload.get("actor") or ""), str(payload.get("reason") or "")))
    rows = Hold.objects.values_list("pk", "created_by__username", "lifted_at", "lifted_by__username")
    for pk, creator, lifted_at, lifter in rows.iterator():
        changes = {}
        if label := placed.get(pk) or (f"user:{creator}" if creator else ""):
            changes["created_by_label"] = label[:200]
        if lifted_at is not None:
            event_label, reason = lifted.get(pk, ("", ""))
            if label := event_label or (f"user:{lifter}" if lifter else ""):
                changes["lifted_by_label"] = label[:200]
            if reason:
                changes["lift_reason"] = reason[:500]
        if changes:
            Hold.objects.filter(pk=pk).update(**changes)


def refuse_policies_off_the_scale(apps, schema_editor):
    Policy = apps.get_model("governance", "Policy")
    off = list(
        Policy.objects.exclude(severity__gte=SEVERITY_MIN, severity__lte=SEVERITY_MAX)
        .order_by("violation_type")
        .values_list("violation_type", "severity")
    )
    if off:
        named = ", ".join(f"{kind} (severity {severity})" for kind, severity in off)
        raise RuntimeError(
            f"Policies outside the severity scale {SEVERITY_MIN} to {SEVERITY_MAX}: {named}. Set each within it "
            "in the control room (Policies), which records the edit, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0017_system_mode_history_append_only"),
        ("workforce", "0008_system_mode"),
    ]

    operations = [
        migrations.RunPython(refuse_policies_off_the_scale, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name="hold",
            name="created_by_label",
            field=models.CharField(
                blank=True, help_text="Who placed the hold: user:... or key:... (a key has no user).", max_length=200
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="lift_reason",
            field=models.CharField(blank=True, help_text="Why the hold was lifted.", max_length=500),
        ),
        migrations.AddField(
            model_name="hold",
            name="lifted_by_label",
            field=models.CharField(blank=True, help_text="Who lifted the hold: user:... or key:...", max_length=200),
        ),
        migrations.RunPython(backfill_hold_labels, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="historicalpolicy",
            name="severity",
            field=models.PositiveSmallIntegerField(
                help_text="1 (mildest) to 5 (gravest), the scale of the Auditor's reports.",
                validators=[
                    django.core.validators.MinValueValidator(1, message="Severity is a whole number from 1 to 5."),
                    django.core.validators.MaxValueValidator(5, message="Severity is a whole number from 1 to 5."),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="policy",
            name="severity",
            field=models.PositiveSmallIntegerField(
                help_text="1 (mildest) to 5 (gravest), the scale of the Auditor's reports.",
                validators=[
                    django.core.validators.MinValueValidator(1, message="Severity is a whole number from 1 to 5."),
                    django.core.validators.MaxValueValidator(5, message="Severity is a whole number from 1 to 5."),
                ],
            ),
        ),
        migrations.AddConstraint(
            model_name="policy",
            constraint=models.CheckConstraint(
                condition=models.Q(("severity__gte", 1), ("severity__lte", 5)),
                name="governance_policy_severity_in_range",
                violation_error_message="Severity is a whole number from 1 to 5.",
            ),
        ),
    ]
