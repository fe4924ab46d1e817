"""The Director in the control room, in a real browser: log in, purge an incident early, look at the charts."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from governance.models import Incident, PurgeLog, ScoreRecord
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Worker
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for service calls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "director-pass-Δ9"  # the `director` persona's, from tests/conftest.py


@pytest.fixture
def fleet(db) -> dict:
    """A worker with an incident and a history of scores, and a fleet of others at varied reputations."""
    now = timezone.now()
    worker = worker_hire(actor=TEST_MANAGER, model_id="openai/gpt-4o", capabilities=["code"])
    task_register(
        actor=TEST_MANAGER, task_id="task-1", capability="code", priority=1, model_id=worker.model_id, now=now
    )
    report_submit(
        actor=TEST_MANAGER,
        report=ReportInput(task_id="task-1", hallucinated=True, logs=["made it up"]),
        report_id="r-1",
        now=now,
    )
    ScoreRecord.objects.bulk_create(
        ScoreRecord(
            worker=worker,
            score=score,
            previous_reputation=60,
            reputation=reputation,
            action="NONE",
            metrics={},
            settings_version=1,
            run_key=f"run:{i}",
            created_at=now - timedelta(hours=30 - i),
        )
        for i, (score, reputation) in enumerate((50 + (i * 7) % 40, min(100, 45 + i + (i * 5) % 11)) for i in range(30))
    )
    statuses = ["TERMINATED", "SUSPENDED", "COOLDOWN", "PROBATION"] + ["ACTIVE"] * 11
    for i, reputation in enumerate([12, 25, 33, 41, 48, 52, 58, 61, 64, 67, 72, 77, 83, 88, 95]):
        Worker.objects.create(model_id=f"fleet/worker-{i}", reputation=reputation, status=statuses[i])
    return {"worker": worker, "incident": Incident.objects.get(worker=worker)}


def log_in(driver, base_url: str, username: str, password: str) -> None:
    driver.get(f"{base_url}/admin/login/")
    driver.find_element("name", "username").send_keys(username)
    driver.find_element("name", "password").send_keys(password)
    driver.find_element("css selector", "form [type=submit]").click()
    # Wait for the logged-in page (unfold's sidebar), or the next get() may abort the login's POST mid-flight.
    driver.find_element("id", "nav-sidebar")


ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"  # git-ignored


def screenshot(driver, tmp_path, name: str) -> str:
    """Save the page in the test's tmp dir and, to look at by eye, in AURA_SCREENSHOT_DIR or else artifacts/."""
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    target = Path(os.environ.get("AURA_SCREENSHOT_DIR") or ARTIFACTS)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, target / path.name)
    return str(path)


def test_the_director_purges_an_incident_early_from_the_changelist(
    chromium, live_server, evidence_cleared, director, fleet, tmp_path
):
    incident = fleet["incident"]
    log_in(chromium, live_server.url, "director", PASSWORD)

    chromium.get(f"{live_server.url}/admin/governance/incident/{incident.pk}/change/")
    entries = [li.text for li in chromium.find_elements("css selector", ".aura-evidence li")]
    screenshot(chromium, tmp_path, "incident")
    assert entries == ["made it up"]  # the evidence as a list of log entries, not JSON
    chromium.get(f"{live_server.url}/admin/governance/incident/")
    status = chromium.find_element("css selector", "#result_list .aura-label").text
    short = chromium.find_element("css selector", "#result_list .aura-id")
    screenshot(chromium, tmp_path, "incident-list")
    assert status.startswith("ACTIONED: ") and short.text == str(incident.pk)[:8]
    assert short.get_attribute("title") == str(incident.pk)

    chromium.find_element("css selector", f"input[name=_selected_action][value='{incident.pk}']").click()
    chromium.find_element("css selector", "select[name=action] option[value=purge_early]").click()
    chromium.find_element("css selector", "button[name=index]").click()
    chromium.find_element("name", "reason").send_keys("Test data from the onboarding drill")
    chromium.find_element("name", "confirm").click()
    screenshot(chromium, tmp_path, "purge-confirmation")
    chromium.find_element("name", "_apply").click()

    success = chromium.find_element("css selector", "#content-main .bg-green-100, .bg-green-100").text
    assert success.startswith("Purged 1 chosen record.")
    assert not Incident.objects.filter(pk=incident.pk).exists()
    log = PurgeLog.objects.get()
    assert (log.actor, log.reason) == (director, "Test data from the onboarding drill")
    screenshot(chromium, tmp_path, "purge-done")


def _chart(driver, section: str) -> dict:
    """What Chart.js drew in the section: its datasets' lengths and the canvas' laid-out size."""
    return driver.execute_script(
        """
        const canvas = document.querySelector(`#${arguments[0]} canvas.chart`);
        const chart = Chart.getChart(canvas);
        return {
            points: chart.data.datasets.map((d) => d.data.length),
            width: canvas.getBoundingClientRect().width,
            height: canvas.getBoundingClientRect().height,
        };
        """,
        section,
    )


def test_the_worker_pages_show_the_reputation_trend_and_the_fleet(
    chromium, live_server, evidence_cleared, director, fleet, tmp_path
):
    worker = fleet["worker"]
    log_in(chromium, live_server.url, "director", PASSWORD)

    chromium.get(f"{live_server.url}/admin/workforce/worker/")
    histogram = _chart(chromium, "fleet-reputation")
    statuses = _chart(chromium, "fleet-status")
    screenshot(chromium, tmp_path, "worker-changelist")
    chromium.get(f"{live_server.url}/admin/workforce/worker/{worker.pk}/change/")
    trend = _chart(chromium, "reputation-trend")
    timeline = chromium.find_elements("css selector", "#disciplinary-record .aura-timeline-entry")
    evidence = chromium.find_element("css selector", "#worker-incidents .aura-incident summary")
    screenshot(chromium, tmp_path, "worker-change")

    assert histogram["points"] == [10] and statuses["points"] == [len(Worker.Status.choices)]
    assert trend["points"][0] == 31  # 30 scoring records and the incident's penalty score
    assert len(trend["points"]) == 4  # the reputation and three thresholds
    assert timeline and "hallucination" in evidence.text
    # Laid out at a readable size, not collapsed by the page's CSS.
    assert histogram["width"] > 300 and histogram["height"] > 100
    assert trend["width"] > 300 and trend["height"] > 100


def test_at_1440_pixels_the_lists_fit_and_the_actions_clear_the_title(
    chromium, live_server, evidence_cleared, director, fleet, tmp_path
):
    chromium.set_window_size(1440, 900)
    log_in(chromium, live_server.url, "director", PASSWORD)

    for page in ("governance/incident", "governance/disciplinaryaction", "workforce/worker", "workforce/event"):
        chromium.get(f"{live_server.url}/admin/{page}/")
        overflow = chromium.execute_script(
            "const t = document.querySelector('#result_list'); const r = t.getBoundingClientRect();"
            "return [r.right, document.documentElement.clientWidth, t.scrollWidth, t.clientWidth];"
        )
        right, viewport, scroll_width, client_width = overflow
        assert right <= viewport + 1 and scroll_width <= client_width + 1, page
    chromium.get(f"{live_server.url}/admin/workforce/worker/{fleet['worker'].pk}/change/")
    screenshot(chromium, tmp_path, "worker-change-1440")
    boxes = chromium.execute_script(
        "const h = document.querySelector('h1'); const a = [...document.querySelectorAll('[data-aura-action]')];"
        "return [h && h.getBoundingClientRect().toJSON(), a.map((e) => e.getBoundingClientRect().toJSON())];"
    )
    title, actions = boxes
    assert actions  # the Director's interventions are offered
    if title:
        for box in actions:
            apart = (
                box["left"] >= title["right"]
                or box["right"] <= title["left"]
                or box["top"] >= title["bottom"]
                or box["bottom"] <= title["top"]
            )
            assert apart, (title, box)
