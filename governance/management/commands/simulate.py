"""`manage.py simulate`: a living fleet, driven through the real HTTP API as an orchestrator would drive it.

It hires a fleet (several providers; steady, sloppy and flaky-provider workers), registers a task for a worker,
reports the attempt's outcome (hallucination, timeout, scope drift, format violation or provider fault at each
profile's rates), has a repaired task done by its new worker, completes it, and follows the event inbox to
know who is in service. `--seed` makes a run repeatable. Only the API is used, with a Manager key, so a run
shows what a real Manager would see; the database is touched once, to issue that key when none is given.
"""

import json
import random
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from governance.management.commands._progress import ProgressBar

OUTCOMES = ("hallucinated", "timeout", "scope_drift", "format_violation")


@dataclass(frozen=True)
class Profile:
    kind: str
    violation_rate: float
    fault_rate: float = 0.0


PROFILES = {
    "steady": Profile("steady", 0.02),
    "sloppy": Profile("sloppy", 0.25),
    "flaky": Profile("flaky", 0.0, fault_rate=0.3),
}
PROVIDERS = {"steady": ("openai", "anthropic", "mistral"), "sloppy": ("cheapco",), "flaky": ("flakyai",)}


class Api:
    """The Manager's side of the API, over HTTP."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base.rstrip("/")
        self.key = key

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
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


class Command(BaseCommand):
    help = "Drive a simulated fleet through the HTTP API with a Manager key: hire, route, report, react."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
        parser.add_argument("--key", help="a Manager key; by default one is issued for this run")
        parser.add_argument("--workers", type=int, default=30, help="fleet size (default 30)")
        parser.add_argument("--reports", type=int, default=300, help="tasks to run (default 300)")
        parser.add_argument(
            "--rate", type=float, help="one violation rate for every worker (e.g. 0.23), instead of the profiles"
        )
        parser.add_argument("--seed", type=int, default=7, help="the random seed (default 7)")
        parser.add_argument("--prefix", default="sim", help="model ids start with this (default 'sim')")

    def handle(self, *args, **o):
        rng = random.Random(o["seed"])
        api = Api(o["url"], o["key"] or self._issue_key())
        status, _ = api.call("GET", "/api/workers/?limit=1")
        if status != 200:
            raise CommandError(f"the API at {o['url']} answered {status}; is `make run` up, and the key a Manager's?")
        fleet = self._hire(api, rng, o)
        cursor = self._cursor(api)
        stats: Counter = Counter()
        progress = ProgressBar(self.stdout)
        for n in range(o["reports"]):
            cursor = self._follow_inbox(api, cursor, fleet, stats)
            self._one_task(api, rng, fleet, stats, o, n)
            progress("tasks", n + 1, o["reports"])
        self._follow_inbox(api, cursor, fleet, stats)
        self._summary(stats, fleet)

    def _issue_key(self) -> str:
        from workforce.models import Role, ServiceKey
        from workforce.services.access import role_group

        _, raw = ServiceKey.objects.create_key(name="simulator", role=role_group(Role.MANAGER.value))
        return raw

    def _hire(self, api: Api, rng: random.Random, o) -> dict[str, dict]:
        """Mostly steady workers, a sixth sloppy and a sixth on a flaky provider."""
        fleet: dict[str, dict] = {}
        size = o["workers"]
        kinds = ["sloppy"] * (size // 6) + ["flaky"] * (size // 6)
        kinds += ["steady"] * (size - len(kinds))
        for n, kind in enumerate(kinds):
            provider = PROVIDERS[kind][n % len(PROVIDERS[kind])]
            model_id = f"{provider}/{o['prefix']}-{kind}-{n:03d}"
            status, body = api.call("POST", "/api/workers/", {"model_id": model_id, "capabilities": ["code"]})
            if status == 409:  # a repeated run: the worker is already on the payroll
                status, body = api.call("GET", f"/api/workers/{model_id}/")
            if status not in (200, 201):
                raise CommandError(f"hiring {model_id} answered {status}: {body}")
            fleet[model_id] = {"kind": kind, "status": body["status"]}
        self.stdout.write(f"Fleet: {Counter(w['kind'] for w in fleet.values())} ({len(fleet)} workers)")
        return fleet

    def _cursor(self, api: Api) -> int:
        cursor = 0
        while True:
            _, page = api.call("GET", f"/api/events/?after={cursor}&limit=1000")
            cursor = page.get("next_cursor") or cursor
            if not page.get("has_more"):
                return cursor

    def _follow_inbox(self, api: Api, cursor: int, fleet: dict, stats: Counter) -> int:
        """Read the inbox since the cursor: who left or came back into service, who was promoted."""
        while True:
            _, page = api.call("GET", f"/api/events/?after={cursor}&limit=1000")
            for event in page.get("events", []):
                model_id = event.get("model_id")
                if event["kind"] == "worker.status_changed" and model_id in fleet:
                    fleet[model_id]["status"] = event["payload"]["new"]
                elif event["kind"] == "worker.health_changed" and model_id in fleet:
                    # Provider faults took it out of rotation: a Manager routes around it until then.
                    fleet[model_id]["unhealthy_until"] = datetime.fromisoformat(event["payload"]["unhealthy_until"])
                elif event["kind"] == "action.applied":
                    stats[f"action:{event['payload']['action']}"] += 1
                elif event["kind"] in ("sanction.held", "governance.spike", "task.reassigned", "task.waiting"):
                    stats[event["kind"]] += 1
            cursor = page.get("next_cursor") or cursor
            if not page.get("has_more"):
                return cursor

    def _outcome(self, rng: random.Random, kind: str, rate: float | None) -> dict:
        profile = PROFILES[kind]
        roll = rng.random()
        if roll < profile.fault_rate:
            return {"error_kind": "provider", "duration_ms": 400}
        if roll < profile.fault_rate + (profile.violation_rate if rate is None else rate):
            violation = rng.choice(OUTCOMES)
            return {"duration_ms": 75_000} if violation == "timeout" else {violation: True, "duration_ms": 15_000}
        return {
            "duration_ms": rng.randint(3_000, 25_000),
            "retries": rng.choice((0, 0, 0, 1)),
            "test_pass_rate": round(rng.uniform(0.75, 1.0), 2),
            "manager_satisfaction": round(rng.uniform(0.7, 0.95), 2),
            "confidence": round(rng.uniform(0.6, 0.9), 2),
        }

    def _one_task(self, api: Api, rng: random.Random, fleet: dict, stats: Counter, o, n: int) -> None:
        now = datetime.now(UTC)
        in_service = [
            m
            for m, w in fleet.items()
            if w["status"] in ("ACTIVE", "COOLDOWN", "PROBATION") and w.get("unhealthy_until", now) <= now
        ]
        if not in_service:
            stats["no worker in service"] += 1
            return
        model_id = rng.choice(in_service)
        task_id = f"{o['prefix']}-{o['seed']}-task-{n:06d}"
        status, body = api.call(
            "POST", "/api/tasks/", {"task_id": task_id, "capability": "code", "priority": 2, "model_id": model_id}
        )
        if status != 201:
            stats[f"task refused ({status})"] += 1
            stats.setdefault("first refusal", json.dumps(body)[:200])
            return
        outcome = self._outcome(rng, fleet[model_id]["kind"], o["rate"])
        status, answer = api.call(
            "POST", "/api/audit/", {"task_id": task_id, "model_id": model_id, "logs": [f"attempt {n}"], **outcome}
        )
        stats[f"report {status}"] += 1
        if status != 200:
            return
        stats["reports"] += 1
        if answer["status"] == "violation":
            stats["incidents"] += 1
            new = answer.get("reassigned_to")
            if new:  # the repaired task is done by its new worker
                kind = fleet.get(new, {"kind": "steady"})["kind"]
                redo = self._outcome(rng, kind, o["rate"])
                api.call("POST", "/api/audit/", {"task_id": task_id, "model_id": new, "logs": ["redo"], **redo})
                stats["reports"] += 1
        elif answer.get("provider_fault"):
            stats["provider faults"] += 1
        status, _ = api.call("POST", f"/api/tasks/{task_id}/complete/", {})
        stats["tasks done" if status == 200 else f"complete refused ({status})"] += 1

    def _summary(self, stats: Counter, fleet: dict) -> None:
        by_status = Counter(w["status"] for w in fleet.values())
        steady = [w for w in fleet.values() if w["kind"] == "steady"]
        lines = [
            f"tasks done {stats['tasks done']}, reports {stats['reports']}, incidents {stats['incidents']}, "
            f"provider faults {stats['provider faults']}",
            "actions: " + ", ".join(f"{k[7:]} {v}" for k, v in sorted(stats.items()) if k.startswith("action:")),
            f"reassignments {stats['task.reassigned']}, tasks waiting {stats['task.waiting']}",
            f"promotions {stats['action:PROMOTE']}, terminations {stats['action:TERMINATE']}, "
            f"pending reviews {stats['sanction.held']}, spikes {stats['governance.spike']}",
            f"fleet now: {dict(by_status)}; steady workers ACTIVE: "
            f"{sum(1 for w in steady if w['status'] == 'ACTIVE')} of {len(steady)}",
        ]
        refused = {k: v for k, v in stats.items() if "refus" in k or (k.startswith("report ") and k != "report 200")}
        if refused:
            lines.append(f"refused: {refused}")
        self.stdout.write(self.style.SUCCESS("Simulation done.\n  " + "\n  ".join(lines)))
