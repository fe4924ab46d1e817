"""Migrating governance backwards and forwards keeps exactly the append-only triggers the applied migrations lay.

These tests unapply migrations, so they run outside a test transaction and migrate every app forward again
before they end, whatever happened, for the tests that follow.
"""

from importlib import import_module

import pytest
from django.core.management import call_command
from django.db import connection

append_only = import_module("governance.migrations.0004_append_only_triggers")
history_append_only = import_module("governance.migrations.0010_history_append_only")
record_append_only = import_module("governance.migrations.0015_record_append_only")
mode_append_only = import_module("governance.migrations.0017_system_mode_history_append_only")
finding_append_only = import_module("governance.migrations.0019_findings_detector_settings")

# 0004's twelve triggers, laid again by 0008: every UPDATE on the append-only tables and the incident's,
# every DELETE on all six.
EVIDENCE_TRIGGERS = {
    *(f"{table}_append_only_update" for table in [*append_only.APPEND_ONLY_TABLES, "governance_incident"]),
    *(f"{table}_append_only_delete" for table in append_only.DELETE_GUARDED_TABLES),
}
HISTORY_TRIGGERS = {
    f"{table}_append_only_{operation}"
    for table in history_append_only.HISTORY_TABLES
    for operation in ("update", "delete")
}
# 0015's: the other history tables, the purge log, batch items and stored answers.
RECORD_TRIGGERS = {
    f"{table}_append_only_{operation}" for table in record_append_only.TABLES for operation in ("update", "delete")
}
# 0017's: the system mode's history (every halt and resume).
MODE_TRIGGERS = {
    f"{table}_append_only_{operation}"
    for table in mode_append_only.HISTORY_TABLES
    for operation in ("update", "delete")
}
# 0019's: the detectors' findings.
FINDING_TRIGGERS = {
    f"{table}_append_only_{operation}"
    for table in finding_append_only.APPEND_ONLY_TABLES
    for operation in ("update", "delete")
}
ALL_TRIGGERS = EVIDENCE_TRIGGERS | HISTORY_TRIGGERS | RECORD_TRIGGERS | MODE_TRIGGERS | FINDING_TRIGGERS


def append_only_triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall() if name.endswith(("_append_only_update", "_append_only_delete"))}


@pytest.fixture
def migrated_forward_afterwards(transactional_db):
    yield
    call_command("migrate", verbosity=0)


def test_a_fully_migrated_database_has_every_append_only_trigger(db):
    assert len(EVIDENCE_TRIGGERS) == 12
    assert len(HISTORY_TRIGGERS) == 10
    assert len(RECORD_TRIGGERS) == 16
    assert len(MODE_TRIGGERS) == 2
    assert len(FINDING_TRIGGERS) == 2
    assert append_only_triggers() == ALL_TRIGGERS


def test_migrating_governance_back_to_0007_keeps_the_triggers_of_0004(migrated_forward_afterwards):
    call_command("migrate", "governance", "0007", verbosity=0)

    # 0004 is still applied, so its triggers stay; only the history tables' (0010) and 0015's are gone.
    assert append_only_triggers() == EVIDENCE_TRIGGERS

    call_command("migrate", verbosity=0)

    assert append_only_triggers() == ALL_TRIGGERS


def test_migrating_governance_back_to_0003_drops_every_append_only_trigger(migrated_forward_afterwards):
    call_command("migrate", "governance", "0003", verbosity=0)

    assert append_only_triggers() == set()

    call_command("migrate", verbosity=0)

    assert append_only_triggers() == ALL_TRIGGERS
