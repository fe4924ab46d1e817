"""A plain-text progress bar for long commands (no extra dependency)."""

import sys


class ProgressBar:
    def __init__(self, stream=None, width: int = 30) -> None:
        self.stream = stream or sys.stdout
        self.width = width

    def __call__(self, label: str, done: int, total: int) -> None:
        filled = self.width if total == 0 else int(self.width * min(done, total) / total)
        bar = "#" * filled + "-" * (self.width - filled)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{label:<34} [{bar}] {done}/{total}{end}")
        self.stream.flush()
