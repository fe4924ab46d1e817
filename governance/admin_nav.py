"""Who sees which entry of the control room's sidebar (UNFOLD["SIDEBAR"]): an entry shows when its admin would
list the table on an index, so the sidebar and the indexes agree. Internal tables show to superusers only."""

from django.apps import apps
from django.contrib import admin


def _may_view(label: str):
    def check(request) -> bool:
        model_admin = admin.site.get_model_admin(apps.get_model(label))
        return model_admin.has_module_permission(request) and any(model_admin.get_model_perms(request).values())

    check.__name__ = f"may_view_{label.replace('.', '_').lower()}"
    return check


def superuser(request) -> bool:
    return request.user.is_active and request.user.is_superuser


workers = _may_view("workforce.Worker")
tasks = _may_view("workforce.Task")
assignments = _may_view("workforce.Assignment")
handovers = _may_view("workforce.Handover")
events = _may_view("workforce.Event")
service_keys = _may_view("workforce.ServiceKey")
incidents = _may_view("governance.Incident")
audit_records = _may_view("governance.AuditRecord")
actions = _may_view("governance.DisciplinaryAction")
penalties = _may_view("governance.Penalty")
pending_sanctions = _may_view("governance.PendingSanction")
spikes = _may_view("governance.Spike")
holds = _may_view("governance.Hold")
policies = _may_view("governance.Policy")
settings_versions = _may_view("governance.GovernanceSettings")
scores = _may_view("governance.ScoreRecord")
scoring_runs = _may_view("governance.ScoringRun")
audit_runs = _may_view("governance.AuditRun")
purge_logs = _may_view("governance.PurgeLog")
system_mode = _may_view("workforce.SystemMode")
findings = _may_view("governance.Finding")
