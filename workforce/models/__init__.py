from workforce.models.access import Role, ServiceKey
from workforce.models.event import Event
from workforce.models.handover import Handover
from workforce.models.system import SystemMode
from workforce.models.task import LOW_PRIORITY_MAX, Assignment, Task
from workforce.models.worker import NEW_HIRE_REPUTATION, Worker

__all__ = [
    "LOW_PRIORITY_MAX",
    "NEW_HIRE_REPUTATION",
    "Assignment",
    "Event",
    "Handover",
    "Role",
    "ServiceKey",
    "SystemMode",
    "Task",
    "Worker",
]
