"""Micro-batching: requests that arrive together share one model call.

Requests that arrive while the model is busy queue up and form the next batch (at most
``max_batch``), so under load batches grow by themselves and no request waits for company
it does not need. ``max_wait_ms`` (default 0) makes the first request of a batch also wait
that long for more. It is off unless asked for: measured, it added latency at one request at
a time and no throughput under load (docs/results.md, "Serving speed").

The model runs on one worker thread, never on the event loop, so the server keeps accepting
and answering (health checks, bad input) while it computes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class MicroBatcher(Generic[Item, Result]):
    def __init__(
        self,
        process: Callable[[list[Item]], Sequence[Result]],
        *,
        max_batch: int = 64,
        max_wait_ms: float = 0.0,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._process = process
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._on_batch = on_batch
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="polynlu-model")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="polynlu-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=True)

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        """Queue the items (they may be split across batches) and wait for their results."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not awaited")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        for item, future in zip(items, futures, strict=True):
            self._queue.put_nowait((item, future))
        return list(await asyncio.gather(*futures))

    async def _next_batch(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        # Sleep-then-drain rather than wait_for(queue.get()): a timed-out get can lose the
        # item it was about to return, and a request must never be lost.
        assert self._queue is not None
        batch = [await self._queue.get()]
        if self.max_wait > 0 and self._queue.qsize() < self.max_batch - 1:
            await asyncio.sleep(self.max_wait)
        while len(batch) < self.max_batch and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [entry for entry in await self._next_batch() if not entry[1].done()]
            if not batch:  # every caller gave up (disconnected) while queued
                continue
            started = loop.time()
            try:
                results = await loop.run_in_executor(
                    self._executor, self._process, [item for item, _ in batch]
                )
            except Exception as error:  # the callers get the error, the worker lives on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            if self._on_batch:
                self._on_batch(len(batch), loop.time() - started)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
