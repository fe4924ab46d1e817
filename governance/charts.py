"""Chart data for the Director's control room: pure functions from numbers to the Chart.js data that unfold's
chart components draw (`unfold/components/chart/line.html`, `bar.html`, fed JSON). No Django, no database.

Colours name unfold's CSS variables (its JavaScript resolves `var(...)`), so the charts follow its light and
dark themes.
"""

import json
from collections.abc import Mapping, Sequence

PRIMARY = "var(--color-primary-600)"
GUIDE_COLOURS = {"promotion": "#16a34a", "warning": "#ea580c", "termination": "#dc2626"}
BAR_THICKNESS = 32


def as_json(data: Mapping) -> str:
    """What a chart component's `data` takes: the template escapes it into the canvas' attribute."""
    return json.dumps(data, separators=(",", ":"))


def reputation_buckets(counts_by_reputation: Mapping[int, int], *, size: int = 10) -> list[tuple[str, int]]:
    """Workers per `size`-point reputation bucket over 0-100: 0-9, 10-19, ... The top bucket takes 100 too."""
    last = (100 // size) - 1
    counts = [0] * (last + 1)
    for reputation, n in counts_by_reputation.items():
        counts[min(max(reputation, 0) // size, last)] += n
    labels = [f"{i * size}–{i * size + size - 1}" for i in range(last)] + [f"{last * size}–100"]
    return list(zip(labels, counts, strict=True))


def bar_chart(bars: Sequence[tuple[str, int]], *, label: str) -> dict:
    """One bar per (label, count)."""
    return {
        "labels": [name for name, _ in bars],
        "datasets": [
            {
                "label": label,
                "data": [count for _, count in bars],
                "backgroundColor": PRIMARY,
                "maxBarThickness": BAR_THICKNESS,
            }
        ],
    }


def reputation_line(values: Sequence[int], *, labels: Sequence[str], guides: Sequence[tuple[str, int]] = ()) -> dict:
    """The reputation through `values` (oldest first), and each guide (a threshold) as a dashed level line
    across the same points, so a Director sees how near the worker is to promotion or termination."""
    datasets = [
        {
            "label": "Reputation",
            "data": list(values),
            "borderColor": PRIMARY,
            "backgroundColor": PRIMARY,
            "pointStyle": "circle",
            "pointRadius": 3,
            "tension": 0.2,
        }
    ]
    for name, level in guides:
        datasets.append(
            {
                "label": f"{name} {level}",
                "data": [level] * len(values),
                "borderColor": GUIDE_COLOURS.get(name, "#9ca3af"),
                "borderDash": [4, 3],
                "borderWidth": 1,
                "pointStyle": False,
            }
        )
    return {"labels": list(labels), "datasets": datasets}
