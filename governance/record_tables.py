"""Which tables hold the record, and how each is guarded: one list for the database roles (manage.py db_roles),
the tests and the test suite's clean-up, read from the migrations that lay the triggers.

- APPEND_ONLY: every UPDATE refused, DELETE only under a purge permit (the evidence, every Historical* table,
  the stored answers to commands).
- INCIDENT: DELETE only under a permit; an UPDATE may change only INCIDENT_MUTABLE_COLUMNS.
- RUN_ITEMS: a pending batch item's RUN_ITEM_SETTABLE columns are set once; anything else under a permit.
- PURGE_ONLY: written by the purge alone (its log: UPDATE and DELETE under a permit) or its licence (the
  permit table, which the triggers read).
"""

from importlib import import_module

from django.apps import apps
from simple_history.models import HistoricalChanges

_evidence = import_module("governance.migrations.0004_append_only_triggers")
_history = import_module("governance.migrations.0010_history_append_only")
_record = import_module("governance.migrations.0015_record_append_only")
_mode = import_module("governance.migrations.0017_system_mode_history_append_only")
_finding = import_module("governance.migrations.0019_findings_detector_settings")

INCIDENT = "governance_incident"
INCIDENT_MUTABLE_COLUMNS = tuple(_evidence.INCIDENT_MUTABLE_COLUMNS)
APPEND_ONLY = tuple(
    [
        *_evidence.APPEND_ONLY_TABLES,
        *_history.HISTORY_TABLES,
        *_record.APPEND_ONLY_TABLES,
        *_mode.HISTORY_TABLES,
        *_finding.APPEND_ONLY_TABLES,
    ]
)
RUN_ITEMS = _record.RUN_ITEM_TABLE
RUN_ITEM_SETTABLE = tuple(_record.RUN_ITEM_SETTABLE)
PURGE_LOG = _record.PERMIT_TABLES[0]
PURGE_PERMIT = "governance_purgepermit"
# Every table whose triggers refuse UPDATE or DELETE without a permit.
GUARDED = (*APPEND_ONLY, INCIDENT, RUN_ITEMS, PURGE_LOG)


def history_tables() -> list[str]:
    """Every django-simple-history table the installed apps define (each must be in APPEND_ONLY)."""
    return sorted(model._meta.db_table for model in apps.get_models() if issubclass(model, HistoricalChanges))
