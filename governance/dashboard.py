"""The Director's dashboard: the admin index's figures, charts and queues (django-unfold's DASHBOARD_CALLBACK).

Read-only for everyone who may open the admin; the Director also gets the links that lead to an intervention
(review a held sanction, assign a waiting task). The reads are governance.dashboard_selectors; this module only
shapes them for templates/admin/index.html and unfold's components (cards, Chart.js charts, tables)."""

import json
from datetime import date, timedelta

from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from governance import dashboard_selectors as read
from governance.selectors import settings_current
from governance.services.dashboard import incident_days_rollup
from workforce.services.access import is_director

# Colours for the chart's violation types, in order of their 30-day totals (Tailwind's 500s: readable on light
# and dark). Unfold's Chart.js setup reads them as they are.
PALETTE = ["#ef4444", "#f59e0b", "#3b82f6", "#10b981", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b"]
TOP_COLOURS = ["#059669", "#10b981", "#34d399", "#6ee7b7", "#a7f3d0"]
BOTTOM_COLOURS = ["#dc2626", "#ef4444", "#f87171", "#fca5a5", "#fecaca"]


def dashboard_callback(request, context):
    """Unfold's hook for the admin index: adds the dashboard's data to the template context."""
    now = timezone.now()
    incident_days_rollup(now=now)  # closed days not yet counted: usually none, once a day one
    context.update(dashboard_context(now=now, may_act=is_director(request.user)))
    return context


def _url(name: str, *args, query: str = "") -> str | None:
    """An admin URL, or None where the admin does not offer that page."""
    try:
        url = reverse(f"admin:{name}", args=[quote(a) for a in args])
    except NoReverseMatch:
        return None
    return f"{url}?{query}" if query else url


def _link(url: str | None, text) -> str:
    return format_html('<a class="text-primary-600 font-medium" href="{}">{}</a>', url, text) if url else text


def _label(text: str, variant: str = "") -> str:
    classes = {
        "danger": "bg-red-100 text-red-700 dark:bg-red-500/20 dark:text-red-400",
        "warning": "bg-orange-100 text-orange-700 dark:bg-orange-500/20 dark:text-orange-400",
        "success": "bg-green-100 text-green-700 dark:bg-green-500/20 dark:text-green-400",
        "info": "bg-blue-100 text-blue-700 dark:bg-blue-500/20 dark:text-blue-400",
    }.get(variant, "bg-base-500/8 text-base-700 dark:bg-base-500/20 dark:text-base-200")
    return format_html(
        '<span class="inline-block font-semibold rounded-default text-[11px] uppercase whitespace-nowrap '
        'h-6 leading-6 px-2 {}">{}</span>',
        classes,
        text,
    )


def _when(at) -> str:
    return timezone.localtime(at).strftime("%b %d, %H:%M") if at else "never"


def _types(violations) -> str:
    return ", ".join(dict.fromkeys(v[0] for v in violations or () if v)) or "-"


def dashboard_context(*, now, may_act: bool) -> dict:
    since = now - timedelta(hours=24)
    s = settings_current()
    fleet = read.fleet_figures(read.fleet_counts())
    days, per_day = read.incidents_per_day(now=now)
    board = read.leaderboard(provisional_runs=s.provisional_runs)
    queue = read.review_queue()
    beat = read.beat_jobs(now=now)
    mode = read.system_mode_now()
    figures = {
        "open_incidents": read.open_incidents(),
        "pending_sanctions": read.sanctions_pending_review(),
        "actions_24h": read.actions_since(since=since),
        "tasks_waiting": read.tasks_waiting(),
        "reassignments_24h": read.reassignments_since(since=since),
    }
    return {
        "dashboard": {
            "may_act": may_act,
            "now": now,
            "figures": figures,
            "figure_cards": _figure_cards(figures),
            "mode": mode,
            "fleet": fleet,
            "fleet_status_url": _url("workforce_worker_changelist"),
            "beat": beat,
            "beat_stale": sum(1 for job in beat if job.stale),
            "incidents_chart": json.dumps(_incidents_chart(days, per_day)),
            "incidents_chart_options": json.dumps(_stacked_options()),
            "incidents_30d": sum(per_day.get(day, {}).get("", 0) for day in days),
            "histogram_chart": json.dumps(_histogram_chart(fleet["histogram"])),
            "histogram_chart_options": json.dumps(_histogram_options()),
            "trend_chart": json.dumps(_trend_chart(board, days)),
            "trend_chart_options": json.dumps(_line_options()),
            "incident_queue": _incident_table(read.incident_queue()),
            "sanction_queue": _sanction_table(queue["sanctions"], may_act),
            "task_queue": _task_table(queue["tasks"], may_act),
            "leaders": _leaderboard_table(board["top"]),
            "laggards": _leaderboard_table(board["bottom"]),
            "provisional_runs": s.provisional_runs,
            **_oversight_card(read.detector_oversight_now(now=now, settings=s)),
        }
    }


def _figure_cards(f: dict) -> list[dict]:
    return [
        {
            "title": "Open incidents",
            "figure": f["open_incidents"],
            "href": _url("governance_incident_changelist", query="status__exact=OPEN"),
            "help": "Incidents no action has closed yet.",
            "alert": f["open_incidents"].value > 0,
        },
        {
            "title": "Sanctions pending review",
            "figure": f["pending_sanctions"],
            "href": _url("governance_pendingsanction_changelist", query="status__exact=PENDING"),
            "help": "Held by the spike guard for the Director.",
            "alert": f["pending_sanctions"].value > 0,
        },
        {
            "title": "Tasks waiting for a worker",
            "figure": f["tasks_waiting"],
            "href": _url("workforce_task_changelist", query="status__exact=WAITING"),
            "help": "Nobody eligible was left to take them.",
            "alert": f["tasks_waiting"].value > 0,
        },
        {
            "title": "Actions, last 24 h",
            "figure": f["actions_24h"],
            "href": _url("governance_disciplinaryaction_changelist"),
            "help": "Disciplinary actions by HR, the Accountant, timers or the Director.",
            "alert": False,
        },
        {
            "title": "Reassignments, last 24 h",
            "figure": f["reassignments_24h"],
            "href": _url("workforce_event_changelist", query="kind__exact=task.reassigned"),
            "help": "Tasks handed to another worker.",
            "alert": False,
        },
    ]


def _stacked_options() -> dict:
    axis = {"border": {"width": 0}, "ticks": {"color": "#9ca3af"}}
    return {
        "maintainAspectRatio": False,
        "plugins": {
            "legend": {
                "display": True,
                "position": "bottom",
                "align": "start",
                "labels": {"boxHeight": 8, "boxWidth": 8, "usePointStyle": True, "color": "#9ca3af"},
            },
            "tooltip": {"enabled": True, "mode": "index"},
        },
        "scales": {
            "x": {**axis, "stacked": True, "grid": {"display": False}},
            "y": {**axis, "stacked": True, "beginAtZero": True, "ticks": {"color": "#9ca3af", "precision": 0}},
        },
    }


def _histogram_options() -> dict:
    options = _stacked_options()
    options["plugins"]["legend"]["display"] = False
    return options


def _line_options() -> dict:
    options = _stacked_options()
    options["scales"]["x"]["stacked"] = False
    options["scales"]["y"] = {
        "border": {"width": 0},
        "min": 0,
        "max": 100,
        "ticks": {"color": "#9ca3af", "stepSize": 20},
    }
    options["elements"] = {"point": {"radius": 0}, "line": {"borderWidth": 2, "tension": 0.2}}
    return options


def _day_label(day: date) -> str:
    return day.strftime("%b %d")


def _incidents_chart(days: list[date], per_day: dict) -> dict:
    totals: dict[str, int] = {}
    for day in days:
        for vtype, n in per_day.get(day, {}).items():
            if vtype:
                totals[vtype] = totals.get(vtype, 0) + n
    types = sorted(totals, key=lambda t: (-totals[t], t))
    return {
        "labels": [_day_label(day) for day in days],
        "datasets": [
            {
                "label": vtype,
                "data": [per_day.get(day, {}).get(vtype, 0) for day in days],
                "backgroundColor": PALETTE[i % len(PALETTE)],
                "stack": "incidents",
                "borderRadius": 2,
            }
            for i, vtype in enumerate(types)
        ],
    }


def _histogram_chart(histogram: list[tuple[str, int]]) -> dict:
    return {
        "labels": [band for band, _n in histogram],
        "datasets": [
            {
                "label": "Workers",
                "data": [n for _band, n in histogram],
                "backgroundColor": "var(--color-primary-500)",
                "displayYAxis": True,
            }
        ],
    }


def _trend_chart(board: dict, days: list[date]) -> dict:
    top = [row["worker"] for row in board["top"][: read.TREND_WORKERS]]
    bottom = [row["worker"] for row in board["bottom"][: read.TREND_WORKERS] if row["worker"] not in top]
    trends = read.reputation_trends(workers=top + bottom, days=days)
    datasets = []
    for workers, colours, side in ((top, TOP_COLOURS, "top"), (bottom, BOTTOM_COLOURS, "bottom")):
        for worker, colour in zip(workers, colours, strict=False):
            datasets.append(
                {
                    "label": f"{worker.model_id} ({side})",
                    "data": trends[worker.pk],
                    "borderColor": colour,
                    "backgroundColor": colour,
                    "fill": False,
                }
            )
    return {"labels": [_day_label(day) for day in days], "datasets": datasets}


def _incident_table(incidents) -> dict:
    rows = []
    for incident in incidents:
        rows.append(
            [
                _link(_url("governance_incident_change", incident.pk), str(incident.pk)[:8]),
                _link(_url("workforce_worker_change", incident.worker_id), incident.worker.model_id),
                _types(incident.violations),
                _label(f"sev {incident.severity}", "danger" if incident.severity >= 3 else "warning"),
                _when(incident.reported_at),
            ]
        )
    return {"headers": ["Incident", "Worker", "Violations", "Severity", "Reported"], "rows": rows}


def _sanction_table(sanctions, may_act: bool) -> dict:
    headers = ["Worker", "Held action", "Violation", "Held at"]
    rows = []
    for sanction in sanctions:
        row = [
            _link(_url("workforce_worker_change", sanction.worker_id), sanction.worker.model_id),
            format_html("{} by {}", _label(sanction.action, "danger"), sanction.actor_kind),
            sanction.violation_type or "-",
            _when(sanction.created_at),
        ]
        if may_act:
            row.append(_link(_url("governance_pendingsanction_change", sanction.pk), "Review"))
        rows.append(row)
    return {"headers": headers + (["Director"] if may_act else []), "rows": rows}


def _task_table(tasks, may_act: bool) -> dict:
    headers = ["Task", "Capability", "Priority", "Attempts", "Waiting since"]
    rows = []
    for task in tasks:
        row = [task.task_id, task.capability, task.priority, task.attempts, _when(task.updated_at)]
        if may_act:
            row.append(_link(_url("workforce_task_change", task.pk), "Assign"))
        rows.append(row)
    return {"headers": headers + (["Director"] if may_act else []), "rows": rows}


def _pct(value) -> str:
    return "-" if value is None else f"{value:g}%"


def _oversight_card(report: dict) -> dict:
    """The detectors' table (a detector's own line each) and the notes of the latest automatic switches."""
    rows = []
    for d in report["detectors"]:
        mode = _label(d["mode"], {"enforce": "danger", "observe": "info"}.get(d["mode"], ""))
        rate = _pct(d["overturn_pct"])
        if d["overturn_pct"] is not None and d["overturn_pct"] > report["observe_pct"]:
            rate = _label(rate, "warning")
        rows.append(
            [
                d["detector"],
                mode,
                format_html("{} ({} enforced)", d["findings"], d["enforced"]),
                d["sanctions"],
                d["overturns"],
                rate,
            ]
        )
    notes = [
        format_html(
            "{}: <strong>{}</strong> switched to observe by {}: {} of {} sanctions overturned ({}) in {} days, "
            "above {}%; settings {}.",
            _when(a["at"]),
            a["detector"],
            a["actor"],
            a["overturns"],
            a["sanctions"],
            _pct(a["overturn_pct"]),
            a["window_days"],
            a["observe_pct"],
            _link(_url("governance_governancesettings_change", a["settings_version"]), f"v{a['settings_version']}"),
        )
        for a in report["auto_observed"]
    ]
    return {
        "detectors": {
            "headers": ["Detector", "Mode", "Findings", "Sanctions", "Overturns", "Overturn rate"],
            "rows": rows,
        },
        "detectors_window_days": report["window_days"],
        "detectors_observe_pct": report["observe_pct"],
        "detectors_min_sanctions": report["min_sanctions"],
        "auto_observed": notes,
    }


def _leaderboard_table(rows: list[dict]) -> dict:
    table = []
    for rank, row in enumerate(rows, start=1):
        worker = row["worker"]
        flags = []
        if row["provisional"]:
            flags.append(_label("provisional", "info"))
        if row["probation"]:
            flags.append(_label("probation", "warning"))
        table.append(
            [
                rank,
                _link(_url("workforce_worker_change", worker.pk), worker.model_id),
                worker.get_tier_display(),
                worker.reputation,
                format_html("{} runs", worker.scored_runs),
                format_html(" ".join(["{}"] * len(flags)), *flags) if flags else "-",
            ]
        )
    return {"headers": ["#", "Worker", "Tier", "Reputation", "Confidence", "Standing"], "rows": table}
