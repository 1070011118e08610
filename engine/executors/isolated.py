"""One photo in a process of its own: how a suspect is proven guilty, or cleared.

A photo that was in flight when the daemon died may have killed it (a decoder crash, the
kernel's OOM killer) or may have been there by chance (an operator's SIGKILL, a power cut).
Counting the death against it would quarantine innocent photos; not counting it would let a
poison pill crash the daemon forever. So a suspect runs alone, in a child process: if the child
dies, the photo did it (an attempt counts, ``max_attempts`` of them quarantine it); if the
daemon dies meanwhile, the child goes with it and nothing is counted.

Why a fresh process per suspect instead of a pool: suspects are rare (only after an unclean
stop), and a child that has crashed once is worth nothing; the model load (a second or two)
is the price. It is an executor like the local and Ray ones (the same interface: ``run_batch``
and ``map``), one photo per process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

from focuspress.engine.executors.base import WorkerLost, read_each, with_read_time
from focuspress.engine.options import CompressOptions
from focuspress.engine.pipeline import Outcome, Work

_context = multiprocessing.get_context("spawn")  # TensorFlow and threads do not survive fork


def _child(saliency: str, work: Work, pipe: Connection) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from focuspress.engine.api import Engine

    outcome = Engine(saliency=saliency).run([work])[0]
    pipe.send(outcome)
    pipe.close()


def _resolve(target: str):
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


class IsolatedExecutor:
    """Runs each photo in a child process of its own; :class:`WorkerLost` when the child died under it.
    The decoded photo never comes back (``keep_image`` is dropped: it would cross a pipe)."""

    slots = 1
    device = "cpu"

    def __init__(self, saliency: str, timeout_seconds: float = 600.0, *, target: str | None = None) -> None:
        self.saliency = saliency
        self.timeout_seconds = timeout_seconds
        #: "module:function" run in the child instead of the pipeline (tests: a photo that kills it)
        self.target = target

    def warm_up(self) -> None:
        """Nothing to load here: each child loads its own model."""

    def run_batch(self, items: list[Work], slot: int = 0) -> list[Outcome]:
        return [self.run(item) for item in items]

    def map(
        self, paths: Iterable[Path], options: CompressOptions, *, keep_image: bool = False
    ) -> Iterator[tuple[Path, Outcome]]:
        for path, work, read_ms in read_each(paths, options):
            yield path, work if isinstance(work, Outcome) else with_read_time(self.run(work), read_ms)

    def close(self) -> None:
        pass

    def run(self, work: Work) -> Outcome:
        """One photo, alone, in a fresh child process."""
        work = replace(work, keep_image=False)
        receive, send = _context.Pipe(duplex=False)
        target = _child if self.target is None else _resolve(self.target)
        child = _context.Process(target=target, args=(self.saliency, work, send), name="focuspress-isolated")
        child.start()
        send.close()
        try:
            if not receive.poll(self.timeout_seconds):
                child.kill()
                raise WorkerLost(
                    f"{work.name}: its isolated worker ran over {self.timeout_seconds:.0f} s and was killed"
                )
            try:
                outcome: Outcome = receive.recv()
            except EOFError:
                child.join(10)
                raise WorkerLost(
                    f"{work.name}: its isolated worker died (exit {child.exitcode}) while compressing it alone"
                ) from None
            return outcome
        finally:
            receive.close()
            child.join(10)
            if child.is_alive():
                child.kill()
