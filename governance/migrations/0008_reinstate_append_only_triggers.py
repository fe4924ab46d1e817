"""SQLite drops a table's triggers when a migration rebuilds the table (0005 rebuilt the report and incident
tables), so the append-only triggers are laid again here. Idempotent on both backends. Any later migration
that alters a protected table must end with the same step."""

from importlib import import_module

from django.db import migrations

triggers = import_module("governance.migrations.0004_append_only_triggers")


class Migration(migrations.Migration):
    dependencies = [("governance", "0007_scoring_runs_holds_purge_log")]

    # Unapplying this migration leaves 0004 applied, and with it the promise that evidence is append-only, so
    # the reverse lays the triggers again (idempotent) rather than dropping them: dropping them here left every
    # evidence table unprotected after `migrate governance 0007`. 0004's own reverse drops them.
    operations = [migrations.RunPython(triggers.create_triggers, triggers.create_triggers)]
