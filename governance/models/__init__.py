from governance.models.commands import CommandRecord
from governance.models.dashboard import BeatJobRun, IncidentDayCount
from governance.models.discipline import DisciplinaryAction, ScoreRecord
from governance.models.finding import Finding
from governance.models.incident import Incident, Penalty
from governance.models.policy import Action, Policy
from governance.models.purge import PurgePermit
from governance.models.report import AuditRecord, AuditRun, AuditRunItem
from governance.models.review import PendingSanction, Spike
from governance.models.runs import Hold, PurgeLog, ScoringRun
from governance.models.settings import GovernanceSettings

__all__ = [
    "Action",
    "AuditRecord",
    "AuditRun",
    "AuditRunItem",
    "BeatJobRun",
    "CommandRecord",
    "DisciplinaryAction",
    "Finding",
    "GovernanceSettings",
    "Hold",
    "Incident",
    "IncidentDayCount",
    "Penalty",
    "PendingSanction",
    "Policy",
    "PurgeLog",
    "PurgePermit",
    "ScoreRecord",
    "ScoringRun",
    "Spike",
]
