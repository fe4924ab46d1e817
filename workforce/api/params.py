"""Query parameters read strictly: a bad value is a 400 naming the parameter, never a silent default or a 500."""

import re
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

BIGINT_MAX = 2**63 - 1  # the largest id or cursor a database column holds
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")  # ASCII digits only: int() would also take "٥" and "1_0"


def int_param(request, name: str, default: int | None, *, minimum: int, maximum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if not _INTEGER.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise ValidationError({name: [f"must be an integer from {minimum} to {maximum}"]})
    return int(raw)


def choice_param(request, name: str, choices) -> str | None:
    raw = request.query_params.get(name) or None
    if raw is not None and raw not in choices:
        raise ValidationError({name: [f"must be one of {', '.join(choices)}"]})
    return raw


def datetime_param(request, name: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 date-time, in UTC. A value without an offset is read as UTC. Offsets run to ±23:59
    as RFC 3339 allows; the value is converted to UTC here because PostgreSQL takes offsets only to ±15:59. A
    moment before the year 1 or after 9999 in UTC (0001-01-01T00:00+05:00) lies beyond every record: it is
    clamped, so it still selects what it says."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = parse_datetime(raw.upper())  # RFC 3339 allows "t" and "z"
    except ValueError:  # well formed but impossible: month 13, offset +99:00
        value = None
    if value is None:
        raise ValidationError({name: ["must be an ISO 8601 date-time, e.g. 2025-06-01T12:00:00Z"]})
    if timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)
