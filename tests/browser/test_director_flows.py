"""Issue 10's browser list, in a real headless Chromium against live_server: what the Director and a Viewer see in
the control room, and what the Manager's API answers once the Director has acted.

1. the dashboard's figures and charts for a fleet that `manage.py simulate` drove through the HTTP API;
2. a suspension with a length and a reason from the worker's page: its timeline, and the Manager's inbox;
3. an overturned strike: the worker's status back, the strike shown overturned on the worker's timeline, on the
   action's page and on the incident's;
4. the emergency halt from the control room: routing answers nobody, an assignment is refused with 409 naming the
   halt, the dashboard says Halted; then the resume;
5. a sanction the spike guard held, confirmed from the review queue;
6. a Viewer: the dashboard, no intervention offered anywhere, and 403 on an intervention's direct URL;
7. the login locking after repeated wrong passwords, the right one refused after.

Screenshots go to artifacts/ at the repository root (git-ignored; AURA_SCREENSHOT_DIR elsewhere): dashboard.png,
worker.png and incident.png, and one or two per flow. Every wait is explicit; Chromium's implicit wait is off here,
so looking for something that must be absent costs nothing.
"""

import io
import json
import os
import shutil
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from governance.models import DisciplinaryAction, Incident, PendingSanction
from governance.services.discipline import director_intervene
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.domain.lifecycle import GONE
from workforce.models import Event, SystemMode, Task, Worker
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for the service calls that set a scene
DIRECTOR_PASSWORD = "director-pass-Δ9"  # the `director` persona's (tests/conftest.py)
VIEWER_PASSWORD = "viewer-pass-Δ9"  # the `viewer` persona's
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"  # git-ignored
FLEET = 10  # the simulated fleet's size: small, so the run takes seconds
WAIT = 20  # seconds an explicit wait may take at most (a loaded CI machine), never slept through


# --- The browser ---------------------------------------------------------------------------------------------


@pytest.fixture
def browser(chromium):
    """The conftest's Chromium with its implicit wait off: the waits below are explicit, and a check that
    something is absent must not wait five seconds for it to appear."""
    chromium.implicitly_wait(0)
    return chromium


def wait(driver, condition, message: str = "", timeout: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition, message)


def css(driver, selector: str):
    """The element, waited for: a page may still be arriving after a click."""
    return wait(driver, lambda d: d.find_element("css selector", selector), f"no {selector} on {driver.current_url}")


def all_css(driver, selector: str) -> list:
    return driver.find_elements("css selector", selector)


def _stale(element) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    return False


def click_to_next_page(driver, element) -> None:
    """Click something that loads a new page, and wait until the old one is gone."""
    old = driver.find_element("tag name", "html")
    # To the middle of the window, as a reader scrolls: the change form's sticky bar covers the bottom edge.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()
    wait(driver, lambda d: _stale(old), f"the page did not change after the click on {driver.current_url}")
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def submit_login(driver, base_url: str, username: str, password: str) -> None:
    driver.get(f"{base_url}/admin/login/")
    css(driver, "input[name=username]").send_keys(username)
    css(driver, "input[name=password]").send_keys(password)
    click_to_next_page(driver, css(driver, "form [type=submit]"))


def log_in(driver, base_url: str, username: str, password: str) -> None:
    submit_login(driver, base_url, username, password)
    css(driver, "#nav-sidebar")  # unfold's sidebar: logged in


def success_message(driver) -> str:
    """The text of the page's success messages (unfold draws each in a green box in a list)."""
    boxes = wait(driver, lambda d: d.find_elements("css selector", "li > div.bg-green-100"), "no success message")
    return " ".join(box.text.strip() for box in boxes)


def choose_action(driver, name: str, pks: list) -> None:
    """On a changelist: tick the rows, choose the action from the bar, and run it."""
    from selenium.webdriver.support.ui import Select

    for pk in pks:
        css(driver, f"input[name=_selected_action][value='{pk}']").click()
    Select(css(driver, "select[name=action]")).select_by_value(name)
    run = css(driver, "button[name=index]")
    wait(driver, lambda d: run.is_displayed(), "the action bar's Run button did not show")
    click_to_next_page(driver, run)


def fill_intermediate_page(driver, reason: str, **fields: str) -> None:
    """The Director's intermediate page: the fields, the reason, then the confirming button."""
    for name, value in fields.items():
        box = css(driver, f"[name={name}]")
        box.clear()
        box.send_keys(value)
    css(driver, "textarea[name=reason]").send_keys(reason)


def confirm(driver) -> None:
    click_to_next_page(driver, css(driver, "input[name=_apply]"))


def screenshot(driver, tmp_path, name: str) -> Path:
    """Save the whole page, below the fold too (a worker's timeline is), in the test's tmp dir and, to look at by
    eye, in AURA_SCREENSHOT_DIR or else artifacts/."""
    path = tmp_path / f"{name}.png"
    # A window as tall as the page, so the change form's sticky bar sits below the content, not over it.
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(max(height + 200, size["height"]), 8000))
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])
    target = Path(os.environ.get("AURA_SCREENSHOT_DIR") or ARTIFACTS)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, target / path.name)
    return target / path.name


def browser_status(driver, url: str) -> int:
    """The HTTP status the browser gets for a GET of `url` with its own session."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin', redirect: 'manual'})"
        ".then((r) => done(r.status)).catch((e) => done(String(e)));",
        url,
    )


DASHBOARD_CHARTS = """
if (typeof Chart === 'undefined') return null;
const canvases = [...document.querySelectorAll('#aura-dashboard canvas.chart')];
const charts = canvases.map((canvas) => Chart.getChart(canvas));
if (!canvases.length || charts.some((chart) => !chart || Chart.animator.running(chart))) return null;  // drawn, still
return charts.map((chart, i) => {
    const box = canvases[i].getBoundingClientRect();
    return {
        type: chart.config.type,
        labels: chart.data.labels,
        datasets: chart.data.datasets.map((d) => ({label: d.label, data: d.data})),
        width: box.width,
        height: box.height,
    };
});
"""


def dashboard_charts(driver) -> list[dict]:
    """The dashboard's charts as Chart.js drew them, once it has drawn every one."""
    return wait(driver, lambda d: d.execute_script(DASHBOARD_CHARTS), "the dashboard's charts were not drawn")


def figure(driver, name: str) -> str:
    return css(driver, f"[data-figure='{name}']").text.strip()


def timeline(driver) -> list:
    return all_css(driver, "#disciplinary-record .aura-timeline-entry")


# --- The Manager's side: the HTTP API --------------------------------------------------------------------------


def api(base_url: str, key: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict, object]:
    """(status, headers, JSON body) of one call to the live server with a service key."""
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def inbox(base_url: str, key: str, *, kind: str, model_id: str | None = None) -> list[dict]:
    """The Manager's inbox (GET /api/events/), the events of one kind, about one worker if named."""
    status, _, page = api(base_url, key, "GET", "/api/events/?limit=1000")
    assert status == 200, page
    assert not page["has_more"]
    return [
        event
        for event in page["events"]
        if event["kind"] == kind and (model_id is None or event["model_id"] == model_id)
    ]


def routed(base_url: str, key: str) -> tuple[int, dict, list]:
    return api(base_url, key, "GET", "/api/routing/?capability=code&priority=1")


# --- Scenes, set with the services the automation uses ---------------------------------------------------------

_serial = count()


def flagged(worker: Worker, at: datetime, **flags) -> dict:
    """Give the worker a task at `at` and report it flagged a second later (scope drift unless told): the
    answer's body."""
    n = next(_serial)
    task_register(
        task_id=f"flow-task-{n}", capability="code", priority=2, model_id=worker.model_id, now=at, actor=TEST_MANAGER
    )
    report = ReportInput(task_id=f"flow-task-{n}", model_id=worker.model_id, **(flags or {"scope_drift": True}))
    later = at + timedelta(seconds=1)
    return report_submit(report=report, report_id=f"flow-report-{n}", now=later, actor=TEST_MANAGER).body


def held_suspension() -> PendingSanction:
    """The spike guard at work: nine workers of one provider all flagged within minutes (a broken detector, by
    the look of it), then one of them again; the ladder says suspend, the guard holds it for the Director."""
    t0 = timezone.now() - timedelta(minutes=30)
    fleet = [
        worker_hire(model_id=f"acme/w{n}", provider="acme", capabilities=["code"], actor=TEST_MANAGER) for n in range(9)
    ]
    for n, worker in enumerate(fleet):
        flagged(worker, t0 + timedelta(seconds=10 * n))
    answer = flagged(fleet[0], t0 + timedelta(minutes=5))
    assert answer["held_for_review"] == ["SUSPEND"], answer
    return PendingSanction.objects.select_related("worker").get()


# --- 1. The dashboard of a simulated fleet ---------------------------------------------------------------------


def test_the_director_sees_the_dashboards_figures_and_charts_for_a_simulated_fleet(
    browser, live_server, director, tmp_path
):
    out = io.StringIO()
    call_command(
        "simulate",
        "--url",
        live_server.url,
        *("--workers", str(FLEET), "--reports", "40", "--violation-rate", "0.3", "--seed", "3"),
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "Simulation done." in out.getvalue(), out.getvalue()
    workers = list(Worker.objects.values_list("model_id", "status", "tier", "reputation"))
    violations = list(Incident.objects.values_list("violations", flat=True))
    assert len(workers) == FLEET and violations, "the simulated fleet should have worked and misbehaved"

    log_in(browser, live_server.url, "director", DIRECTOR_PASSWORD)
    browser.get(f"{live_server.url}/admin/")
    incidents_chart, histogram, trend = dashboard_charts(browser)
    screenshot(browser, tmp_path, "dashboard")

    # Workers by status and, on the payroll, by tier: every choice listed, the figures the fleet's.
    by_status = Counter(status for _, status, _, _ in workers)
    payroll = [w for w in workers if w[1] not in GONE]
    by_tier = Counter(tier for _, _, tier, _ in payroll)
    shown_status = {e.get_attribute("data-status"): e.text.strip() for e in all_css(browser, "[data-status]")}
    shown_tier = {e.get_attribute("data-tier"): e.text.strip() for e in all_css(browser, "[data-tier]")}
    assert shown_status == {**{s: str(by_status[s]) for s, _ in Worker.Status.choices}, "ALL": str(FLEET)}
    assert shown_tier == {**{t: str(by_tier[t]) for t, _ in Worker.Tier.choices}, "ALL": str(len(payroll))}

    # The figures that say what needs the Director.
    assert figure(browser, "system-mode") == "Normal"
    expected = {
        "open-incidents": Incident.objects.filter(status=Incident.Status.OPEN).count(),
        "sanctions-pending-review": PendingSanction.objects.filter(status=PendingSanction.Status.PENDING).count(),
        "tasks-waiting-for-a-worker": Task.objects.filter(status=Task.Status.WAITING).count(),
        "actions-last-24-h": DisciplinaryAction.objects.count(),
        "reassignments-last-24-h": Event.objects.filter(kind=Event.Kind.TASK_REASSIGNED).count(),
    }
    assert {name: figure(browser, name) for name in expected} == {name: f"{n:,}" for name, n in expected.items()}
    assert expected["actions-last-24-h"] > 0
    assert len(all_css(browser, "[data-beat]")) >= 1  # beat's jobs, each with its last success (none here)

    # Incidents per day by violation type: today's bars add up to the fleet's incidents of each type.
    per_type = Counter(kind for pairs in violations for kind in {pair[0] for pair in pairs or () if pair})
    assert incidents_chart["type"] == "bar" and len(incidents_chart["labels"]) == 30
    assert {d["label"]: sum(d["data"]) for d in incidents_chart["datasets"]} == dict(per_type)
    assert all(len(d["data"]) == 30 and sum(d["data"][:-1]) == 0 for d in incidents_chart["datasets"])
    assert f"{len(violations)} incidents in 30 days" in css(browser, "#aura-dashboard").text
    # The reputation distribution: the payroll's workers in ten bands.
    bands = Counter(min(reputation // 10, 9) for _, _, _, reputation in payroll)
    assert histogram["datasets"][0]["data"] == [bands[b] for b in range(10)]
    # Reputation over 30 days, one line per worker at the top or the bottom of the payroll.
    names = {model_id for model_id, _, _, _ in payroll}
    assert 1 <= len(trend["datasets"]) <= 10 and len(trend["labels"]) == 30
    for line in trend["datasets"]:
        model_id, _, side = line["label"].rpartition(" ")
        assert model_id in names and side in ("(top)", "(bottom)") and len(line["data"]) == 30
    for chart in (incidents_chart, histogram, trend):
        assert chart["width"] > 200 and chart["height"] > 100, chart  # laid out at a readable size


# --- 2. A suspension with a length and a reason ----------------------------------------------------------------


def test_the_director_suspends_a_worker_and_sees_it_on_its_timeline_and_in_the_inbox(
    browser, live_server, director, manager_key, tmp_path
):
    worker = worker_hire(model_id="anthropic/claude-steady", capabilities=["code"], actor=TEST_MANAGER)
    reason = "Leaked a customer's API key in its output"
    key = manager_key.raw_key

    log_in(browser, live_server.url, "director", DIRECTOR_PASSWORD)
    browser.get(f"{live_server.url}/admin/workforce/worker/")
    click_to_next_page(browser, css(browser, f"#result_list a[href$='/workforce/worker/{worker.pk}/change/']"))
    assert css(browser, "#worker-standing .aura-status").text == "Active"
    click_to_next_page(browser, css(browser, "[data-aura-action=worker_suspend]"))
    # The intermediate page says what will happen and to whom, and asks for the length and the reason.
    assert "not routed until the suspension ends" in css(browser, ".aura-intro").text
    assert worker.model_id in css(browser, ".aura-chosen").text
    fill_intermediate_page(browser, reason, hours="6")
    screenshot(browser, tmp_path, "suspend-form")
    asked_at = timezone.now()
    confirm(browser)

    assert success_message(browser) == "Suspended 1 worker."
    assert browser.current_url.endswith(f"/admin/workforce/worker/{worker.pk}/change/")
    assert css(browser, "#worker-standing .aura-status").text == "Suspended"
    entry = timeline(browser)[0].text  # newest first
    assert entry.startswith("SUSPEND") and "by director (Director)" in entry, entry
    assert reason in entry and "until" in entry, entry
    screenshot(browser, tmp_path, "worker")

    action = DisciplinaryAction.objects.get(worker=worker)
    assert (action.action, action.actor, action.reason) == ("SUSPEND", director, reason)
    assert timedelta(hours=6) <= action.effective_until - asked_at <= timedelta(hours=6, minutes=2)
    # The Manager's inbox: the action, with the Director as actor, its reason and its end; the status change.
    (applied,) = inbox(live_server.url, key, kind="action.applied", model_id=worker.model_id)
    assert applied["payload"]["action"] == "SUSPEND" and applied["payload"]["reason"] == reason
    assert (applied["payload"]["actor"], applied["payload"]["actor_kind"]) == ("user:director", "DIRECTOR")
    assert datetime.fromisoformat(applied["payload"]["until"]) == action.effective_until
    (changed,) = inbox(live_server.url, key, kind="worker.status_changed", model_id=worker.model_id)
    assert (changed["payload"]["old"], changed["payload"]["new"]) == ("ACTIVE", "SUSPENDED")
    # And routing leaves the suspended worker out.
    status, _, candidates = routed(live_server.url, key)
    assert status == 200 and worker.model_id not in [c["model_id"] for c in candidates]


# --- 3. An overturned strike -----------------------------------------------------------------------------------


def test_the_director_overturns_a_strike_and_sees_the_status_restored_and_the_strike_overturned(
    browser, live_server, director, tmp_path
):
    # A worker back on probation (terminated, rehired) makes something up: a strike, and with it HR's
    # termination ("strike while on probation"), both on the incident.
    t0 = timezone.now() - timedelta(minutes=20)
    worker = worker_hire(model_id="mistral/large-rehired", capabilities=["code"], actor=TEST_MANAGER)
    director_intervene(worker=worker, action="TERMINATE", reason="budget cut", actor=director, now=t0)
    director_intervene(
        worker=worker, action="REHIRE", reason="budget restored", actor=director, now=t0 + timedelta(minutes=1)
    )
    worker.refresh_from_db()
    assert worker.status == Worker.Status.PROBATION
    reputation_before = worker.reputation
    flagged(worker, t0 + timedelta(minutes=5), hallucinated=True, logs=["cited RFC 9999, which does not exist"])
    incident = Incident.objects.get(worker=worker)
    strike = DisciplinaryAction.objects.get(incident=incident, action="STRIKE")
    termination = DisciplinaryAction.objects.get(incident=incident, action="TERMINATE")
    worker.refresh_from_db()
    assert worker.status == Worker.Status.TERMINATED and worker.reputation < reputation_before
    reason = "RFC 9999 is a draft the task's sources cite: not invented"

    log_in(browser, live_server.url, "director", DIRECTOR_PASSWORD)
    browser.get(f"{live_server.url}/admin/workforce/worker/{worker.pk}/change/")
    assert css(browser, "#worker-standing .aura-status").text == "Terminated"
    assert not all_css(browser, "#disciplinary-record .aura-overturned")
    # The worker's record, whole: the strike and the termination it brought, chosen and overturned.
    click_to_next_page(browser, css(browser, "#disciplinary-record h2 a"))
    choose_action(browser, "overturn_actions", [strike.pk, termination.pk])
    assert "2 chosen records" in css(browser, "#content-main h2").text
    assert "worker suspended or terminated by an overturned action is reinstated" in css(browser, ".aura-intro").text
    fill_intermediate_page(browser, reason)
    confirm(browser)
    assert success_message(browser) == "Overturned 2 actions."

    # The worker's page: back on probation, the strike and the termination shown overturned, by whom and why.
    browser.get(f"{live_server.url}/admin/workforce/worker/{worker.pk}/change/")
    assert css(browser, "#worker-standing .aura-status").text == "Probation"
    overturned = {
        entry.find_element("css selector", ".aura-label").text: entry.text
        for entry in all_css(browser, "#disciplinary-record .aura-overturned")
    }
    assert set(overturned) == {"STRIKE", "TERMINATE"}, overturned
    for text in overturned.values():
        assert "Overturned by director on " in text and reason in text, text
    labels = [e.find_element("css selector", ".aura-label").text for e in timeline(browser)]
    assert Counter(labels) == Counter({"OVERTURN": 2, "STRIKE": 1, "TERMINATE": 2, "REHIRE": 1}), labels
    screenshot(browser, tmp_path, "worker-overturned")

    # The strike's own page: marked overturned, and no longer offered for an overturn.
    browser.get(f"{live_server.url}/admin/governance/disciplinaryaction/{strike.pk}/change/")
    badges = [label.text for label in all_css(browser, "#content-main .aura-label")]
    assert "STRIKE" in badges and "OVERTURNED" in badges, badges
    assert reason in css(browser, "#content-main").text
    assert not all_css(browser, "[data-aura-action=overturn_actions]")
    screenshot(browser, tmp_path, "strike-overturned")
    # The incident's page: overturned, its evidence a list, its actions each marked.
    browser.get(f"{live_server.url}/admin/governance/incident/{incident.pk}/change/")
    assert css(browser, "span.aura-label[title='Every action it caused was overturned.']").text == "OVERTURNED"
    assert [li.text for li in all_css(browser, ".aura-evidence li")] == ["cited RFC 9999, which does not exist"]
    actions = [li.text for li in all_css(browser, ".aura-actions li")]
    assert sum("OVERTURNED" in text for text in actions) == 2, actions
    screenshot(browser, tmp_path, "incident")

    worker.refresh_from_db()
    incident.refresh_from_db()
    assert worker.status == Worker.Status.PROBATION and incident.status == Incident.Status.OVERTURNED
    assert worker.reputation == reputation_before  # the penalty's points given back


# --- 4. The emergency halt and the resume ----------------------------------------------------------------------


def test_the_director_halts_the_fleet_routing_refuses_and_the_resume_ends_it(
    browser, live_server, director, manager_key, tmp_path
):
    worker = worker_hire(model_id="openai/gpt-4o-ready", capabilities=["code"], actor=TEST_MANAGER)
    task_register(
        task_id="halt-task-1", capability="code", priority=1, model_id=None, now=timezone.now(), actor=TEST_MANAGER
    )
    key = manager_key.raw_key
    reason = "Provider outage: outputs are truncated fleet-wide"
    status, headers, candidates = routed(live_server.url, key)
    assert status == 200 and [c["model_id"] for c in candidates] == [worker.model_id]

    log_in(browser, live_server.url, "director", DIRECTOR_PASSWORD)
    assert figure(browser, "system-mode") == "Normal"
    click_to_next_page(browser, css(browser, "#nav-sidebar a[href$='/admin/workforce/systemmode/']"))
    (halt,) = [tool for tool in all_css(browser, "a.aura-tool") if tool.text.strip() == "Emergency halt"]
    click_to_next_page(browser, halt)
    assert "Every worker stops receiving tasks now." in css(browser, "#content-main").text
    assert not all_css(browser, ".aura-chosen")  # the whole fleet, no "0 chosen records"
    fill_intermediate_page(browser, reason)
    screenshot(browser, tmp_path, "halt-form")
    confirm(browser)
    assert success_message(browser) == "The fleet is halted."

    # Routing answers nobody, and says why in a header; an assignment is refused naming the halt.
    status, headers, candidates = routed(live_server.url, key)
    assert (status, candidates, headers.get("Aura-System-Mode")) == (200, [], "halted")
    status, _, refusal = api(live_server.url, key, "POST", "/api/tasks/halt-task-1/assign/", {})
    assert status == 409 and refusal["code"] == "halted", refusal
    assert "halted by user:director" in refusal["detail"] and reason in refusal["detail"]
    assert refusal["halt_reason"] == reason
    (told,) = inbox(live_server.url, key, kind="system.halted")
    assert (told["payload"]["by"], told["payload"]["reason"]) == ("user:director", reason)
    # The dashboard says Halted, by whom and why; no new assignment happened.
    browser.get(f"{live_server.url}/admin/")
    assert figure(browser, "system-mode") == "Halted"
    assert reason in css(browser, ".aura-mode").text
    screenshot(browser, tmp_path, "dashboard-halted")
    assert Task.objects.get(task_id="halt-task-1").current_worker is None

    # The resume, the same way: the fleet is routed again.
    click_to_next_page(browser, css(browser, "#nav-sidebar a[href$='/admin/workforce/systemmode/']"))
    (resume,) = [tool for tool in all_css(browser, "a.aura-tool") if tool.text.strip() == "Resume the fleet"]
    click_to_next_page(browser, resume)
    fill_intermediate_page(browser, "Provider fixed the truncation")
    confirm(browser)
    assert success_message(browser) == "The fleet is running again."
    browser.get(f"{live_server.url}/admin/")
    assert figure(browser, "system-mode") == "Normal"
    status, headers, candidates = routed(live_server.url, key)
    assert status == 200 and [c["model_id"] for c in candidates] == [worker.model_id]
    assert "Aura-System-Mode" not in headers
    status, _, task = api(live_server.url, key, "POST", "/api/tasks/halt-task-1/assign/", {})
    assert status == 200 and task["current_worker"] == worker.model_id, task
    (resumed,) = inbox(live_server.url, key, kind="system.resumed")
    assert resumed["payload"]["halt_reason"] == reason


# --- 5. A held sanction, confirmed -----------------------------------------------------------------------------


def test_the_director_confirms_a_sanction_held_by_the_spike_guard_and_sees_it_applied(
    browser, live_server, director, manager_key, tmp_path
):
    held = held_suspension()
    worker = held.worker
    assert worker.status == Worker.Status.COOLDOWN  # warned, not suspended: the suspension waits
    reason = "Checked the logs: this one drifted for real"

    log_in(browser, live_server.url, "director", DIRECTOR_PASSWORD)
    assert figure(browser, "sanctions-pending-review") == "1"
    review = css(browser, f"#aura-dashboard a[href$='/admin/governance/pendingsanction/{held.pk}/change/']")
    assert review.text == "Review"
    click_to_next_page(browser, review)
    assert worker.model_id in css(browser, "#content-main").text  # the held sanction, read-only
    # Confirmed from the review queue's list, with the action bar.
    click_to_next_page(browser, css(browser, "#nav-sidebar a[href$='/admin/governance/pendingsanction/']"))
    choose_action(browser, "confirm_sanctions", [held.pk])
    assert "applied now, naming you and your reason" in css(browser, ".aura-intro").text
    fill_intermediate_page(browser, reason)
    confirm(browser)
    assert success_message(browser) == "Confirmed 1 held sanction."
    row = css(browser, "#result_list tbody tr").text
    assert "Confirmed" in row and "director" in row, row
    screenshot(browser, tmp_path, "sanction-confirmed")

    browser.get(f"{live_server.url}/admin/workforce/worker/{worker.pk}/change/")
    assert css(browser, "#worker-standing .aura-status").text == "Suspended"
    entry = timeline(browser)[0].text
    assert entry.startswith("SUSPEND") and "by director (Director)" in entry, entry
    browser.get(f"{live_server.url}/admin/")
    assert figure(browser, "sanctions-pending-review") == "0"

    held.refresh_from_db()
    assert (held.status, held.decided_by, held.applied.actor) == ("CONFIRMED", director, director)
    (reviewed,) = inbox(live_server.url, manager_key.raw_key, kind="sanction.reviewed", model_id=worker.model_id)
    assert (reviewed["payload"]["decision"], reviewed["payload"]["actor"]) == ("CONFIRMED", "user:director")
    assert reviewed["payload"]["reason"] == reason


# --- 6. A Viewer ------------------------------------------------------------------------------------------------


def test_a_viewer_sees_the_dashboard_is_offered_no_intervention_and_is_refused_a_direct_url(
    browser, live_server, viewer, tmp_path
):
    held = held_suspension()
    worker = held.worker
    base = live_server.url

    log_in(browser, base, "viewer", VIEWER_PASSWORD)
    browser.get(f"{base}/admin/")
    dashboard_charts(browser)
    assert figure(browser, "system-mode") == "Normal"
    assert figure(browser, "sanctions-pending-review") == "1"
    assert css(browser, "[data-status=ALL]").text == "9"
    dashboard = css(browser, "#aura-dashboard")
    assert worker.model_id in dashboard.text  # the held sanction is in the review queue, to read
    # No "Review" of a held sanction, no "Assign" of a waiting task (the figures' cards still open the lists).
    assert not all_css(browser, "#aura-dashboard a[href*='/pendingsanction/'][href$='/change/']")
    assert not all_css(browser, "#aura-dashboard a[href*='/workforce/task/'][href$='/change/']")
    assert "Review" not in [link.text.strip() for link in all_css(browser, "#aura-dashboard a")]
    screenshot(browser, tmp_path, "viewer-dashboard")

    browser.get(f"{base}/admin/workforce/worker/{worker.pk}/change/")
    assert css(browser, "#worker-standing .aura-status").text == "Cooldown"
    assert timeline(browser)  # the record, to read
    assert not all_css(browser, "[data-aura-action]") and not all_css(browser, "a[href*='/act/']")
    screenshot(browser, tmp_path, "viewer-worker")
    browser.get(f"{base}/admin/workforce/worker/")
    assert not all_css(browser, "select[name=action] option[value^=worker_]")
    assert "Score workers now" not in css(browser, "body").text
    browser.get(f"{base}/admin/governance/pendingsanction/")
    assert not all_css(browser, "select[name=action] option[value$=_sanctions]")
    browser.get(f"{base}/admin/workforce/systemmode/")
    assert not all_css(browser, "a.aura-tool")  # no Emergency halt

    # The interventions' own URLs, typed in: refused.
    halt = f"{base}/admin/workforce/systemmode/halt/"
    suspend = f"{base}/admin/workforce/worker/{worker.pk}/act/worker_suspend/"
    assert browser_status(browser, halt) == 403
    assert browser_status(browser, suspend) == 403
    browser.get(halt)
    assert "403 Forbidden" in css(browser, "body").text
    screenshot(browser, tmp_path, "viewer-forbidden")
    browser.get(suspend)
    assert "403 Forbidden" in css(browser, "body").text

    worker.refresh_from_db()
    held.refresh_from_db()
    assert worker.status == Worker.Status.COOLDOWN and held.status == PendingSanction.Status.PENDING
    assert not SystemMode.objects.filter(mode=SystemMode.Mode.HALTED).exists()


# --- 7. The login lockout --------------------------------------------------------------------------------------


def test_the_login_locks_after_repeated_wrong_passwords_and_then_refuses_the_right_one(
    browser, live_server, director, tmp_path
):
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(1, limit):
        submit_login(browser, live_server.url, "director", f"wrong-{attempt}")
        css(browser, "#login-form")  # the form again, with its error
        errors = " ".join(note.text for note in all_css(browser, ".errornote"))
        assert "correct username and password" in errors, (attempt, errors)
    submit_login(browser, live_server.url, "director", f"wrong-{limit}")
    assert css(browser, "h1").text == "Login locked"

    submit_login(browser, live_server.url, "director", DIRECTOR_PASSWORD)
    assert css(browser, "h1").text == "Login locked"
    assert "axes_reset_username director" in css(browser, "main").text
    assert css(browser, "#unlocks-at").text.startswith("It unlocks at")
    screenshot(browser, tmp_path, "login-locked")
    browser.get(f"{live_server.url}/admin/")
    assert "/admin/login/" in browser.current_url and not all_css(browser, "#nav-sidebar")
