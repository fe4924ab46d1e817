"""The one place where periodic work is declared. Each entry has a management-command twin."""

BEAT_SCHEDULE: dict[str, dict] = {}
