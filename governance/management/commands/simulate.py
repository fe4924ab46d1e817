"""`manage.py simulate`: a living fleet, driven through the real HTTP API as an orchestrator would drive it.

It hires a fleet (several providers; steady, sloppy and flaky-provider workers), then for each task:
1. reads the event inbox since its cursor: who left or came back into service, which of its tasks the system
   reassigned (the new worker does it) or left waiting;
2. registers the task and routes it: mostly to a worker it picks among those `GET /api/routing/` calls eligible
   (spreading the load, as an orchestrator does), sometimes leaving the choice to `POST .../assign/`;
3. reports the attempt's outcome: hallucination, timeout, scope drift, format violation or provider fault at the
   worker's profile's rates; a clean attempt completes the task, a provider fault is retried on another worker,
   a violation leaves the task to the system's repair;
4. every `--score-every` tasks, scores the workers that worked since their last score (`POST /api/score/`), with
   the Accountant's own metrics of what it saw, so reputations move, and good workers are promoted, during a run.

`--seed` makes a run repeatable (the same choices and outcomes against the same fleet state). Only the API is
used, with a Manager key, so a run shows what a real Manager would see; the database is touched once, to issue
that key when none is given.
"""

import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError

from governance.domain.metrics import ReportSample, compute_metrics
from governance.management.commands._progress import ProgressBar
from governance.models import GovernanceSettings

# How a violation splits by kind (the report's flags), roughly as orchestrators see them.
VIOLATIONS = {"hallucinated": 35, "format_violation": 30, "scope_drift": 20, "timeout": 15}
DETECTED = ("hallucination", "timeout", "scope_drift", "format_violation")  # the detector's names for them
# Priorities a task gets: mostly low (1-3, which cooldown and probation workers may take), some higher.
PRIORITIES = {1: 20, 2: 25, 3: 20, 4: 15, 5: 10, 6: 6, 7: 4}
SYSTEM_CHOOSES = 0.2  # the share of tasks the Manager leaves to the system's own choice (POST .../assign/)
IN_SERVICE = ("ACTIVE", "COOLDOWN", "PROBATION")
RECENT_SCORES = 5
# The timeout the detector applies (the settings' default); an attempt over it is a timeout.
TIMEOUT_MS = GovernanceSettings._meta.get_field("timeout_ms").default


@dataclass(frozen=True)
class Profile:
    kind: str
    violation_rate: float
    fault_rate: float = 0.0


PROFILES = {
    "steady": Profile("steady", 0.02),
    "sloppy": Profile("sloppy", 0.35),
    "flaky": Profile("flaky", 0.02, fault_rate=0.3),
}
PROVIDERS = {"steady": ("openai", "anthropic", "mistral"), "sloppy": ("cheapco",), "flaky": ("flakyai",)}


class Api:
    """The Manager's side of the API, over HTTP."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base.rstrip("/")
        self.key = key

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Authorization", f"Api-Key {self.key}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                return exc.code, json.loads(payload or b"{}")
            except ValueError:
                return exc.code, {"detail": payload[:200].decode(errors="replace")}
        except urllib.error.URLError as exc:
            raise CommandError(f"the API at {self.base} does not answer ({exc.reason}); is the server up?") from None


def quoted(model_or_task_id: str) -> str:
    return urllib.parse.quote(model_or_task_id, safe="/")


class Command(BaseCommand):
    help = "Drive a simulated fleet through the HTTP API with a Manager key: hire, route, report, react, score."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
        parser.add_argument("--key", help="a Manager key; by default one is issued for this run")
        parser.add_argument("--workers", type=int, default=30, help="fleet size (default 30)")
        parser.add_argument("--reports", type=int, default=300, help="tasks to run (default 300)")
        parser.add_argument(
            "--rate", type=float, default=0, help="tasks per second (default 0: as fast as the server answers)"
        )
        parser.add_argument(
            "--violation-rate",
            type=float,
            help="one violation rate for every worker (e.g. 0.23), instead of the profiles' own",
        )
        parser.add_argument(
            "--score-every",
            type=int,
            help="tasks between the Manager's scoring rounds (default: twice the fleet size; 0: never)",
        )
        parser.add_argument(
            "--capability", default="code", help="the capability the fleet has and its tasks need (default 'code')"
        )
        parser.add_argument("--seed", type=int, default=7, help="the random seed (default 7)")
        parser.add_argument("--prefix", default="sim", help="model and task ids start with this (default 'sim')")
        parser.add_argument(
            "--wait", type=float, default=0, help="seconds to wait for the server's /healthz to answer (default 0)"
        )
        parser.add_argument(
            "--show-login", action="store_true", help="end by saying where the Director logs in (make demo)"
        )

    def handle(self, *args, **o):
        self._check(o)
        if o["wait"]:
            self._wait_for_server(o["url"], o["wait"])
        api = Api(o["url"], o["key"] or self._issue_key())
        status, _ = api.call("GET", "/api/events/?limit=1")
        if status != 200:
            raise CommandError(f"the API at {o['url']} answered {status}; is the server up, and the key a Manager's?")
        run = Run(api=api, rng=random.Random(o["seed"]), options=o, out=self.stdout)
        run.hire()
        score_every = 2 * o["workers"] if o["score_every"] is None else o["score_every"]
        progress = ProgressBar(self.stdout)
        # On a terminal the bar redraws in place; elsewhere (honcho, a log) each redraw is a line, so 20 at most.
        step = 1 if self.stdout.isatty() else max(1, o["reports"] // 20)
        for n in range(o["reports"]):
            started = time.monotonic()
            run.follow_inbox()
            run.redo_reassigned()
            run.one_task(n)
            if score_every and (n + 1) % score_every == 0:
                run.follow_inbox()
                run.score_round()
            if (n + 1) % step == 0 or n + 1 == o["reports"]:
                progress("tasks", n + 1, o["reports"])
            if o["rate"]:
                time.sleep(max(0.0, 1 / o["rate"] - (time.monotonic() - started)))
        run.follow_inbox()
        run.redo_reassigned()
        if score_every:
            run.score_round()
        run.follow_inbox()
        self.stdout.write(self.style.SUCCESS("Simulation done.\n  " + "\n  ".join(run.summary())))
        if o["show_login"]:
            self._show_login(o["url"])

    def _check(self, o) -> None:
        if o["workers"] < 1:
            raise CommandError("--workers must be 1 or more")
        if o["reports"] < 0:
            raise CommandError("--reports must be 0 or more")
        if o["rate"] < 0:
            raise CommandError("--rate must be 0 (no pause) or more")
        if o["violation_rate"] is not None and not 0 <= o["violation_rate"] <= 1:
            raise CommandError("--violation-rate must lie between 0 and 1")
        if o["score_every"] is not None and o["score_every"] < 0:
            raise CommandError("--score-every must be 0 (never) or more")

    def _wait_for_server(self, url: str, seconds: float) -> None:
        """Poll /healthz until the server answers 200 (database and broker up), as `make demo` starts them together."""
        deadline = time.monotonic() + seconds
        health = f"{url.rstrip('/')}/healthz"
        while True:
            try:
                with urllib.request.urlopen(health, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass  # not listening yet, or a part is still starting (503)
            if time.monotonic() >= deadline:
                raise CommandError(f"{health} did not answer 200 within {seconds:g} s")
            time.sleep(1)

    def _show_login(self, url: str) -> None:
        from workforce.services.access import DIRECTOR_USERNAME

        password = os.environ.get("AURA_DEMO_PASSWORD")
        lines = [
            f"The control room is ready: {url.rstrip('/')}/admin/",
            f"  username: {DIRECTOR_USERNAME}",
            f"  password: {password}"
            if password
            else "  password: the one `bootstrap` printed when it created the account (forgotten? "
            f"python manage.py changepassword {DIRECTOR_USERNAME})",
            "The web server, the Celery worker and beat keep running; Ctrl-C stops them all.",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))

    def _issue_key(self) -> str:
        from workforce.models import Role, ServiceKey
        from workforce.services.access import role_group

        _, raw = ServiceKey.objects.create_key(name="simulator", role=role_group(Role.MANAGER.value))
        return raw


class Run:
    """One simulation's state: the fleet as the inbox tells it, the open tasks, and what the Manager saw."""

    def __init__(self, *, api: Api, rng: random.Random, options: dict, out) -> None:
        self.api, self.rng, self.o, self.out = api, rng, options, out
        self.fleet: dict[str, dict] = {}  # model_id -> {"kind", "status"}
        self.open: dict[str, str | None] = {}  # task_id -> its current worker (None: waiting)
        self.redo: list[str] = []  # tasks reassigned to a new worker, to be done by it
        self.priority: dict[str, int] = {}
        self.samples: dict[str, list[ReportSample]] = defaultdict(list)  # since the worker's last score
        self.scores: dict[str, list[int]] = defaultdict(list)
        self.stats: Counter = Counter()
        self.cursor = 0

    # --- the fleet and the inbox ------------------------------------------------------------------------

    def hire(self) -> None:
        """Mostly steady workers, a sixth sloppy and a sixth on a flaky provider."""
        size = self.o["workers"]
        kinds = ["sloppy"] * (size // 6) + ["flaky"] * (size // 6)
        kinds += ["steady"] * (size - len(kinds))
        for n, kind in enumerate(kinds):
            provider = PROVIDERS[kind][n % len(PROVIDERS[kind])]
            model_id = f"{provider}/{self.o['prefix']}-{kind}-{n:03d}"
            body = {"model_id": model_id, "provider": provider, "capabilities": [self.o["capability"]]}
            status, answer = self.api.call("POST", "/api/workers/", body)
            if status == 409:  # a repeated run: the worker is already on the payroll
                status, answer = self.api.call("GET", f"/api/workers/{quoted(model_id)}/")
            if status not in (200, 201):
                raise CommandError(f"hiring {model_id} answered {status}: {answer}")
            self.fleet[model_id] = {"kind": kind, "status": answer["status"]}
        self.out.write(f"Fleet: {dict(Counter(w['kind'] for w in self.fleet.values()))} ({len(self.fleet)} workers)")
        self.cursor = self._end_of_inbox()

    def _end_of_inbox(self) -> int:
        """Start reading after what was there before this run: earlier runs' events are not this run's."""
        cursor = 0
        while True:
            _, page = self.api.call("GET", f"/api/events/?after={cursor}&limit=1000")
            cursor = page.get("next_cursor") or cursor
            if not page.get("has_more"):
                return cursor

    def follow_inbox(self) -> None:
        """Read the inbox since the cursor and react: statuses, reassigned and waiting tasks, sanctions."""
        while True:
            _, page = self.api.call("GET", f"/api/events/?after={self.cursor}&limit=1000")
            for event in page.get("events", []):
                payload = event.get("payload") or {}
                task_id = event.get("task_id") or payload.get("task_id")
                self._react(event["kind"], event.get("model_id") or payload.get("model_id"), task_id, payload)
            self.cursor = page.get("next_cursor") or self.cursor
            if not page.get("has_more"):
                return

    def _react(self, kind: str, model_id: str | None, task_id: str | None, payload: dict) -> None:
        if kind == "worker.status_changed" and model_id in self.fleet:
            self.fleet[model_id]["status"] = payload["new"]
        elif kind == "action.applied":
            self.stats[f"action:{payload['action']}"] += 1
        elif kind == "task.reassigned":
            self.stats["reassignments"] += 1
            if task_id in self.open:  # ours: its new worker does it
                self.open[task_id] = model_id
                self.redo.append(task_id)
        elif kind == "task.waiting":
            self.stats["waiting"] += 1
            if task_id in self.open:
                self.open[task_id] = None
        elif kind in ("sanction.held", "sanction.reviewed", "governance.spike", "worker.health_changed"):
            self.stats[kind] += 1

    # --- tasks ------------------------------------------------------------------------------------------

    def one_task(self, n: int) -> None:
        """Register a task, route it, and have its worker attempt it."""
        task_id = f"{self.o['prefix']}-{self.o['seed']}-task-{n:06d}"
        priority = self.rng.choices(list(PRIORITIES), weights=list(PRIORITIES.values()))[0]
        eligible = self._eligible(priority)
        system_chooses = self.rng.random() < SYSTEM_CHOOSES
        chosen = None if system_chooses or not eligible else self.rng.choice(eligible)
        body = {"task_id": task_id, "capability": self.o["capability"], "priority": priority, "model_id": chosen}
        status, answer = self.api.call("POST", "/api/tasks/", body)
        if status != 201:
            self._refused("task", status, answer)
            return
        self.stats["tasks"] += 1
        self.priority[task_id] = priority
        if chosen is None:
            status, answer = self.api.call("POST", f"/api/tasks/{quoted(task_id)}/assign/", {})
            if status != 200:
                self._refused("assign", status, answer)
                return
            chosen = answer["current_worker"]
        self.open[task_id] = chosen
        if chosen is None:  # nobody eligible (or the fleet is halted): it waits for a worker
            self.stats["registered waiting"] += 1
            return
        self._attempt(task_id, chosen, priority, retry_faults=True)

    def _eligible(self, priority: int, exclude: str = "") -> list[str]:
        """This fleet's workers that routing calls eligible for the task, best first."""
        query = urllib.parse.urlencode({"capability": self.o["capability"], "priority": priority, "exclude": exclude})
        _, ranked = self.api.call("GET", f"/api/routing/?{query}")
        return [w["model_id"] for w in ranked if w["model_id"] in self.fleet] if isinstance(ranked, list) else []

    def redo_reassigned(self) -> None:
        """Tasks the system reassigned after a violation or a departure: their new worker does them."""
        while self.redo:
            task_id = self.redo.pop(0)
            model_id = self.open.get(task_id)
            if model_id is not None:
                self.stats["redone by the new worker"] += 1
                self._attempt(task_id, model_id, self.priority.get(task_id, 1), retry_faults=True)
            self.follow_inbox()

    def _attempt(self, task_id: str, model_id: str, priority: int, *, retry_faults: bool) -> None:
        outcome = self._outcome(model_id)
        body = {"task_id": task_id, "model_id": model_id, "logs": [f"attempt of {task_id}"], **outcome}
        status, answer = self.api.call("POST", "/api/audit/", body)
        if status != 200:
            self._refused("report", status, answer)
            return
        self.stats["reports"] += 1
        violated = answer["status"] == "violation"
        fault = bool(answer.get("provider_fault"))
        self.samples[model_id].append(self._sample(outcome, violated=violated, fault=fault))
        if violated:
            self.stats["incidents"] += 1
            for violation, _severity in answer["report"]["violations"]:
                self.stats[f"violation:{violation}"] += 1
            return  # the system repairs the task; the inbox says where it went
        if fault:
            self.stats["provider faults"] += 1
            if retry_faults and self._retry_elsewhere(task_id, model_id, priority):
                return
        self._complete(task_id)

    def _retry_elsewhere(self, task_id: str, failed: str, priority: int) -> bool:
        """A provider fault is not the worker's doing: the Manager retries the task once on another worker."""
        eligible = self._eligible(priority, exclude=failed)
        if not eligible:
            return False
        other = self.rng.choice(eligible)
        status, _ = self.api.call("POST", f"/api/tasks/{quoted(task_id)}/assign/", {"model_id": other})
        if status != 200:
            return False
        self.stats["retried after a provider fault"] += 1
        self.open[task_id] = other
        self._attempt(task_id, other, priority, retry_faults=False)
        return True

    def _complete(self, task_id: str) -> None:
        status, answer = self.api.call("POST", f"/api/tasks/{quoted(task_id)}/complete/", {})
        if status == 200:
            self.stats["tasks done"] += 1
            self.open.pop(task_id, None)
        else:
            self._refused("complete", status, answer)

    def _outcome(self, model_id: str) -> dict:
        profile = PROFILES[self.fleet.get(model_id, {"kind": "steady"})["kind"]]
        rate = profile.violation_rate if self.o["violation_rate"] is None else self.o["violation_rate"]
        roll = self.rng.random()
        if roll < profile.fault_rate:
            return {"error_kind": "provider", "duration_ms": self.rng.randint(200, 2_000)}
        if roll < profile.fault_rate + rate:
            violation = self.rng.choices(list(VIOLATIONS), weights=list(VIOLATIONS.values()))[0]
            if violation == "timeout":
                return {"duration_ms": TIMEOUT_MS + self.rng.randint(1_000, 30_000)}
            return {violation: True, "duration_ms": self.rng.randint(5_000, 40_000)}
        return {
            "duration_ms": self.rng.randint(3_000, 25_000),
            "retries": self.rng.choice((0, 0, 0, 1)),
            "test_pass_rate": round(self.rng.uniform(0.8, 1.0), 2),
            "manager_satisfaction": round(self.rng.uniform(0.75, 0.98), 2),
            "confidence": round(self.rng.uniform(0.7, 0.95), 2),
        }

    @staticmethod
    def _sample(outcome: dict, *, violated: bool, fault: bool) -> ReportSample:
        return ReportSample(
            duration_ms=outcome.get("duration_ms", 0),
            retries=outcome.get("retries"),
            test_pass_rate=outcome.get("test_pass_rate"),
            manager_satisfaction=outcome.get("manager_satisfaction"),
            confidence=outcome.get("confidence"),
            violated=violated,
            provider_fault=fault,
        )

    def _refused(self, what: str, status: int, answer) -> None:
        self.stats[f"{what} refused ({status})"] += 1
        self.stats.setdefault(f"first {what} refusal", json.dumps(answer)[:200])

    # --- scoring ----------------------------------------------------------------------------------------

    def score_round(self) -> None:
        """Score each worker that worked since its last score, with the Accountant's metrics of those reports.
        Penalties are left out: the Auditor applied them when the reports came in."""
        for model_id in sorted(self.samples):
            samples = self.samples.pop(model_id)
            if self.fleet.get(model_id, {}).get("status") not in IN_SERVICE:
                continue
            metrics = compute_metrics(samples, timeout_ms=TIMEOUT_MS, recent_scores=self.scores[model_id])
            body = {"model_id": model_id, "metrics": {name: float(value) for name, value in metrics.items()}}
            status, answer = self.api.call("POST", "/api/score/", body)
            if status != 200:
                self._refused("score", status, answer)
                continue
            self.stats["scores"] += 1
            self.scores[model_id] = [answer["score"], *self.scores[model_id]][:RECENT_SCORES]

    # --- the end ----------------------------------------------------------------------------------------

    def summary(self) -> list[str]:
        s = self.stats
        final = self._final_fleet()
        by_status = Counter(w["status"] for w in final.values())
        by_tier = Counter(w["tier"] for w in final.values())
        steady = [m for m, w in self.fleet.items() if w["kind"] == "steady"]
        violations = ", ".join(f"{name.replace('_', ' ')} {s[f'violation:{name}']}" for name in DETECTED)
        actions = ", ".join(f"{k[7:]} {v}" for k, v in sorted(s.items()) if k.startswith("action:")) or "none"
        lines = [
            f"tasks {s['tasks']}, done {s['tasks done']}, still open {sum(1 for m in self.open.values() if m)}, "
            f"waiting for a worker {sum(1 for m in self.open.values() if m is None)}",
            f"reports {s['reports']}, incidents {s['incidents']} ({violations}), provider faults "
            f"{s['provider faults']} (retried elsewhere {s['retried after a provider fault']})",
            f"actions: {actions}",
            f"reassignments {s['reassignments']} (done by the new worker {s['redone by the new worker']}), "
            f"tasks left waiting {s['waiting']}",
            f"promotions {s['action:PROMOTE']}, terminations {s['action:TERMINATE']}, "
            f"pending reviews {max(0, s['sanction.held'] - s['sanction.reviewed'])}, spikes {s['governance.spike']}, "
            f"scores {s['scores']}",
            f"fleet now: {dict(sorted(by_status.items()))}; tiers {dict(sorted(by_tier.items()))}; "
            f"steady workers ACTIVE {sum(1 for m in steady if final.get(m, {}).get('status') == 'ACTIVE')} "
            f"of {len(steady)}",
        ]
        refused = {k: v for k, v in s.items() if "refus" in k}
        if refused:
            lines.append(f"refused: {refused}")
        return lines

    def _final_fleet(self) -> dict[str, dict]:
        """The fleet's status and tier as the API gives them now."""
        final = {}
        for model_id in self.fleet:
            status, worker = self.api.call("GET", f"/api/workers/{quoted(model_id)}/")
            if status == 200:
                final[model_id] = {"status": worker["status"], "tier": worker["tier"]}
        return final
