"""What changed between two versions of the Director's settings: a pure comparison of plain values."""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    field: str  # "promotion_threshold", or "weights.accuracy" inside a mapping
    old: object
    new: object


def _flat(values: Mapping) -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in values.items():
        if isinstance(value, Mapping):
            for key, inner in value.items():
                flat[f"{name}.{key}"] = inner
        else:
            flat[name] = value
    return flat


def changes_between(old: Mapping | None, new: Mapping) -> list[Change]:
    """Each field (a mapping's keys one by one) whose value differs, in `new`'s order; a key only one side has
    shows None on the other. With no previous version every field is new."""
    before, after = _flat(old or {}), _flat(new)
    names = list(after) + [name for name in before if name not in after]
    return [
        Change(name, before.get(name), after.get(name))
        for name in names
        if str(before.get(name)) != str(after.get(name))  # "0.3" and Decimal("0.3") are one weight
    ]
