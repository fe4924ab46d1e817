"""Inline SVG charts for the Director's control room: pure functions from numbers to markup.

Drawn on the server so the admin needs no JavaScript library. Colours come from the admin's own CSS variables,
so the charts follow its light and dark themes. Every label is escaped; the admin marks the result safe.
"""

from collections.abc import Mapping, Sequence
from html import escape

# Admin theme variables, with their light-theme values as fallbacks.
LINE = "var(--secondary, #417690)"
BAR = "var(--primary, #79aec8)"
TEXT = "var(--body-quiet-color, #666)"
GRID = "var(--hairline-color, #e8e8e8)"
GUIDE = "var(--error-fg, #ba2121)"
FONT = "font-size:11px;font-family:var(--font-family-primary, sans-serif)"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    label = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="aura-chart" role="img" aria-label="{label}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" style="max-width:100%;height:auto">'
        f"<title>{label}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "middle") -> str:
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" style="fill:{TEXT};{FONT}">{escape(text)}</text>'


def line_chart(
    values: Sequence[int],
    *,
    labels: Sequence[str] = (),
    title: str = "",
    lo: int = 0,
    hi: int = 100,
    guides: Sequence[tuple[str, int]] = (),
    width: int = 640,
    height: int = 220,
) -> str:
    """A line through `values` in order (oldest first), one marked point each, on a fixed lo-hi scale.
    `guides` are labelled dashed lines across the chart, e.g. the promotion and termination thresholds."""
    left, right, top, bottom = 36, 12, 12, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    span = (hi - lo) or 1

    def y_of(value: float) -> float:
        clamped = min(max(value, lo), hi)
        return top + plot_h - (clamped - lo) / span * plot_h

    body = []
    for tick in range(5):
        value = lo + span * tick / 4
        y = y_of(value)
        body.append(f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" style="stroke:{GRID}"/>')
        body.append(_text(left - 6, y + 4, _num(value), anchor="end"))
    for name, value in guides:
        y = y_of(value)
        body.append(
            f'<line class="guide" x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
            f'style="stroke:{GUIDE};stroke-dasharray:4 3;opacity:.6"/>'
        )
        body.append(_text(left + 4, y - 3, f"{name} {value}", anchor="start"))  # the newest point is at the right
    if not values:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, "No scores yet"))
        return _svg(width, height, title, body)
    step = plot_w / (len(values) - 1) if len(values) > 1 else 0
    points = [(left + (i * step if len(values) > 1 else plot_w / 2), y_of(v)) for i, v in enumerate(values)]
    if len(points) > 1:
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        body.append(f'<polyline points="{path}" style="fill:none;stroke:{LINE};stroke-width:2"/>')
    for index, ((x, y), value) in enumerate(zip(points, values, strict=True)):
        tip = f"{labels[index]}: {value}" if index < len(labels) else str(value)
        body.append(
            f'<circle class="point" cx="{_num(x)}" cy="{_num(y)}" r="3" style="fill:{LINE}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    if labels:
        body.append(_text(left, height - 6, labels[0], anchor="start"))
        if len(labels) > 1:
            body.append(_text(width - right, height - 6, labels[-1], anchor="end"))
    return _svg(width, height, title, body)


def bar_chart(bars: Sequence[tuple[str, int]], *, title: str = "", width: int = 640, height: int = 220) -> str:
    """One bar per (label, count), labelled below and counted above; the tallest bar fills the height."""
    left, right, top, bottom = 12, 12, 18, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    tallest = max((count for _, count in bars), default=0) or 1
    slot = plot_w / (len(bars) or 1)
    gap = min(8.0, slot * 0.2)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" style="stroke:{GRID}"/>']
    for index, (label, count) in enumerate(bars):
        bar_h = count / tallest * plot_h
        x = left + index * slot + gap / 2
        y = top + plot_h - bar_h
        body.append(
            f'<rect class="bar" x="{_num(x)}" y="{_num(y)}" width="{_num(slot - gap)}" height="{_num(bar_h)}" '
            f'style="fill:{BAR}"><title>{escape(label)}: {count}</title></rect>'
        )
        body.append(_text(x + (slot - gap) / 2, y - 4, str(count)))
        body.append(_text(x + (slot - gap) / 2, height - 6, label))
    return _svg(width, height, title, body)


def reputation_buckets(counts_by_reputation: Mapping[int, int], *, size: int = 10) -> list[tuple[str, int]]:
    """Workers per `size`-point reputation bucket over 0-100: 0-9, 10-19, ... The top bucket takes 100 too."""
    last = (100 // size) - 1
    counts = [0] * (last + 1)
    for reputation, n in counts_by_reputation.items():
        counts[min(max(reputation, 0) // size, last)] += n
    labels = [f"{i * size}–{i * size + size - 1}" for i in range(last)] + [f"{last * size}–100"]
    return list(zip(labels, counts, strict=True))
