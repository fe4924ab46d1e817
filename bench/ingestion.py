"""Ingestion: reports through the HTTP API, single POSTs and batches, against the seeds' chain and raw inserts."""

import random
import threading
import time
from collections import Counter, deque
from datetime import datetime

import psycopg
from common import (
    BATCH_CONSEQUENCE_S,
    BATCH_RATE,
    BATCH_VS_RAW,
    SINGLE_P99_MS,
    SINGLE_VS_RAW,
    SINGLE_VS_SEEDS,
    clean_payload,
    p50_p99,
)
from loadgen import LoadResult, Progress, closed_loop, step
from manager import RawWriter
from report import Row, quotient

BATCH_WINDOW = 4  # batch runs in flight at once: the Celery worker's two processes busy, two queued


def make_payloads(n: int, workers: int, violation_rate: float, offenders: float, *, seed: int = 8) -> list[dict]:
    """The same reports for ours, the seeds' design and the raw inserts: one task each, workers at random.

    The violations (hallucination, timeout or scope drift; `violation_rate` of all reports) come from the
    first `offenders` share of the workers. Spread over the whole fleet they would look like a broken detector
    to the spike guard (a third of the fleet flagged within the hour), which then holds every suspension and
    termination for the Director: no worker would ever leave service and hand its open tasks on."""
    rng = random.Random(seed)
    bad = max(1, int(workers * offenders))
    rate_among_bad = min(1.0, violation_rate * workers / bad)
    payloads = []
    for i in range(n):
        worker = rng.randrange(workers)
        kind = None
        if worker < bad and rng.random() < rate_among_bad:
            kind = rng.choices(["hallucination", "timeout", "scope_drift"], [0.4, 0.3, 0.3])[0]
        payloads.append(
            {
                "task_id": f"task-{i}",
                "model_id": f"bench/w{worker}",
                "report_id": f"rep-{i}",
                "logs": [
                    f"step {k}: tool call {rng.randrange(10**6)} returned {rng.randrange(10**4)} rows" for k in range(8)
                ],
                "hallucinated": kind == "hallucination",
                "scope_drift": kind == "scope_drift",
                "duration_ms": rng.randint(60_001, 90_000) if kind == "timeout" else rng.randint(500, 30_000),
                "retries": rng.randrange(3),
                "test_pass_rate": round(rng.uniform(0.5, 1.0), 3),
                "manager_satisfaction": round(rng.uniform(0.4, 1.0), 3),
                "confidence": round(rng.uniform(0.3, 1.0), 3),
            }
        )
    return payloads


def is_violation(p: dict) -> bool:
    return p["hallucinated"] or p["scope_drift"] or p["duration_ms"] > 60_000


class Ingestion:
    """The ingestion phases (a mixin of run.Bench)."""

    def ingestion(self) -> None:
        a = self.args
        payloads = make_payloads(a.reports, a.workers, a.violation_rate, a.offenders)
        violations = sum(1 for p in payloads if is_violation(p))
        self.notes.append(
            f"Ingestion workload: {a.reports:,} reports per phase over {a.workers} workers, one task each, "
            f"{violations / max(len(payloads), 1):.1%} violations (hallucination, timeout, scope drift), all from "
            f"{max(1, int(a.workers * a.offenders))} repeat offenders; each phase "
            f"stops sending at {a.phase_seconds:.0f} s. Every phase of ours starts from the same freshly cloned "
            "database (workers hired through the API, the extra open tasks bulk-loaded) and assigns the reported "
            "tasks through the API a round (about a twelfth) at a time, untimed, just before reporting on them."
        )
        phases = [("single", c) for c in a.clients] + [("batch", b) for b in a.batch_sizes]
        for open_tasks in a.open_tasks:
            print(f"\nIngestion, {open_tasks} open tasks per worker")
            prepared = self.prepare_ingestion(payloads, open_tasks)
            for kind, n in phases:
                name = f"{n} client{'s' if n > 1 else ''}" if kind == "single" else f"batches of {n}"
                print(f" {('single POSTs, ' if kind == 'single' else '')}{name}")
                db = self.current_db = self.dbs.create(f"ing_{open_tasks}_{kind}_{n}", template=prepared)
                self.product.start(db)
                try:
                    self.warm_up()
                    if kind == "single":
                        ours = self.ours_single(payloads, n)
                    else:
                        ours = self.ours_batch(payloads, n)
                    ours["diagnosis"] = self.diagnose(db)
                    self.scan_server_log()
                finally:
                    self.product.stop()
                    ours_left = self.drain_broker()
                    self.dbs.drop(db)
                if ours_left:
                    self.notes.append(
                        f"{name}, {open_tasks} open tasks/worker: {ours_left} Celery messages were still queued "
                        "when the phase ended (dropped)."
                    )
                if kind == "single":
                    seeds, raw = self.seeds_single(payloads, n), self.raw_single(payloads, n)
                    self.rows_single(open_tasks, n, ours, seeds, raw)
                else:
                    raw = self.raw_batch(payloads, n)
                    self.rows_batch(open_tasks, n, ours, raw)
            self.dbs.drop(prepared)

    def prepare_ingestion(self, payloads: list[dict], open_tasks: int) -> str:
        """A database with the workers hired through the API and the extra open tasks bulk-loaded; every phase
        clones it. The reported tasks are assigned during the phase, a round at a time (see `assign_round`)."""
        a = self.args
        db = self.dbs.create(f"prep_{open_tasks}", template=self.template)
        self.product.start(db, celery=False)
        try:
            self.hire([f"bench/w{k}" for k in range(a.workers)], "code")
            self.register([(f"warm-{j}", f"bench/w{j % a.workers}") for j in range(8)], "code")
        finally:
            self.product.stop()
        if open_tasks:
            step(f"bulk-load {open_tasks} open tasks for each of the {a.workers} workers")
            self.product.child(
                db, "ballast", {"worker_prefix": "bench/w", "open_tasks": open_tasks, "capability": "code"}
            )
        return db

    def warm_up(self) -> None:
        """Every gunicorn worker imports and connects before the clock starts (a few clean reports)."""
        items = [clean_payload(f"warm-{j}", f"bench/w{j % self.args.workers}", f"warm-{j}") for j in range(8)]

        def one(i):
            try:
                self.client().post("/api/audit/", items[i])
            except OSError:
                pass  # a warm-up only

        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def rounds(self, payloads: list[dict], minimum: int, multiple: int = 1) -> list[list[dict]]:
        """The phase's reports in rounds of about a twelfth (at least `minimum`, a multiple of `multiple`)."""
        size = max(minimum, self.args.workers, -(-len(payloads) // 12))
        size = -(-size // multiple) * multiple
        return [payloads[i : i + size] for i in range(0, len(payloads), size)]

    def assign_round(self, payloads: list[dict]) -> tuple[list[dict], dict]:
        """Register and assign the round's tasks through the API, untimed, just before their reports.

        Assigned now, after the sanctions of the rounds before: the HR ladder treats an offence on a task the
        worker already held when it was last sanctioned as the same step, so tasks registered all at once,
        before any report, would never let a sanction escalate (and no worker would ever leave service and
        hand its open tasks on). A worker no longer eligible for the task (cooling down, suspended,
        terminated) is not named again: the routing chooses, and the report names whoever got the task and is
        clean (the offender's replacement does the work). Tasks are low priority (1-3), which a worker cooling
        down after a warning may still take: it goes on offending until it leaves service."""
        chosen: dict[str, str | None] = {}
        statuses: Counter = Counter()

        def make():
            c = self.client()

            def work(p):
                body = {"task_id": p["task_id"], "capability": "code", "priority": 1 + int(p["task_id"][5:]) % 3}
                status, answer = c.post("/api/tasks/", body | {"model_id": p["model_id"]})
                if status == 400:  # not eligible: register it, then let the routing assign it
                    status, answer = c.post("/api/tasks/", body)
                    if status == 201:
                        status, answer = c.post(f"/api/tasks/{p['task_id']}/assign/", {})
                        status = 201 if status == 200 else status
                    statuses["rerouted"] += 1
                chosen[p["report_id"]] = (answer or {}).get("current_worker") if status == 201 else None
                if status != 201:
                    statuses[f"HTTP {status}"] += 1
                return p["task_id"], status == 201, status

            return work

        closed_loop(payloads, clients=8, make_worker=make, seconds=3600, quiet=True)
        ready = []
        for p in payloads:
            worker = chosen.get(p["report_id"])
            if worker == p["model_id"]:
                ready.append(p)
            elif worker:
                clean = {"hallucinated": False, "scope_drift": False, "duration_ms": min(p["duration_ms"], 30_000)}
                ready.append(p | clean | {"model_id": worker})
        failed = sum(v for k, v in statuses.items() if k.startswith("HTTP"))
        statuses["nobody eligible"] = len(payloads) - len(ready) - failed
        return ready, statuses

    def ours_single(self, payloads: list[dict], clients: int) -> dict:
        def make():
            c = self.client()

            def work(p):
                status, _ = c.post("/api/audit/", p)
                return p["report_id"], status == 200, status

            return work

        cap = self.args.phase_seconds
        bar = Progress("ours: a round assigned, then POST /api/audit/", len(payloads))
        total = LoadResult()
        assignment: Counter = Counter()
        for chunk in self.rounds(payloads, 4 * clients):
            if total.ended >= cap:
                total.capped = True
                break
            ready, statuses = self.assign_round(chunk)
            assignment.update(statuses)
            result = closed_loop(ready, clients=clients, make_worker=make, seconds=cap - total.ended, bar=bar)
            bar.advance(len(chunk) - len(ready))
            total.samples += result.samples
            total.ended += result.seconds
            if result.capped:
                total.capped = True
                break
        bar.done("(time cap reached)" if total.capped else "")
        time.sleep(0.5)
        return self.single_summary(total, self.stored_ours) | {"assignment": assignment}

    def seeds_single(self, payloads: list[dict], clients: int) -> dict:
        self.truncate_seeds()
        manager = self.seeds_manager()

        def make():
            def work(p):
                manager.handle(p)
                return p["report_id"], True, 200

            return work

        result = closed_loop(
            payloads,
            clients=clients,
            make_worker=make,
            seconds=self.args.phase_seconds,
            label="seeds: Manager → auditor → hr → accountant",
        )
        return self.single_summary(result, self.stored_seeds)

    def raw_single(self, payloads: list[dict], clients: int) -> dict:
        self.truncate_seeds()
        writer = RawWriter()
        connections = []

        def make():
            conn = self.dbs.connect(self.seeds_db)
            connections.append(conn)

            def work(p):
                writer.write_one(conn, p)
                return p["report_id"], True, 200

            return work

        result = closed_loop(
            payloads,
            clients=clients,
            make_worker=make,
            seconds=self.args.phase_seconds,
            label="raw: psycopg, a transaction per report",
        )
        for conn in connections:
            conn.close()
        return self.single_summary(result, self.stored_seeds)

    def single_summary(self, result: LoadResult, stored) -> dict:
        sent = [s.key for s in result.samples]
        present = stored(sent)
        failed = {s.key for s in result.failed()}
        missing = set(sent) - present
        return {
            "sent": result.sent,
            "rate": result.rate,
            "latency": p50_p99(result.latencies()),
            "lost": len(failed | missing),
            "failed": Counter(str(s.status) for s in result.failed()),
            "missing": len(missing - failed),
            "capped": result.capped,
            "seconds": result.seconds,
        }

    def stored_ours(self, report_ids: list[str]) -> set[str]:
        with self.dbs.connect(self.current_db) as conn:
            rows = conn.execute(
                "SELECT report_id FROM governance_auditrecord WHERE report_id = ANY(%s)", [report_ids]
            ).fetchall()
        return {r[0] for r in rows}

    def stored_seeds(self, report_ids: list[str]) -> set[str]:
        with self.dbs.connect(self.seeds_db) as conn:
            rows = conn.execute(
                "SELECT report_id FROM audit_reports WHERE report_id = ANY(%s)", [report_ids]
            ).fetchall()
        return {r[0] for r in rows}

    def ours_batch(self, payloads: list[dict], size: int) -> dict:
        """Batches in a closed loop (BATCH_WINDOW runs in flight), a round at a time like the single POSTs;
        consequences timed from the 202 to the run's finished_at, as the server records it (same machine, same
        clock). Reports/s is over the rounds' time, from each round's first submission to its last finish."""
        cap = self.args.phase_seconds
        client = self.client(timeout=120)
        bar = Progress(f"ours: a round assigned, then batches of {size}", len(payloads))
        runs: list[dict] = []
        unfinished: list[dict] = []
        refused: list[list[dict]] = []
        assignment: Counter = Counter()
        timed, capped = 0.0, False
        for chunk in self.rounds(payloads, 2 * size, size):
            if timed >= cap:
                capped = True
                break
            ready, statuses = self.assign_round(chunk)
            assignment.update(statuses)
            bar.advance(len(chunk) - len(ready))
            batches = [ready[i : i + size] for i in range(0, len(ready), size)]
            start = time.time()
            done, left, stuck, refused_here = self.batch_round(client, batches, bar, start + cap - timed, cap)
            runs += done
            refused += refused_here
            timed += max((r["finished_at"] for r in done), default=time.time()) - start
            if left or stuck:
                capped = bool(left)
                unfinished += stuck
                break
        bar.done("(time cap reached)" if capped else "(gave up waiting)" if unfinished else "")
        processed = sum(len(r["items"]) for r in runs)
        sent_ids = [p["report_id"] for r in runs + unfinished for p in r["items"]] + [
            p["report_id"] for b in refused for p in b
        ]
        present = self.stored_ours(sent_ids) if sent_ids else set()
        return {
            "sent": processed,
            "rate": processed / max(timed, 1e-9),
            "latency": p50_p99([r["finished_at"] - r["accepted_at"] for r in runs], scale=lambda s: s),
            "lost": len(set(sent_ids) - present),
            "unfinished": sum(len(r["items"]) for r in unfinished),
            "rejected": sum(r["item_status"].get("REJECTED", 0) for r in runs),
            "failed_runs": sum(1 for r in runs if r["status"] == "FAILED"),
            "failed_submissions": len(refused),
            "capped": capped,
            "assignment": assignment,
        }

    def batch_round(self, client, batches: list[list[dict]], bar, stop_submitting: float, grace: float):
        """Submit the round's batches, at most BATCH_WINDOW runs in flight, until `stop_submitting`; wait for
        them at most `grace` longer. Answers (runs done, batches not sent, runs unfinished, batches refused)."""
        inflight: deque = deque()
        done: list[dict] = []
        refused: list[list[dict]] = []
        give_up = stop_submitting + grace
        next_batch = 0
        while True:
            while next_batch < len(batches) and len(inflight) < BATCH_WINDOW and time.time() < stop_submitting:
                batch = batches[next_batch]
                next_batch += 1
                try:
                    status, body = client.post("/api/audit/batch/", {"reports": batch})
                except OSError as exc:
                    status, body = type(exc).__name__, None
                if status != 202 or not body:
                    refused.append(batch)
                    bar.advance(len(batch))
                    continue
                inflight.append({"id": body["id"], "accepted_at": time.time(), "items": batch})
            if not inflight:
                break
            if time.time() > give_up:
                break
            run = inflight[0]
            try:
                status, body = client.get(f"/api/audit-runs/{run['id']}/")
            except OSError:
                status, body = None, None
            if status == 200 and body and body.get("status") in ("DONE", "FAILED"):
                inflight.popleft()
                run["status"] = body["status"]
                finished = body.get("finished_at")
                run["finished_at"] = datetime.fromisoformat(finished).timestamp() if finished else time.time()
                run["item_status"] = Counter(item["status"] for item in body.get("results", []))
                done.append(run)
                bar.advance(len(run["items"]))
                continue
            time.sleep(0.2)
        return done, batches[next_batch:], list(inflight), refused

    def raw_batch(self, payloads: list[dict], size: int) -> dict:
        """The batches written by one process: each report in its own transaction (as each of ours commits on
        its own), and, for the notes, each batch in one transaction."""
        writer = RawWriter()
        batches = [payloads[i : i + size] for i in range(0, len(payloads), size)]
        result = {}
        for mode in ("report", "batch"):
            self.truncate_seeds()
            bar = Progress(f"raw: a transaction per {mode}, batches of {size}", len(payloads))
            latencies, sent = [], []
            with self.dbs.connect(self.seeds_db) as conn:
                start = time.perf_counter()
                stop_at = start + self.args.phase_seconds
                for batch in batches:
                    if time.perf_counter() > stop_at:
                        break
                    t0 = time.perf_counter()
                    if mode == "batch":
                        writer.write_batch(conn, batch)
                    else:
                        for payload in batch:
                            writer.write_one(conn, payload)
                    latencies.append(time.perf_counter() - t0)
                    sent += [p["report_id"] for p in batch]
                    bar.advance(len(batch))
                seconds = time.perf_counter() - start
            bar.done()
            present = self.stored_seeds(sent)
            result[mode] = {
                "sent": len(sent),
                "rate": len(sent) / seconds,
                "latency": p50_p99(latencies, scale=lambda s: s),
                "lost": len(set(sent) - present),
            }
        return result["report"] | {"per_batch_rate": result["batch"]["rate"]}

    def diagnose(self, db: str) -> str:
        """What the phase did to the fleet: workers out of service, attempts handed on, sanctions held."""
        with self.dbs.connect(db) as conn:
            statuses = dict(
                conn.execute(
                    "SELECT status, count(*) FROM workforce_worker WHERE model_id LIKE 'bench/w%' GROUP BY status"
                ).fetchall()
            )
            released = conn.execute("SELECT count(*) FROM workforce_assignment WHERE outcome = 'RELEASED'").fetchone()[
                0
            ]
            try:
                held = conn.execute("SELECT count(*) FROM governance_pendingsanction").fetchone()[0]
            except psycopg.Error:
                held = "?"
        out = sum(n for s, n in statuses.items() if s in ("SUSPENDED", "TERMINATED", "BLACKLISTED"))
        return (
            f"{out} workers left service, {released:,} open attempts handed on, "
            f"{held} sanctions held by the spike guard"
        )

    def rows_single(self, open_tasks: int, clients: int, ours: dict, seeds: dict, raw: dict) -> None:
        t = self.table
        label = f"single POSTs, {clients} client{'s' if clients > 1 else ''}, {open_tasks} open tasks/worker"
        judged = clients >= 4
        vs_seeds, vs_raw = quotient(ours["rate"], seeds["rate"]), quotient(ours["rate"], raw["rate"])
        t.add(
            Row(
                f"{label}: reports/s",
                "/s",
                ours["rate"],
                seeds["rate"],
                raw["rate"],
                target=f"≥ {SINGLE_VS_SEEDS}× seeds, ≥ {SINGLE_VS_RAW}× raw" if judged else "",
                met=(
                    vs_seeds is not None
                    and vs_seeds >= SINGLE_VS_SEEDS
                    and vs_raw is not None
                    and vs_raw >= SINGLE_VS_RAW
                )
                if judged
                else None,
            )
        )
        t.add(
            Row(
                f"{label}: report → consequences p50 / p99",
                "ms",
                ours["latency"],
                seeds["latency"],
                raw["latency"],
                target=f"p99 < {SINGLE_P99_MS} ms",
                met=ours["latency"] is not None and ours["latency"][1] < SINGLE_P99_MS,
            )
        )
        t.add(
            Row(
                f"{label}: reports lost",
                "",
                ours["lost"],
                seeds["lost"],
                raw["lost"],
                target="0",
                met=ours["lost"] == 0,
                ratio=False,
            )
        )
        detail = f"{label}: ours sent {ours['sent']:,} in {ours['seconds']:.1f} s" + (
            " (time cap)" if ours["capped"] else ""
        )
        if ours["failed"]:
            detail += f"; failed requests by status: {dict(ours['failed'])}"
        if ours["missing"]:
            detail += f"; {ours['missing']} answered but not in the database"
        if seeds["lost"] or raw["lost"]:
            detail += f"; seeds lost {seeds['lost']} ({dict(seeds['failed'])}), raw lost {raw['lost']}"
        self.notes.append(detail + self.assignment_note(ours) + f"; {ours['diagnosis']}.")

    @staticmethod
    def assignment_note(ours: dict) -> str:
        counts = {k: v for k, v in ours["assignment"].items() if v}
        if not counts:
            return ""
        return "; tasks assigned by the routing instead of the named worker: " + ", ".join(
            f"{v} ({k})" for k, v in counts.items()
        )

    def rows_batch(self, open_tasks: int, size: int, ours: dict, raw: dict) -> None:
        t = self.table
        label = f"batches of {size}, {open_tasks} open tasks/worker"
        vs_raw = quotient(ours["rate"], raw["rate"])
        t.add(
            Row(
                f"{label}: reports/s",
                "/s",
                ours["rate"],
                None,
                raw["rate"],
                target=f"≥ {BATCH_RATE:,}/s, ≥ {BATCH_VS_RAW}× raw",
                met=ours["rate"] >= BATCH_RATE and vs_raw is not None and vs_raw >= BATCH_VS_RAW,
            )
        )
        t.add(
            Row(
                f"{label}: 202 → consequences p50 / p99",
                "s",
                ours["latency"],
                None,
                raw["latency"],
                target=f"p99 ≤ {BATCH_CONSEQUENCE_S} s",
                met=ours["latency"] is not None
                and ours["latency"][1] <= BATCH_CONSEQUENCE_S
                and not ours["unfinished"],
            )
        )
        t.add(
            Row(
                f"{label}: reports lost",
                "",
                ours["lost"],
                None,
                raw["lost"],
                target="0",
                met=ours["lost"] == 0,
                ratio=False,
            )
        )
        detail = f"{label}: ours processed {ours['sent']:,}" + (" (time cap)" if ours["capped"] else "")
        if ours["unfinished"]:
            detail += f"; {ours['unfinished']:,} still unprocessed when the phase gave up waiting"
        if ours["rejected"] or ours["failed_runs"] or ours["failed_submissions"]:
            detail += (
                f"; {ours['rejected']} items rejected, {ours['failed_runs']} runs FAILED, "
                f"{ours['failed_submissions']} submissions refused"
            )
        detail += f"; raw with one transaction per batch: {raw['per_batch_rate']:,.0f}/s"
        self.notes.append(detail + self.assignment_note(ours) + f"; {ours['diagnosis']}.")
