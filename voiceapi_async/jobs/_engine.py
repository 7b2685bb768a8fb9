"""The pipeline both job kinds share: create originals -> order -> poll in bulk -> retry -> download.

Everything is driven from the journal, read in chunks, with bounded queues between
stages and at most ``max_active`` items between "upload started" and "done", so memory
is O(concurrency), not O(items).

Every non-idempotent request (upload, TTS, order, retry) is preceded by a durable intent
in the journal and runs as a *critical section*: cancelling the job does not interrupt
it between the request and the journal write (it finishes or times out).  When its fate
is unknown (a connection broken after sending, a 5xx), the server is asked before
anything is sent again (see ``_reconcile``).

This module starts and stops the stages; each lives in its own module (``_submit``,
``_watch``, ``_retry``, ``_fetch``) and shares only an ``EngineContext`` (``_context``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from .._client import VoiceClient
from ._context import EngineContext, EngineOptions, JobKind, Shield
from ._events import JobEvent
from ._fetch import Downloader
from ._outcomes import StopJob
from ._progress import StageTracker
from ._retry import Retrier
from ._store import JobStore
from ._submit import Submitter
from ._watch import Poller

__all__ = ["Engine", "EngineOptions", "JobKind", "StopJob"]


class Engine:
    """Runs every stage's workers until each item is done or failed, then waits for critical sections."""

    def __init__(
        self,
        client: VoiceClient,
        journal: JobStore,
        kind: JobKind,
        options: EngineOptions,
        project_id: str,
        output_dir: Path,
        tracker: StageTracker,
        emit: Callable[[JobEvent], Awaitable[None]] | None,
    ) -> None:
        self.ctx = EngineContext(client, journal, kind, options, tracker, emit)
        self.submitter = Submitter(self.ctx)
        self.retrier = Retrier(self.ctx)
        self.downloader = Downloader(self.ctx, output_dir)
        self.poller = Poller(self.ctx, project_id, self.retrier, self.downloader.queue)

    @property
    def conversion_retries(self) -> int:
        """Retries of errored conversions the server accepted (for the summary)."""
        return self.retrier.conversion_retries

    @property
    def parked(self) -> int:
        """Items left pending for the next run after transient failures (or a 402)."""
        return len(self.ctx.parked_submit) + len(self.ctx.parked_converting)

    async def run(self) -> None:
        """Work until every item is done, failed or left for the next run.

        Raises ``StopJob`` on 401 at once, and on 402 once what is paid for is downloaded.
        The stages (and delayed re-attempts, ``EngineContext.later``) run in one anyio
        task group: the first to fail cancels the others and its error is raised here;
        cancelling ``run`` cancels them all.  A stage inside a critical section
        (``EngineContext.critical``) is shielded: the task group waits for it to finish
        and journal its outcome.  The stages that run critical sections live in a
        ``Shield`` each, which the task group's cancellation does not reach: ``stop``
        stops them too.
        """
        ctx = self.ctx
        await self._restore()
        if ctx.tracker.remaining == 0:
            return
        #: Stages that run critical sections live in a ``Shield`` (stopped by ``stop``, never cut short).
        shielded: list[Callable[[], Awaitable[None]]] = [
            self.retrier.loop,
            *[self.submitter.worker] * max(1, ctx.opts.upload_concurrency),
        ]
        stages: list[Callable[[], Awaitable[None]]] = [
            self.submitter.feed,
            self.downloader.feed,
            self.poller.loop,
            *[self.downloader.worker] * max(1, ctx.opts.download_concurrency),
        ]
        failed: list[Exception] = []
        shields: list[Shield] = []

        def stop(scope: anyio.CancelScope) -> None:
            scope.cancel()
            for shield in shields:
                shield.stop()

        async def run_stage(stage: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
            try:
                await stage()
            except Exception as exc:  # raised below, outside the task group (no exception group)
                failed.append(exc)
                stop(scope)
            except BaseException:
                # a cancellation (or worse): shielded stages stop too, or the group would wait forever
                stop(scope)
                raise

        try:
            async with anyio.create_task_group() as tg:

                def start(work: Callable[[], Awaitable[None]]) -> None:
                    tg.start_soon(run_stage, work, tg.cancel_scope)

                ctx.start_soon = start
                for stage in shielded:
                    shields.append(Shield())
                    start(functools.partial(shields[-1].run, stage))
                for stage in stages:
                    start(stage)
                try:
                    await ctx.all_final.wait()
                finally:  # the end, or the caller cancelled us
                    stop(tg.cancel_scope)
        finally:
            ctx.start_soon = None
        if failed:
            raise failed[0]
        if isinstance(ctx.halted, StopJob):
            raise ctx.halted

    async def _restore(self) -> None:
        """Bring a journal left by an earlier run to a state the workers can pick up."""
        ctx = self.ctx
        for seq in await ctx.journal.unsettled_items():
            await ctx.journal.settle_item(seq)
        await self.downloader.reopen_missing()
        ctx.tracker.reset(await ctx.journal.counts())
        ctx.holding.update(await ctx.journal.converting_items())
        if ctx.tracker.remaining == 0:
            ctx.all_final.set()
        ctx.tracker.report()
