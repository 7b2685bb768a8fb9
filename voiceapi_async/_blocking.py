"""Blocking file work off the event loop, for half the CPU of ``loop.run_in_executor``.

An upload reads a small file and a download writes, fsyncs and renames one, each in one
hop to a worker thread (two per file in benchmark B6).  ``run_in_executor`` spends about
40 us of CPU per call on its machinery: a ``concurrent.futures.Future`` (a condition and
its locks), a work item, the pool's idle semaphore, and an asyncio future chained to the
first by callbacks both ways.  Here a call is one asyncio future and one queue entry, and
its outcome goes back through its loop's inbox: one ``call_soon_threadsafe`` (a write to
the loop's self-pipe) wakes the loop for every call that finished before it ran.

A few threads (at most ``MAX_THREADS``, so several fsyncs proceed at once), shared by
every event loop of the process, started when a call finds none idle and ended after
``IDLE_SECONDS`` without work.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any, TypeVar

__all__ = ["run_blocking"]

T = TypeVar("T")
#: As many as the default executor would have (``min(32, cores + 4)``), and at least 8:
#: fsyncs wait on the disk, and several overlap (B6 downloads 16 at a time).
MAX_THREADS = max(8, min(32, (os.cpu_count() or 1) + 4))
IDLE_SECONDS = 30.0

_Outcome = tuple["asyncio.Future[Any]", "BaseException | None", Any]


class _Inbox:
    """One event loop's finished calls: one wake-up of the loop for all that finish before it looks.

    ``call_soon_threadsafe`` writes the loop's self-pipe each time; when several worker
    threads finish at about the same moment (B6: 16 transfers at once), the first one
    wakes the loop and the others only append.  Safe under the GIL: a worker that sees
    ``waking`` set appended before the pending ``_drain`` clears it, so that drain takes it.
    """

    __slots__ = ("__weakref__", "done", "waking")

    def __init__(self) -> None:
        self.done: deque[_Outcome] = deque()
        self.waking = False

    def post(self, future: asyncio.Future[Any], error: BaseException | None, result: Any) -> None:
        """In a worker thread: hand an outcome to the future's loop."""
        self.done.append((future, error, result))
        if not self.waking:
            self.waking = True
            try:
                future.get_loop().call_soon_threadsafe(self._drain)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                self.done.clear()

    def _drain(self) -> None:
        self.waking = False
        done = self.done
        while done:
            future, error, result = done.popleft()
            if future.cancelled():  # the caller stopped waiting; the work is done all the same
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)


_Call = tuple[_Inbox, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class BlockingPool:
    """Threads taking calls from one queue; each call's result goes back to its own loop."""

    def __init__(
        self, max_threads: int = MAX_THREADS, idle_seconds: float = IDLE_SECONDS, name: str = "voiceapi-blocking"
    ) -> None:
        self._queue: SimpleQueue[_Call] = SimpleQueue()
        self._lock = threading.Lock()
        self._max = max_threads
        self._idle_seconds = idle_seconds
        self._name = name
        self._threads = 0
        #: Threads waiting for a call, less the calls queued (each call claims one).  Below
        #: zero while calls wait for a busy thread: each thread done with a call adds one
        #: back before taking the next, so only a thread with nothing queued may end.
        self._idle = 0
        self._inboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Inbox] = weakref.WeakKeyDictionary()

    @property
    def threads(self) -> int:
        return self._threads

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run ``fn(*args)`` in a worker thread; the returned future (of the running loop) gets its outcome."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        inbox = self._inboxes.get(loop)
        if inbox is None:
            inbox = self._inboxes[loop] = _Inbox()
        start = False
        with self._lock:
            if self._idle <= 0 and self._threads < self._max:
                self._threads += 1
                start = True
            else:  # an idle thread takes it, or it waits for a busy one: claimed either way
                self._idle -= 1
        self._queue.put((inbox, future, fn, args))
        if start:
            threading.Thread(target=self._work, name=self._name, daemon=True).start()
        return future

    def _work(self) -> None:
        queue, lock = self._queue, self._lock
        while True:
            try:
                call = queue.get(timeout=self._idle_seconds)
            except Empty:
                with lock:
                    if self._idle > 0:  # more threads waiting than calls queued: this one may go
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # a call has claimed this thread and is on its way
            inbox, future, fn, args = call
            del call
            error: BaseException | None = None
            result: Any = None
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the awaiting task, as run_in_executor does
                error = exc
            inbox.post(future, error, result)
            del inbox, future, fn, args, error, result
            with lock:
                self._idle += 1


_pool = BlockingPool()


def _after_fork() -> None:  # the threads do not exist in a forked child: start afresh
    global _pool
    _pool = BlockingPool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def run_blocking(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Await ``run_blocking(fn, *args)``: ``fn(*args)`` in a worker thread, never on the event loop."""
    return _pool.submit(fn, *args)
