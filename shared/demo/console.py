"""Terminal output of the operator commands: progress bars and summary tables (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

# progress stages: Bahasa Indonesia first, English in brackets
LABELS = {
    "households": "Mengisi rumah tangga (Seeding households)",
    "publish": "Menerbitkan peristiwa (Publishing events)",
    "aggregate": "Menyusun tampilan (Aggregating views)",
    "replay": "Memutar ulang peristiwa (Replaying events)",
    "rows": "Baris (rows)",
}
WIDTH = max(len(label) for label in LABELS.values())


def console() -> Console:
    """A console on the current stdout (so tests capturing it see the output)."""
    return Console(highlight=False, soft_wrap=False)


class Bars:
    """A progress callback ``(stage, done, total)`` shown as one bar per stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(LABELS.get(stage, stage), total=total)
        self.progress.update(task, completed=done, total=total)


@contextmanager
def bars(out: Console) -> Iterator[Bars]:
    progress = Progress(
        TextColumn(f"{{task.description:<{WIDTH}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=out,
        transient=not out.is_terminal,
    )
    with progress:
        yield Bars(progress)


def summary(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", min_width=60)
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, _fmt(value))
    return table


def grid(title: str, columns: list[str], rows: list[tuple[Any, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_fmt(v) for v in row))
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
