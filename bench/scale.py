"""At scale: scoring runs over large fleets, the admin at a million incidents, the retention purge."""

import base64
import json
import re
import statistics
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from common import ADMIN_MS, PURGE_DELAY_MS, PURGE_RATE, SCORING_MB, SCORING_SECONDS, clean_payload, ms
from loadgen import JsonClient, Progress, Sample, closed_loop, percentile, step
from report import Row, quotient

ADMIN_PER_PAGE = 100  # Django's list_per_page, which the incident admin keeps
ADMIN_REPEATS = 5
RAW_PURGE_CHUNK = 10_000
RAW_SCORING_SQL = """
INSERT INTO bench_raw_scores (worker_id, reports, penalties, score, at)
SELECT r.worker_id, count(*), coalesce(max(p.n), 0),
       greatest(0, least(100, (100 * (0.25 * avg(coalesce(r.confidence, 0)) + 0.2 * avg(coalesce(r.test_pass_rate, 0))
         + 0.15 * avg(1.0 / (1 + coalesce(r.retries, 0))) + 0.1 * avg(coalesce(r.manager_satisfaction, 0))))::int
         - 30 * coalesce(max(p.n), 0))),
       now()
FROM governance_auditrecord r
LEFT JOIN (SELECT worker_id, count(*) AS n FROM governance_penalty
           WHERE created_at > now() - interval '30 days' GROUP BY worker_id) p USING (worker_id)
WHERE r.received_at > now() - interval '30 days' AND r.received_at <= now()
GROUP BY r.worker_id
"""
SEEDS_METRICS_SQL = """
SELECT w.model_id, avg(coalesce(r.confidence, 0)), avg(coalesce(r.test_pass_rate, 0)),
       avg(1.0 / (1 + coalesce(r.retries, 0))), avg(coalesce(r.manager_satisfaction, 0))
FROM governance_auditrecord r JOIN workforce_worker w ON w.id = r.worker_id
WHERE r.received_at > now() - interval '30 days'
GROUP BY w.model_id
"""
# What an authenticated page costs at least (the session, the user, the user's groups); and the incident list's
# rows with their worker and task, with the planner's row estimate instead of a count.
RAW_DASHBOARD_SQL = """
SELECT session_data FROM django_session WHERE session_key = '<session>' AND expire_date > now();
SELECT * FROM auth_user WHERE id = (SELECT id FROM auth_user WHERE username = 'director');
SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id
  JOIN auth_user u ON u.id = ug.user_id WHERE u.username = 'director'
"""
RAW_LIST_SQL = (
    RAW_DASHBOARD_SQL
    + """;
SELECT reltuples FROM pg_class WHERE relname = 'governance_incident';
SELECT i.*, w.model_id, t.task_id FROM governance_incident i
  JOIN workforce_worker w ON w.id = i.worker_id JOIN workforce_task t ON t.id = i.task_id
  ORDER BY i.reported_at DESC, i.id DESC LIMIT """
    + str(ADMIN_PER_PAGE)
    + " OFFSET "
)
SEEDS_INCIDENTS_SQL = """
INSERT INTO incidents (id, model_id, task_id, severity, status, reported_at)
SELECT gen_random_uuid(), 'scale/w' || (g %% 1000), 'scale-task-' || (g %% 10000), 1 + g %% 3, 'OPEN',
       now() - (%s * interval '1 day') - (g::float / %s) * (%s * interval '1 day')
FROM generate_series(1, %s) AS g
"""


class Scale:
    """The scoring, admin and purge measurements (a mixin of run.Bench)."""

    # --- scoring ---------------------------------------------------------------------------------------------

    def scoring(self) -> None:
        a = self.args
        print(f"\nScoring runs: {', '.join(f'{n:,}' for n in a.fleet_sizes)} workers × {a.reports_each} reports")
        results = {}
        for size in a.fleet_sizes:
            db = self.dbs.create(f"score_{size}", template=self.template)
            try:
                step(f"seed {size:,} workers × {a.reports_each} reports (INSERT … SELECT)")
                seeded = self.product.child(db, "scoring_seed", {"workers": size, "reports_each": a.reports_each})
                step(
                    f"seeded {seeded['reports']:,} reports in {seeded['seconds']:.1f} s; "
                    "scoring_run_execute in a fresh process"
                )
                ours = self.product.child(db, "score")
                step(
                    f"ours: {ours['seconds']:.2f} s, {ours['workers_scored']:,} scored, "
                    f"{ours['statements']} statements, "
                    f"peak {ours['peak_rss_mb']:.0f} MB"
                )
                raw = self.raw_scoring(db)
                seeds = self.seeds_scoring(db, size)
            finally:
                self.dbs.drop(db)
            results[size] = (ours, seeds, raw)
            at_target = size >= 10_000 and a.reports_each >= 100
            label = f"scoring {size:,} workers × {a.reports_each} reports"
            self.table.add(
                Row(
                    f"{label}: time",
                    "s",
                    ours["seconds"],
                    seeds,
                    raw,
                    target=f"< {SCORING_SECONDS} s at 10,000 × 100" if size == max(a.fleet_sizes) else "",
                    met=ours["seconds"] < SCORING_SECONDS if size == max(a.fleet_sizes) else None,
                    below_size=not at_target,
                )
            )
            self.table.add(
                Row(
                    f"{label}: peak memory of the run's process",
                    "MB",
                    ours["peak_rss_mb"],
                    target=f"< {SCORING_MB} MB" if size == max(a.fleet_sizes) else "",
                    met=ours["peak_rss_mb"] < SCORING_MB if size == max(a.fleet_sizes) else None,
                    below_size=not at_target,
                    ratio=False,
                )
            )
            self.notes.append(
                f"Scoring {size:,} × {a.reports_each}: ours scored {ours['workers_scored']:,} workers in "
                f"{ours['statements']} SQL statements; the process held {ours['rss_before_mb']:.0f} MB before the run."
            )
        if len(results) >= 2:
            small, large = min(results), max(results)
            fleet = large / small
            (ours_l, seeds_l, raw_l), (ours_s, seeds_s, raw_s) = results[large], results[small]
            growth = [
                quotient(ours_l["seconds"], ours_s["seconds"]),
                quotient(seeds_l, seeds_s),
                quotient(raw_l, raw_s),
            ]
            self.table.add(
                Row(
                    f"scoring growth, {large:,} ÷ {small:,} workers ({fleet:.0f}× the fleet)",
                    "×",
                    growth[0],
                    growth[1],
                    growth[2],
                    target=f"linear: ≤ {fleet * 1.25:.1f}×",
                    met=growth[0] is not None and growth[0] <= fleet * 1.25,
                    ratio=False,
                )
            )

    def raw_scoring(self, db: str) -> float:
        """The floor: one statement that reads every report in the window once and writes a score per worker."""
        with self.dbs.connect(db, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE bench_raw_scores"
                " (worker_id bigint, reports int, penalties int, score int, at timestamptz)"
            )
            t0 = time.perf_counter()
            conn.execute(RAW_SCORING_SQL)
            return time.perf_counter() - t0

    def seeds_scoring(self, db: str, size: int) -> float:
        """The seeds' way: the Manager aggregates each model's reports, then asks the Accountant for a score,
        one POST /score per model (4 clients)."""
        self.truncate_seeds()
        t0 = time.perf_counter()
        with self.dbs.connect(db) as conn:
            rows = conn.execute(SEEDS_METRICS_SQL).fetchall()
        manager = self.seeds_manager()
        items = [
            (model_id, {"confidence": float(c), "accuracy": float(a), "productivity": float(p), "discipline": float(d)})
            for model_id, c, a, p, d in rows
        ]

        def make():
            def work(item):
                manager.score(*item)
                return item[0], True, 200

            return work

        result = closed_loop(
            items, clients=4, make_worker=make, seconds=3600, label=f"seeds: POST /score × {len(items):,}"
        )
        if result.failed():
            self.notes.append(f"Seeds' scoring of {size:,}: {len(result.failed())} /score calls failed.")
        return time.perf_counter() - t0

    # --- the admin -------------------------------------------------------------------------------------------

    def admin_and_purge(self) -> None:
        a = self.args
        print(
            f"\nThe admin at {a.incidents:,} incidents"
            + (f", then the purge of {a.purge_rows:,}" if "purge" in a.only else "")
        )
        db = self.dbs.create("scale", template=self.template)
        self.product.child(db, "scale_base", {"workers": 1000, "tasks": 10_000})
        if "admin" in a.only:
            step(f"bulk-load {a.incidents:,} incidents over the last 300 days")
            loaded = self.product.child(
                db,
                "incidents",
                {"count": a.incidents, "tag": "live", "min_age_days": 0, "max_age_days": 300, "history": False},
            )
            step(f"loaded in {loaded['seconds']:.1f} s")
        self.product.start(db)
        try:
            if "admin" in a.only:
                self.admin(db)
            if "purge" in a.only:
                self.purge(db)
        finally:
            self.scan_server_log()
            self.product.stop()
            self.dbs.drop(db)

    def admin(self, db: str) -> None:
        a = self.args
        session = self.product.child(db, "session")["session_key"]
        pages = max(1, -(-a.incidents // ADMIN_PER_PAGE))
        deep = min(9000, max(1, int(pages * 0.9)))
        cookie = {"Cookie": f"sessionid={session}"}
        client = JsonClient(self.product.url, timeout=120)
        targets = [
            ("the admin's dashboard (/admin/)", "/admin/", RAW_DASHBOARD_SQL),
            ("incident list, first page", "/admin/governance/incident/", RAW_LIST_SQL + "0"),
            (
                f"incident list, page {deep:,}",
                self.deep_page(db, client, cookie, deep),
                RAW_LIST_SQL + str((deep - 1) * ADMIN_PER_PAGE),
            ),
        ]
        bar = Progress(f"admin pages (median of {ADMIN_REPEATS})", len(targets) * ADMIN_REPEATS)
        at_target = a.incidents >= 1_000_000
        for label, path, raw_sql in targets:
            times, statuses = [], Counter()
            warm = 2 * self.args.gunicorn_workers  # each gunicorn worker loads the page's code and templates once
            for i in range(warm + ADMIN_REPEATS):
                t0 = time.perf_counter()
                status, _, _ = client.request("GET", path, headers={**cookie, "Accept": "text/html"})
                elapsed = time.perf_counter() - t0
                statuses[status] += 1
                if i == 0:
                    first = elapsed
                if i >= warm:
                    times.append(elapsed)
                    bar.advance()
            raw_times = self.raw_query_times(db, raw_sql, session)
            ours = ms(statistics.median(times))
            ok = set(statuses) == {200}
            self.table.add(
                Row(
                    f"{label} at {a.incidents:,} incidents",
                    "ms",
                    ours if ok else f"HTTP {dict(statuses)}",
                    None,
                    ms(statistics.median(raw_times)),
                    target=f"< {ADMIN_MS} ms",
                    met=ok and ours < ADMIN_MS,
                    below_size=not at_target,
                )
            )
            self.notes.append(
                f"Admin {path}: ours {', '.join(f'{ms(t):.0f}' for t in times)} ms (status {dict(statuses)})."
            )
            if path == "/admin/":
                # The first view after the load counts the 30-day incident chart's closed days once
                # (IncidentDayCount); the views measured above read those counts and only today's incidents.
                self.notes.append(f"Admin dashboard: the first view, counting the chart's 30 days: {ms(first):.0f} ms.")
        bar.done()

    def deep_page(self, db: str, client: JsonClient, cookie: dict, deep: int) -> str:
        """The deep page's address: `?p=N`, or, where the list stops numbering its pages and seeks instead
        ("Next" links carrying the last row's key), the seek that shows the same rows: the key of the row just
        before them, in the link's own format (a base64 JSON list of the key's values as strings)."""
        path = f"/admin/governance/incident/?p={deep}"
        headers = {**cookie, "Accept": "text/html"}
        status, _, _ = client.request("GET", path, headers=headers)
        if status == 200:
            return path
        status, body, _ = client.request("GET", "/admin/governance/incident/", headers=headers)
        found = re.search(r"[?&;]_after=([A-Za-z0-9_\-]+)", body.decode(errors="replace")) if status == 200 else None
        if not found:
            return path
        token = found.group(1)
        sample = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        with self.dbs.connect(db) as conn:
            row = conn.execute(
                "SELECT reported_at, id FROM governance_incident ORDER BY reported_at DESC, id DESC OFFSET %s LIMIT 1",
                [(deep - 1) * ADMIN_PER_PAGE - 1],
            ).fetchone()
        if row is None or not isinstance(sample, list) or len(sample) != 2:
            return path
        values = [row[0].isoformat(), str(row[1])]
        key = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
        self.notes.append(f"Admin: the incident list seeks past its numbered pages; page {deep:,} is `?_after=…`.")
        return f"/admin/governance/incident/?_after={key}"

    def raw_query_times(self, db: str, sql: str, session: str) -> list[float]:
        times = []
        with self.dbs.connect(db) as conn:
            for i in range(ADMIN_REPEATS + 1):
                t0 = time.perf_counter()
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement.replace("<session>", session)).fetchall()
                conn.rollback()
                if i:
                    times.append(time.perf_counter() - t0)
        return times

    # --- the purge -------------------------------------------------------------------------------------------

    def purge(self, db: str) -> None:
        a = self.args
        at_target = a.purge_rows >= 1_000_000
        # A few workers and tasks for the report that runs beside the purge (clean reports, one after another).
        model_ids = [f"purge/w{k}" for k in range(4)]
        self.hire(model_ids, "purge")
        tasks = [(f"purge-task-{i}", model_ids[i % 4]) for i in range(200)]
        self.register(tasks, "purge")

        idle = self.reporter_ours(tasks, lambda: time.sleep(3), "idle")
        step(f"a report with nothing else running: p50 {ms(idle['p50']):.0f} ms, worst {ms(idle['worst']):.0f} ms")

        # The raw baseline first: chunked DELETEs of the same rows, with their history, under a purge permit.
        step(f"bulk-load {a.purge_rows:,} expired incidents with their history rows")
        self.product.child(
            db,
            "incidents",
            {"count": a.purge_rows, "tag": "expired-raw", "min_age_days": 400, "max_age_days": 700, "history": True},
        )
        raw_result = {}

        def raw_purge():
            raw_result.update(self.raw_purge(db))

        raw_report = self.reporter_ours(tasks, raw_purge, "raw purge")

        step(f"bulk-load {a.purge_rows:,} expired incidents with their history rows again")
        self.product.child(
            db,
            "incidents",
            {"count": a.purge_rows, "tag": "expired", "min_age_days": 400, "max_age_days": 700, "history": True},
        )
        ours_result = {}

        def ours_purge():
            ours_result.update(self.ours_purge(db))

        ours_report = self.reporter_ours(tasks, ours_purge, "purge_expired")

        seeds_result, seeds_report = self.seeds_purge()
        label = f"purge of {a.purge_rows:,} expired incidents + history"
        self.table.add(
            Row(
                f"{label}: rows/s",
                "/s",
                ours_result["rate"],
                seeds_result["rate"],
                raw_result["rate"],
                target=f"≥ {PURGE_RATE:,}/s",
                met=ours_result["rate"] >= PURGE_RATE,
                below_size=not at_target,
            )
        )
        self.table.add(
            Row(
                f"{label}: worst latency of a concurrent report",
                "ms",
                ms(ours_report["worst"]),
                ms(seeds_report["worst"]),
                ms(raw_report["worst"]),
                target=f"≤ {PURGE_DELAY_MS:,} ms",
                met=ours_report["worst"] is not None
                and ms(ours_report["worst"]) <= PURGE_DELAY_MS
                and not ours_report["failed"],
                below_size=not at_target,
            )
        )
        self.notes.append(
            f"Purge: ours deleted {ours_result['rows']:,} rows in {ours_result['seconds']:.1f} s"
            + (" (stopped at the time cap; rows counted from its PurgeLog)" if ours_result.get("capped") else "")
            + f" ({json.dumps(ours_result.get('counts', {}))}); {a.incidents:,} live incidents stayed. "
            f"The raw baseline deletes the same rows in chunks of {RAW_PURGE_CHUNK:,} ({raw_result['rows']:,} rows in "
            f"{raw_result['seconds']:.1f} s); the seeds' purge is their one DELETE on `incidents` (no history table), "
            f"{seeds_result['rows']:,} rows in {seeds_result['seconds']:.1f} s. Concurrent reports (clean, one after "
            f"another): ours during our purge {ours_report['count']} (p50 {ms(ours_report['p50']):.0f} ms, "
            f"{ours_report['failed']} failed), during the raw purge {raw_report['count']}; "
            f"idle p50 {ms(idle['p50']):.0f} ms."
        )

    def reporter_ours(self, tasks: list[tuple[str, str]], during, label: str) -> dict:
        """Clean reports, one after another, while `during()` runs; their latencies."""
        stop = threading.Event()
        samples: list[Sample] = []
        tag = label.replace(" ", "-")

        def run():
            c = self.client(timeout=60)
            i = 0
            while not stop.is_set():
                task_id, model_id = tasks[i % len(tasks)]
                report_id = f"{tag}-{i}"
                t0 = time.perf_counter()
                try:
                    status, _ = c.post("/api/audit/", clean_payload(task_id, model_id, report_id))
                except OSError as exc:
                    status = type(exc).__name__
                samples.append(Sample(report_id, t0, time.perf_counter(), status == 200, status))
                i += 1
                time.sleep(0.05)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            during()
        finally:
            stop.set()
            thread.join()
        lat = sorted(s.latency for s in samples)
        return {
            "count": len(samples),
            "p50": percentile(lat, 50),
            "worst": lat[-1] if lat else None,
            "failed": sum(1 for s in samples if not s.ok),
        }

    def raw_purge(self, db: str) -> dict:
        cutoff = datetime.now(UTC) - timedelta(days=365)
        total = 0
        bar = Progress("raw: chunked DELETE under a permit", 2 * self.args.purge_rows)
        t0 = time.perf_counter()
        with self.dbs.connect(db) as conn:
            while True:
                with conn.transaction():
                    permit = conn.execute(
                        "INSERT INTO governance_purgepermit (reason, created_at)"
                        " VALUES ('bench raw purge', now()) RETURNING id"
                    ).fetchone()[0]
                    conn.execute(
                        "CREATE TEMP TABLE doomed ON COMMIT DROP AS SELECT id FROM governance_incident"
                        " WHERE reported_at < %s LIMIT %s",
                        [cutoff, RAW_PURGE_CHUNK],
                    )
                    history = conn.execute(
                        "DELETE FROM governance_historicalincident WHERE id IN (SELECT id FROM doomed)"
                    ).rowcount
                    rows = conn.execute("DELETE FROM governance_incident WHERE id IN (SELECT id FROM doomed)").rowcount
                    conn.execute("DELETE FROM governance_purgepermit WHERE id = %s", [permit])
                total += history + rows
                bar.set(total)
                if not rows:
                    break
        seconds = time.perf_counter() - t0
        bar.done()
        return {"rows": total, "seconds": seconds, "rate": total / seconds}

    def ours_purge(self, db: str) -> dict:
        a = self.args
        bar = Progress("ours: governance.services.purge.purge_expired", 1)
        t0 = time.perf_counter()
        try:
            result = self.product.child(db, "purge", timeout=a.purge_seconds)
            result["capped"] = False
        except Exception as exc:  # subprocess.TimeoutExpired: the child is killed; its chunks committed
            if type(exc).__name__ != "TimeoutExpired":
                raise
            seconds = time.perf_counter() - t0
            with self.dbs.connect(db) as conn:
                counts = (
                    conn.execute("SELECT counts FROM governance_purgelog ORDER BY id DESC LIMIT 1").fetchone()[0] or {}
                )
            counts = {k: v for k, v in counts.items() if not k.endswith("(redacted)")}
            result = {"seconds": seconds, "counts": counts, "rows": sum(counts.values()), "capped": True}
        bar.set(1)
        bar.done(f"{result['rows']:,} rows in {result['seconds']:.1f} s")
        result["rate"] = result["rows"] / max(result["seconds"], 1e-9)
        return result

    def seeds_purge(self) -> tuple[dict, dict]:
        """The seeds' purge ("manual purge only (Director action)"): one DELETE by timestamp on their
        incidents table, holding as many live and expired rows as ours, while the seeds' chain takes reports."""
        a = self.args
        self.truncate_seeds()
        with self.dbs.connect(self.seeds_db, autocommit=True) as conn:
            # (minimum age in days, rows, span in days, rows)
            conn.execute(SEEDS_INCIDENTS_SQL, [0, a.incidents, 300, a.incidents])
            conn.execute(SEEDS_INCIDENTS_SQL, [400, a.purge_rows, 300, a.purge_rows])
            conn.execute("ANALYZE incidents")
        manager = self.seeds_manager()
        stop = threading.Event()
        samples = []

        def run():
            i = 0
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    manager.handle(clean_payload(f"purge-task-{i % 200}", f"purge/w{i % 4}", f"seeds-purge-{i}"))
                    ok = True
                except Exception:
                    ok = False
                samples.append((time.perf_counter() - t0, ok))
                i += 1
                time.sleep(0.05)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        bar = Progress("seeds: DELETE FROM incidents WHERE reported_at < …", 1)
        t0 = time.perf_counter()
        try:
            with self.dbs.connect(self.seeds_db, autocommit=True) as conn:
                rows = conn.execute("DELETE FROM incidents WHERE reported_at < NOW() - INTERVAL '365 days'").rowcount
            seconds = time.perf_counter() - t0
        finally:
            stop.set()
            thread.join()
        bar.set(1)
        bar.done(f"{rows:,} rows in {seconds:.1f} s")
        lat = sorted(s for s, _ in samples)
        return (
            {"rows": rows, "seconds": seconds, "rate": rows / seconds},
            {"worst": lat[-1] if lat else None, "failed": sum(1 for _, ok in samples if not ok)},
        )
