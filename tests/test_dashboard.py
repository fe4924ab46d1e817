"""The Director's dashboard (the admin index): its figures for a known fleet, the 30-day chart's rollup, beat's
stalled jobs, who sees which links, and a query count that does not grow with the fleet or the record."""

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from celery.schedules import crontab
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import dashboard_selectors as read
from governance.dashboard import dashboard_context
from governance.domain.dashboard import (
    beat_job_health,
    bounded,
    incident_type_counts,
    last_closed_day,
    reputation_histogram,
)
from governance.models import (
    BeatJobRun,
    DisciplinaryAction,
    Incident,
    IncidentDayCount,
    PendingSanction,
    PurgeLog,
    ScoreRecord,
    Spike,
)
from governance.services.dashboard import incident_days_rollup
from workforce.models import Event, Task, Worker

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

# --- the rules (no database) -------------------------------------------------------------------------------------


def test_a_beat_job_is_stale_after_two_intervals_without_success():
    minute = timedelta(minutes=1)
    fresh = beat_job_health(entry="t", task="t", interval=minute, last_success_at=NOW - 2 * minute, now=NOW)
    late = beat_job_health(entry="t", task="t", interval=minute, last_success_at=NOW - 121 * minute / 60, now=NOW)
    never = beat_job_health(entry="t", task="t", interval=minute, last_success_at=None, now=NOW)
    assert (fresh.stale, late.stale, never.stale) == (False, True, True)


def test_an_incident_with_two_violation_types_counts_once_under_each_and_once_in_the_total():
    day = date(2026, 3, 1)
    counts = incident_type_counts([(day, [["hallucination", 3], ["timeout", 2]], 1), (day, [["timeout", 2]], 4)])
    assert counts[day] == {"": 5, "hallucination": 1, "timeout": 5}


def test_a_day_closes_an_hour_after_it_ends():
    assert last_closed_day(now_local=datetime(2026, 3, 15, 0, 30, tzinfo=UTC)) == date(2026, 3, 13)
    assert last_closed_day(now_local=datetime(2026, 3, 15, 1, 30, tzinfo=UTC)) == date(2026, 3, 14)


def test_the_reputation_histogram_puts_100_in_the_top_band_and_lists_empty_bands():
    bands = dict(reputation_histogram({0: 1, 9: 1, 10: 2, 95: 1, 100: 3}))
    assert bands["0-9"] == 2 and bands["10-19"] == 2 and bands["90-100"] == 4 and bands["50-59"] == 0
    assert len(bands) == 10


def test_a_bounded_count_shows_the_cap_with_a_plus():
    assert (bounded(999, 1000), bounded(1000, 1000), bounded(1001, 1000)) == ("999", "1,000", "1,000+")


def test_beat_intervals_come_from_the_schedule():
    assert read.schedule_interval(timedelta(minutes=1), now=NOW) == timedelta(minutes=1)
    assert read.schedule_interval(crontab(minute=5), now=NOW) == timedelta(hours=1)
    assert read.schedule_interval(crontab(hour=3, minute=17), now=NOW) == timedelta(days=1)


# --- a known fleet -----------------------------------------------------------------------------------------------


def _incident(worker, task, at, types, *, status=Incident.Status.OPEN, severity=2) -> Incident:
    return Incident.objects.create(
        worker=worker,
        task=task,
        severity=severity,
        status=status,
        violations=[[t, severity] for t in types],
        evidence=["step 1"],
        settings_version=1,
        reported_at=at,
    )


def _fleet(now: datetime, *, extra: int = 0) -> dict:
    """Seven workers in several statuses and tiers, plus `extra` plain ones, with incidents, held sanctions,
    waiting tasks, actions and reassignments at known times."""
    W = Worker.Status
    specs = [
        ("acme/alpha", W.ACTIVE, Worker.Tier.SENIOR, 92, 30),
        ("acme/beta", W.ACTIVE, Worker.Tier.MID, 75, 12),
        ("acme/gamma", W.ACTIVE, Worker.Tier.JUNIOR, 60, 2),  # provisional
        ("acme/delta", W.PROBATION, Worker.Tier.JUNIOR, 45, 8),
        ("acme/eps", W.SUSPENDED, Worker.Tier.MID, 35, 9),
        ("acme/zeta", W.TERMINATED, Worker.Tier.JUNIOR, 20, 10),
        ("acme/eta", W.COOLDOWN, Worker.Tier.PRINCIPAL, 100, 40),
    ]
    workers = {
        model_id: Worker.objects.create(
            model_id=model_id, provider="acme", tier=tier, status=status, reputation=rep, scored_runs=runs
        )
        for model_id, status, tier, rep, runs in specs
    }
    for i in range(extra):
        workers[f"bulk/w{i}"] = Worker.objects.create(model_id=f"bulk/w{i}", reputation=50 + i % 10, scored_runs=6)
    task = Task.objects.create(task_id="t-done", capability="code", status=Task.Status.COMPLETED)
    Task.objects.create(task_id="t-wait-1", capability="code", status=Task.Status.WAITING, needs_director=True)
    Task.objects.create(task_id="t-wait-2", capability="code", status=Task.Status.WAITING, needs_director=True)
    Task.objects.create(task_id="t-busy", capability="code", status=Task.Status.ASSIGNED)
    alpha, delta, eps = workers["acme/alpha"], workers["acme/delta"], workers["acme/eps"]
    day = timedelta(days=1)
    _incident(delta, task, now - timedelta(minutes=30), ["hallucination"], severity=3)
    _incident(delta, task, now - timedelta(minutes=20), ["timeout"], severity=1)
    _incident(eps, task, now - 3 * day, ["hallucination", "scope_drift"], severity=3)
    _incident(eps, task, now - 3 * day, ["format_violation"], status=Incident.Status.ACTIONED)
    _incident(alpha, task, now - 10 * day, ["timeout"], status=Incident.Status.CLOSED)
    _incident(alpha, task, now - 40 * day, ["hallucination"])  # open, but older than the chart
    for i in range(extra):
        w = workers[f"bulk/w{i}"]
        _incident(w, task, now - (2 + i % 20) * day, ["timeout"], status=Incident.Status.ACTIONED)
    spike = Spike.objects.create(scope="fleet", figures={}, settings_version=1, started_at=now, last_seen_at=now)
    for worker, status in ((delta, "PENDING"), (eps, "PENDING"), (alpha, "CONFIRMED")):
        PendingSanction.objects.create(
            worker=worker,
            spike=spike,
            action="SUSPEND",
            reason="held",
            actor_kind="HR",
            violation_type="hallucination",
            settings_version=1,
            status=status,
            created_at=now - timedelta(minutes=5),
        )
    for at in (now - timedelta(hours=2), now - timedelta(hours=23), now - timedelta(hours=30)):
        DisciplinaryAction.objects.create(
            worker=delta, action="WARNING", reason="r", actor_kind="HR", policy_version=1, created_at=at
        )
    for kind, at in (
        (Event.Kind.TASK_REASSIGNED, now - timedelta(days=2)),
        (Event.Kind.TASK_ASSIGNED, now - timedelta(hours=3)),
        (Event.Kind.TASK_REASSIGNED, now - timedelta(hours=3)),
        (Event.Kind.TASK_REASSIGNED, now - timedelta(hours=1)),
    ):
        Event.objects.create(kind=kind, task_id="t-busy", created_at=at)
    return workers


@pytest.mark.django_db
def test_the_figures_are_right_for_a_known_fleet():
    _fleet(NOW)
    ctx = dashboard_context(now=NOW, may_act=True)["dashboard"]
    f = ctx["figures"]
    assert f["open_incidents"].shown == "4"  # the 40-day-old open one included: open is open
    assert f["pending_sanctions"].shown == "2"
    assert f["actions_24h"].shown == "2"
    assert f["tasks_waiting"].shown == "2"
    assert f["reassignments_24h"].shown == "2"
    by_status = {value: n for _label, n, value in ctx["fleet"]["by_status"]}
    assert by_status == {
        "ACTIVE": 3,
        "COOLDOWN": 1,
        "PROBATION": 1,
        "SUSPENDED": 1,
        "TERMINATED": 1,
        "BLACKLISTED": 0,
    }
    by_tier = {value: n for _label, n, value in ctx["fleet"]["by_tier"]}
    assert by_tier == {"JUNIOR": 2, "MID": 2, "SENIOR": 1, "PRINCIPAL": 1}  # the terminated one is off the payroll
    assert ctx["mode"]["halted"] is False


@pytest.mark.django_db
def test_the_incident_chart_counts_each_day_by_type_from_the_rollup_and_today_live():
    _fleet(NOW)
    days, per_day = read.incidents_per_day(now=NOW)
    assert len(days) == 30 and days[-1] == NOW.date()
    today, three_ago, ten_ago = NOW.date(), (NOW - timedelta(days=3)).date(), (NOW - timedelta(days=10)).date()
    assert per_day[today] == {"": 2, "hallucination": 1, "timeout": 1}
    assert per_day[three_ago] == {"": 2, "hallucination": 1, "scope_drift": 1, "format_violation": 1}
    assert per_day[ten_ago] == {"": 1, "timeout": 1}
    assert sum(per_day[d][""] for d in days) == 5  # the 40-day-old one is outside

    assert incident_days_rollup(now=NOW) == 29  # every closed day, today not among them
    assert not IncidentDayCount.objects.filter(day=today).exists()
    assert IncidentDayCount.objects.get(day=three_ago, violation_type="scope_drift").incidents == 1
    assert IncidentDayCount.objects.get(day=days[0], violation_type="").incidents == 0  # an empty day is counted
    with CaptureQueriesContext(connection) as queries:
        assert incident_days_rollup(now=NOW) == 0
    assert not [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]  # writes nothing
    # From the rollup now: an incident slipped into a closed day afterwards is not read again...
    _incident(Worker.objects.first(), Task.objects.first(), NOW - timedelta(days=3), ["timeout"])
    assert read.incidents_per_day(now=NOW)[1][three_ago][""] == 2
    # ...while today's are read live.
    _incident(Worker.objects.first(), Task.objects.first(), NOW - timedelta(minutes=1), ["timeout"])
    assert read.incidents_per_day(now=NOW)[1][today] == {"": 3, "hallucination": 1, "timeout": 2}


@pytest.mark.django_db
def test_a_purge_that_reaches_the_chart_window_makes_the_rollup_count_again():
    _fleet(NOW)
    incident_days_rollup(now=NOW)
    three_ago = (NOW - timedelta(days=3)).date()
    later = NOW + timedelta(minutes=10)
    # A retention purge far behind the window changes nothing...
    PurgeLog.objects.create(actor_kind="beat", cutoff=NOW - timedelta(days=365), started_at=later, finished_at=later)
    assert incident_days_rollup(now=later) == 0
    # ...an early purge (no cutoff) may have deleted incidents the counts include: they are counted again.
    _incident(Worker.objects.first(), Task.objects.first(), NOW - timedelta(days=3), ["timeout"])
    PurgeLog.objects.create(actor_kind="director", started_at=later, finished_at=later)
    assert incident_days_rollup(now=later + timedelta(minutes=1)) == 29
    assert IncidentDayCount.objects.get(day=three_ago, violation_type="").incidents == 3


@pytest.mark.django_db
def test_the_leaderboard_shows_confidence_provisional_and_probation_and_leaves_the_gone_out():
    workers = _fleet(NOW)
    board = read.leaderboard(provisional_runs=5)
    top = [row["worker"].model_id for row in board["top"]]
    bottom = [row["worker"].model_id for row in board["bottom"]]
    assert top[:3] == ["acme/eta", "acme/alpha", "acme/beta"]
    assert bottom[:2] == ["acme/eps", "acme/delta"]
    assert "acme/zeta" not in top + bottom  # terminated
    rows = {row["worker"].model_id: row for row in board["top"]}
    assert rows["acme/gamma"]["provisional"] and not rows["acme/alpha"]["provisional"]
    assert rows["acme/delta"]["probation"] and not rows["acme/beta"]["probation"]
    assert workers["acme/alpha"].scored_runs == 30


@pytest.mark.django_db
def test_reputation_over_time_carries_each_days_last_score_forward():
    workers = _fleet(NOW)
    alpha = workers["acme/alpha"]
    days = read.chart_days(today=NOW.date())
    for at, before, after in ((NOW - timedelta(days=5, hours=2), 80, 85), (NOW - timedelta(days=5), 85, 88)):
        ScoreRecord.objects.create(
            worker=alpha,
            score=after,
            previous_reputation=before,
            reputation=after,
            action="NONE",
            metrics={},
            settings_version=1,
            created_at=at,
            run_key=f"run-{after}",
        )
    trend = read.reputation_trends(workers=[alpha, workers["acme/beta"]], days=days)
    assert trend[alpha.pk][0] == 80 and trend[alpha.pk][-7] == 80 and trend[alpha.pk][-6:] == [88] * 6
    assert trend[workers["acme/beta"].pk] == [75] * 30  # no score in the window: its reputation, flat


@pytest.mark.django_db
def test_the_queues_put_the_most_severe_open_incident_first_and_the_longest_waiting_task_first():
    _fleet(NOW)
    queue = read.incident_queue()
    assert [i.severity for i in queue] == [3, 3, 2, 1]
    assert queue[0].reported_at > queue[1].reported_at  # among the most severe, the newest first
    review = read.review_queue()
    assert [t.task_id for t in review["tasks"]] == ["t-wait-1", "t-wait-2"]
    assert {s.worker.model_id for s in review["sanctions"]} == {"acme/delta", "acme/eps"}


@pytest.mark.django_db
def test_beat_shows_each_jobs_last_success_and_marks_the_stalled_ones():
    BeatJobRun.objects.create(name="governance.tasks.run_timers", last_success_at=NOW - timedelta(minutes=1))
    BeatJobRun.objects.create(name="governance.tasks.purge_expired", last_success_at=NOW - timedelta(days=3))
    jobs = {job.entry: job for job in read.beat_jobs(now=NOW)}
    assert set(jobs) == {
        "score-workers-hourly",
        "run-timers",
        "sweep-pending-runs",
        "purge-expired-daily",
        "roll-up-incident-days",
    }
    assert not jobs["run-timers"].stale
    assert jobs["purge-expired-daily"].stale  # a daily job not heard from in three days
    assert jobs["score-workers-hourly"].stale and jobs["score-workers-hourly"].last_success_at is None


@pytest.mark.django_db
def test_a_beat_job_records_its_success_as_beat():
    from governance.tasks import sweep_pending_runs

    before = timezone.now()
    sweep_pending_runs()  # run in this process, as a Celery worker would
    job = BeatJobRun.objects.get(name="governance.tasks.sweep_pending_runs")
    assert job.last_success_at >= before and job.actor_label == "system:beat"
    first = job.last_success_at
    sweep_pending_runs()
    assert BeatJobRun.objects.get(name="governance.tasks.sweep_pending_runs").last_success_at >= first
    assert BeatJobRun.objects.count() == 1


# --- the page ----------------------------------------------------------------------------------------------------


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_director_sees_the_figures_charts_queues_and_the_links_to_intervene(director):
    _fleet(timezone.now())
    page = _client(director).get(reverse("admin:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-figure="open-incidents">4<' in html
    assert 'data-figure="sanctions-pending-review">2<' in html
    assert 'data-figure="tasks-waiting-for-a-worker">2<' in html
    assert 'data-figure="system-mode">Normal<' in html
    assert 'data-status="ACTIVE">3<' in html and 'data-tier="JUNIOR">2<' in html
    assert html.count('class="chart"') == 3 and 'data-type="line"' in html
    assert "acme/eta" in html and "provisional" in html and "probation" in html
    sanction = PendingSanction.objects.filter(status="PENDING").first()
    assert reverse("admin:governance_pendingsanction_change", args=[sanction.pk]) in html
    assert ">Review<" in html and ">Assign<" in html
    assert "cdn" not in html.lower()  # Chart.js comes from unfold's static files


@pytest.mark.django_db
def test_a_viewer_sees_the_dashboard_but_no_link_to_intervene(viewer):
    _fleet(timezone.now())
    page = _client(viewer).get(reverse("admin:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-figure="open-incidents">4<' in html and "acme/eta" in html
    assert ">Review<" not in html and ">Assign<" not in html
    for sanction in PendingSanction.objects.all():
        assert reverse("admin:governance_pendingsanction_change", args=[sanction.pk]) not in html
    for task in Task.objects.filter(status="WAITING"):
        assert reverse("admin:workforce_task_change", args=[task.pk]) not in html


@pytest.mark.django_db
def test_a_halt_shows_as_the_system_mode_with_who_and_why(director, viewer):
    from workforce.services.system import system_halt

    system_halt(reason="provider outage drill", actor=director, now=timezone.now())
    html = _client(viewer).get(reverse("admin:index")).content.decode()
    assert 'data-figure="system-mode">Halted<' in html
    assert "provider outage drill" in html and "director" in html


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page():
    page = Client().get(reverse("admin:index"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_a_stalled_beat_shows_on_the_page(director):
    BeatJobRun.objects.create(name="governance.tasks.run_timers", last_success_at=timezone.now() - timedelta(hours=1))
    html = _client(director).get(reverse("admin:index")).content.decode()
    assert 'data-beat="run-timers" data-stale="yes"' in html


def _page_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:index")).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_dashboard_runs_the_same_queries_for_5_and_for_50_workers_and_incidents(director):
    now = timezone.now()
    client = _client(director)
    _fleet(now)
    client.get(reverse("admin:index"))  # the first view after a day closes rolls it up
    small = _page_queries(client)
    for i in range(50):
        w = Worker.objects.create(model_id=f"more/w{i}", reputation=i * 2, scored_runs=i % 7, tier="MID")
        task = Task.objects.create(task_id=f"more-{i}", capability="code", status=Task.Status.WAITING)
        _incident(w, task, now - timedelta(minutes=i + 1), ["timeout", "hallucination"], severity=1 + i % 4)
        spike = Spike.objects.create(scope="fleet", figures={}, settings_version=1, started_at=now, last_seen_at=now)
        PendingSanction.objects.create(
            worker=w,
            spike=spike,
            action="TERMINATE",
            reason="held",
            actor_kind="HR",
            settings_version=1,
            created_at=now,
        )
        ScoreRecord.objects.create(
            worker=w,
            score=50,
            previous_reputation=50,
            reputation=i * 2,
            action="NONE",
            metrics={},
            settings_version=1,
            created_at=now - timedelta(days=i % 20),
            run_key=f"more-{i}",
        )
    large = _page_queries(client)
    assert large == small
    assert small < 40


@pytest.mark.django_db
def test_beats_nightly_rollup_and_its_command_store_yesterday_so_the_view_counts_only_today():
    from django.core.management import call_command

    from governance.tasks import roll_up_incident_days

    _fleet(timezone.now())
    yesterday = timezone.localtime(timezone.now() - timedelta(days=1)).date()
    assert roll_up_incident_days.apply().get() >= 1  # the task as the worker runs it
    assert IncidentDayCount.objects.filter(day=yesterday, violation_type="").exists()
    assert BeatJobRun.objects.filter(name="governance.tasks.roll_up_incident_days").exists()  # the dashboard sees it
    IncidentDayCount.objects.all().delete()
    call_command("roll_up_incident_days", stdout=io.StringIO())
    assert IncidentDayCount.objects.filter(day=yesterday, violation_type="").exists()
