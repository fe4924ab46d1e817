"""CSV exports of the Director's evidence lists (incidents, disciplinary actions), streamed.

A filtered list may hold a million rows: the rows are read with `iterator()` (a server-side cursor on
PostgreSQL, chunks elsewhere) as plain values, and each CSV line is sent as it is written, so memory stays flat
whatever the size. Reading roles only: the Director and the Viewer.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from workforce.models import Role
from workforce.services.access import caller_roles

EXPORT_ROLES = frozenset({Role.DIRECTOR.value, Role.VIEWER.value})
CHUNK = 2000

# (CSV header, the value path read per row); a path through a relation is joined in the same query.
INCIDENT_COLUMNS = [
    ("id", "id"),
    ("reported_at", "reported_at"),
    ("worker", "worker__model_id"),
    ("task", "task__task_id"),
    ("violations", "violations"),
    ("severity", "severity"),
    ("status", "status"),
    ("settings_version", "settings_version"),
    ("resolved_at", "resolved_at"),
    ("actor", "actor_label"),
]
ACTION_COLUMNS = [
    ("id", "id"),
    ("created_at", "created_at"),
    ("worker", "worker__model_id"),
    ("action", "action"),
    ("violation_type", "violation_type"),
    ("reason", "reason"),
    ("actor_kind", "actor_kind"),
    ("actor", "actor__username"),
    ("actor_label", "actor_label"),
    ("policy_version", "policy_version"),
    ("incident", "incident_id"),
    ("effective_until", "effective_until"),
    ("overturns", "overturns_id"),
    ("overturned_by", "overturned_by__id"),
    ("overturned_by_actor", "overturned_by__actor_label"),
    ("overturn_reason", "overturned_by__reason"),
]


def may_export(user) -> bool:
    return bool(caller_roles(user) & EXPORT_ROLES)


class _Echo:
    """A file that hands back what is written, so csv.writer formats one line at a time."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> object:
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, list):  # an incident's violations: [[type, severity], ...]
        return "; ".join(f"{item[0]} ({item[1]})" if isinstance(item, list | tuple) else str(item) for item in value)
    return "" if value is None else value


def csv_lines(queryset: QuerySet, columns: list[tuple[str, str]]) -> Iterator[str]:
    """The header, then one CSV line per row of `queryset`, read in chunks in the queryset's order."""
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _ in columns])
    rows: Iterable = queryset.values_list(*(path for _, path in columns)).iterator(chunk_size=CHUNK)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def csv_response(queryset: QuerySet, columns: list[tuple[str, str]], *, name: str, now: datetime):
    response = StreamingHttpResponse(csv_lines(queryset, columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{now:%Y%m%d-%H%M%S}.csv"'
    return response
