"""Worker processes on this machine, each with its own model: the daemon's default on a CPU server.

Why processes and not the local executor's threads: the contract's search is many small steps
(tile mosaics, quantization, SSIMULACRA2 passes over 256-pixel tiles), and between the C calls
that do the work the Python interpreter holds its GIL, so two threads in one process share
one core's worth of that glue. Measured on these 2 cores (``bench daemon``'s photos, the
pipeline alone): 1280x720 camera crops 4.45 photos/s on two threads of one process, 5.5 on
two processes; 8-12 MP camera photos 1.18 and 1.81. Each process holds one model (LiteRT on
CPU: tens of MB) and one photo at a time, so memory grows with ``workers``, not with the queue.

Each worker is started once (spawn: TensorFlow and threads do not survive fork), loads its
engine, says it is ready, then runs batches sent down its pipe until it is told to stop or its
parent goes away. A batch goes to whichever worker is idle. A worker that dies under a batch (a
decoder crash, the OOM killer) is replaced, and the batch's photos get :class:`WorkerLost`, as on
Ray: the daemon retries them with the attempt counted. Workers ignore SIGINT and SIGTERM (the
daemon drains and then closes them; systemd's stop reaches the whole control group anyway).

On a GPU server the local executor is the better choice: one model on the GPU, photos batched
into one call, instead of a model per process.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

from focuspress.engine.errors import Reason
from focuspress.engine.executors.base import IN_FLIGHT_PER_WORKER, WorkerLost, read_each, with_read_time
from focuspress.engine.options import CompressOptions
from focuspress.engine.pipeline import Outcome, Work, refused

_context = multiprocessing.get_context("spawn")
#: how long a new worker may take to import the engine and load its model
START_TIMEOUT_SECONDS = 180.0


def _worker(saliency: str, threads: int, tasks: Connection, results: Connection) -> None:
    """A worker process: load the engine, say ready (with its device), run batches until told to stop.
    ``threads``: its share of the cores, for the map (LiteRT) and OpenCV's own thread pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("FOCUSPRESS_MAP_THREADS", str(threads))
    import cv2

    from focuspress.engine.allocator import keep_freed_memory
    from focuspress.engine.compositor.block import dct

    cv2.setNumThreads(threads)
    dct.FFT_WORKERS = threads
    keep_freed_memory()
    from focuspress.engine.api import Engine

    engine = Engine(saliency=saliency)
    engine.warm_up()
    results.send(("ready", engine.device))
    while True:
        try:
            batch = tasks.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if batch is None:
            return
        results.send(engine.run(batch))


class _Worker:
    """One worker process and its two pipes (work down, outcomes up)."""

    def __init__(self, saliency: str, threads: int) -> None:
        work_out, work_in = _context.Pipe(duplex=False)
        results_out, results_in = _context.Pipe(duplex=False)
        self.process = _context.Process(
            target=_worker, args=(saliency, threads, work_out, results_in), name="focuspress-worker", daemon=True
        )
        self.process.start()
        work_out.close()
        results_in.close()
        self.tasks, self.results = work_in, results_out
        if not self.results.poll(START_TIMEOUT_SECONDS):
            self.kill()
            raise RuntimeError(f"a worker process did not start within {START_TIMEOUT_SECONDS:.0f} s")
        try:
            _, self.device = self.results.recv()
        except EOFError:
            self.kill()
            exit_code = self.process.exitcode
            raise RuntimeError(f"a worker process died while loading its model (exit {exit_code})") from None

    def run(self, items: list[Work]) -> list[Outcome]:
        try:
            self.tasks.send(items)
            return self.results.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.process.join(5)
            raise WorkerLost(
                f"its worker process died (exit {self.process.exitcode}) while compressing "
                + ", ".join(item.name for item in items)
            ) from None

    def stop(self, timeout: float = 10.0) -> None:
        try:
            self.tasks.send(None)
        except OSError:
            pass
        self.process.join(timeout)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        for connection in (getattr(self, "tasks", None), getattr(self, "results", None)):
            if connection is not None:
                connection.close()


class ProcessesExecutor:
    """``workers`` worker processes, each with its own model (see the module's docstring)."""

    def __init__(self, saliency: str, workers: int | None = None) -> None:
        self.saliency = saliency
        self.slots = max(1, workers or os.cpu_count() or 1)
        #: each worker's share of the cores (at least one)
        self.threads = max(1, (os.cpu_count() or 1) // self.slots)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._device = "cpu"

    @property
    def device(self) -> str:
        return self._device

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (tests and operators: ``ps``)."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]

    def warm_up(self) -> None:
        """Start the workers (in parallel: each loads its model) and wait until each is ready."""
        if self._all:
            return
        with ThreadPoolExecutor(max_workers=self.slots) as starting:
            workers = list(starting.map(lambda _: _Worker(self.saliency, self.threads), range(self.slots)))
        self._device = workers[0].device
        with self._lock:
            self._all = workers
        for worker in workers:
            self._idle.put(worker)

    def run_batch(self, items: list[Work], slot: int = 0) -> list[Outcome]:
        """The batch on the first idle worker (``slot`` is not needed: any idle worker will do)."""
        self.warm_up()
        items = [replace(item, keep_image=False) for item in items]  # pixels do not cross the pipe
        worker = self._idle.get()
        try:
            return worker.run(items)
        except WorkerLost:
            worker = self._replace(worker)
            raise
        finally:
            self._idle.put(worker)

    def _replace(self, dead: _Worker) -> _Worker:
        dead.kill()
        fresh = _Worker(self.saliency, self.threads)
        with self._lock:
            self._all = [fresh if w is dead else w for w in self._all]
        return fresh

    def map(
        self, paths: Iterable[Path], options: CompressOptions, *, keep_image: bool = False
    ) -> Iterator[tuple[Path, Outcome]]:
        """Photos read here, run on every worker at once; outcomes as they complete (the decoded photo
        never comes back: the caller loads it again where it needs it)."""
        self.warm_up()
        window = IN_FLIGHT_PER_WORKER * self.slots
        with ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="focuspress-feed") as feeders:
            pending: dict[Future[Outcome], Path] = {}
            for path, work, read_ms in read_each(paths, options):
                if isinstance(work, Outcome):
                    yield path, work
                    continue
                pending[feeders.submit(self._one, work, read_ms)] = path
                while len(pending) >= window:
                    yield from self._completed(pending)
            while pending:
                yield from self._completed(pending)

    def _one(self, work: Work, read_ms: float) -> Outcome:
        """One photo of :meth:`map`; a worker dying under it is retried once on its replacement (a
        crash is not the photo's fault unless it happens again), then refused, as on Ray."""
        try:
            return with_read_time(self.run_batch([work])[0], read_ms)
        except WorkerLost:
            try:
                return with_read_time(self.run_batch([work])[0], read_ms)
            except WorkerLost as exc:
                return refused(work.name, f"{work.name}: {exc}", Reason.WORKER_LOST)

    @staticmethod
    def _completed(pending: dict[Future[Outcome], Path]) -> Iterator[tuple[Path, Outcome]]:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield pending.pop(future), future.result()

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop()
