"""Progress bars that show in logs too.

On a terminal, Rich draws a live bar. Anywhere else (``nohup``, CI, ``| tee``) it draws
nothing until the task ends, so a 20-minute epoch looks hung. ``LoggedProgress`` is a Rich
``Progress`` that, when its console is not a terminal, prints the task's row as plain text
every ``every`` seconds and once more when the task finishes.
"""

from __future__ import annotations

import time
from typing import Any

from rich.progress import Progress, ProgressColumn, Task, TaskID


class LoggedProgress(Progress):
    def __init__(self, *columns: str | ProgressColumn, every: float = 30.0, **options: Any) -> None:
        super().__init__(*columns, **options)
        self.every = every
        self._last_logged: dict[TaskID, float] = {}

    def update(self, task_id: TaskID, **changes: Any) -> None:
        super().update(task_id, **changes)
        self._log(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)

    def _log(self, task_id: TaskID) -> None:
        if self.disable or self.console.is_terminal:  # the live bar shows it already
            return
        task = self._task(task_id)
        now = time.monotonic()
        last = self._last_logged.setdefault(task_id, now)
        if last == float("inf") or not (task.finished or now - last >= self.every):
            return
        self._last_logged[task_id] = float("inf") if task.finished else now
        self.console.print(self.make_tasks_table([task]))

    def _task(self, task_id: TaskID) -> Task:
        return next(task for task in self.tasks if task.id == task_id)
