"""The dashboard's rules: when a beat job counts as stalled, which days the incident chart may take from the
rollup, how incidents fold into per-type counts, and the reputation histogram's bins. Pure: the caller passes
the clock."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# A beat job is stalled once its last success is older than this many of its intervals: one missed tick is
# a slow worker or a restart, two in a row is a beat that stopped.
STALE_AFTER_INTERVALS = 2
# A day is closed, and its counts final, this long after it ended: an incident is stamped with the time its
# report was processed, read before the transaction commits, so the day's last ones may land a little late.
DAY_CLOSE_GRACE = timedelta(hours=1)
CHART_DAYS = 30
REPUTATION_BIN = 10


@dataclass(frozen=True)
class BeatJobHealth:
    """One beat job as the dashboard shows it."""

    entry: str
    task: str
    interval: timedelta
    last_success_at: datetime | None
    stale: bool


def beat_job_health(
    *, entry: str, task: str, interval: timedelta, last_success_at: datetime | None, now: datetime
) -> BeatJobHealth:
    """Stale when it never succeeded or its last success is older than STALE_AFTER_INTERVALS intervals."""
    stale = last_success_at is None or now - last_success_at > STALE_AFTER_INTERVALS * interval
    return BeatJobHealth(entry=entry, task=task, interval=interval, last_success_at=last_success_at, stale=stale)


def chart_days(*, today: date, days: int = CHART_DAYS) -> list[date]:
    """The chart's days, oldest first, ending today."""
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def last_closed_day(*, now_local: datetime) -> date:
    """The newest day whose counts are final at `now_local` (a local, aware time)."""
    return (now_local - DAY_CLOSE_GRACE).date() - timedelta(days=1)


def incident_type_counts(rows: Iterable[tuple[date, list, int]]) -> dict[date, Counter]:
    """(day, violations, incidents) -> per day, incidents per violation type, and their total under "".

    An incident with several violations counts once under each of its types, and once in the total."""
    counts: dict[date, Counter] = {}
    for day, violations, n in rows:
        counter = counts.setdefault(day, Counter())
        counter[""] += n
        for vtype in {v[0] for v in violations or () if v}:
            counter[vtype] += n
    return counts


def reputation_histogram(counts: dict[int, int], *, width: int = REPUTATION_BIN) -> list[tuple[str, int]]:
    """Workers per reputation band (0-9, 10-19, ..., 90-100), lowest first. 100 joins the top band."""
    bands = list(range(0, 100, width))
    totals = dict.fromkeys(bands, 0)
    for reputation, n in counts.items():
        totals[min(reputation // width * width, bands[-1])] += n
    return [(f"{low}-{low + width - 1 if low != bands[-1] else 100}", totals[low]) for low in bands]


def bounded(count: int, cap: int) -> str:
    """A count read with LIMIT cap + 1, as shown: exact below the cap, "cap+" at or above it."""
    return f"{cap:,}+" if count > cap else f"{count:,}"
