"""The progress bar on stderr (rich), or nothing when it is off (``--quiet``, not a TTY)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aupguard.scan.runner import Progress


def _silent(done: int, total: int | None) -> None:
    return None


@contextlib.contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Progress]:
    if not enabled:
        yield _silent
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
