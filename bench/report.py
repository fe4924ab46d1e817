"""The one table: each figure with its baselines from the same run, the ratios, the issue's target and PASS/MISS."""

from dataclasses import dataclass, field


@dataclass
class Row:
    """One figure. `ours`, `seeds` and `raw` are numbers (or (p50, p99) pairs, compared on p99); None is "—"."""

    measure: str
    unit: str
    ours: object = None
    seeds: object = None
    raw: object = None
    target: str = ""
    met: bool | None = None  # None: no target
    below_size: bool = False  # measured below the size the target is set for
    ratio: bool = True  # show ours ÷ baseline

    def cells(self) -> list[str]:
        return [
            self.measure,
            fmt(self.ours, self.unit),
            fmt(self.seeds, self.unit),
            fmt(self.raw, self.unit),
            ratio(self.ours, self.seeds) if self.ratio else "",
            ratio(self.ours, self.raw) if self.ratio else "",
            self.target,
            self.verdict(),
        ]

    def verdict(self) -> str:
        if self.met is None:
            return ""
        return ("PASS" if self.met else "MISS") + ("*" if self.below_size else "")


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    HEADER = ["measure", "ours", "seeds' design", "raw psycopg", "ours ÷ seeds", "ours ÷ raw", "target", "met"]

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def section(self, title: str) -> None:
        self.rows.append(Row(measure=f"**{title}**", unit="", ratio=False))

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.HEADER) + " |", "|" + "---|" * len(self.HEADER)]
        for row in self.rows:
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row.cells()) + " |")
        return "\n".join(lines)

    def text(self) -> str:
        """The same table for a terminal: aligned columns, sections as lines of their own."""
        body = [row.cells() for row in self.rows]
        if not body:
            return "(no figures)"
        widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(self.HEADER)]
        widths[0] = min(widths[0], 84)

        def line(cells):
            return "  ".join(
                c[: widths[i]].ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
            )

        out = [line(self.HEADER), "  ".join("-" * w for w in widths)]
        for row, cells in zip(self.rows, body, strict=True):
            if row.measure.startswith("**"):
                out.append(row.measure.strip("*"))
            else:
                out.append(line(cells))
        return "\n".join(out)

    def verdicts(self) -> tuple[int, int]:
        judged = [r for r in self.rows if r.met is not None]
        return sum(1 for r in judged if r.met), sum(1 for r in judged if not r.met)


def _num(value: float) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 100:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt(value, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return " / ".join(_num(v) for v in value) + (f" {unit}" if unit else "")
    return _num(value) + (f" {unit}" if unit else "")


def _scalar(value):
    if isinstance(value, tuple):
        value = value[-1]
    return value if isinstance(value, int | float) else None


def ratio(ours, base) -> str:
    a, b = _scalar(ours), _scalar(base)
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}×" if a / b < 10 else f"{a / b:.0f}×"


def quotient(a, b):
    a, b = _scalar(a), _scalar(b)
    return None if a is None or b is None or b == 0 else a / b
