"""Execution on a Ray cluster: actors that each hold a loaded model, fed photo bytes.

Why actors and not tasks: loading the saliency model costs seconds, so each actor loads it once
and then serves many photos. Actors restart when their process dies (``max_restarts=-1``); the
photo that was running is reported as :class:`WorkerLost` and the caller decides (the daemon
puts it back in its journal). Every node must have focuspress installed (same version).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from focuspress.engine.errors import Reason
from focuspress.engine.executors.base import IN_FLIGHT_PER_WORKER, WorkerLost, read_each, with_read_time
from focuspress.engine.options import CompressOptions
from focuspress.engine.pipeline import Outcome, Work, refused

#: How long a restarting worker (process start + model load) may take before it counts as lost.
RESTART_TIMEOUT_SECONDS = 180.0


class RayOptions(BaseModel):
    """Where the Ray executor sends the work, and how many workers it keeps: the one definition of
    these settings and their defaults (faces build their own settings from it: the daemon's config
    and the CLI's ``--ray-*`` options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = Field(None, description="e.g. auto or ray://head:10001; empty starts a local Ray")
    actors: int = Field(2, ge=1, le=4096, description="model-holding workers (one model load each)")
    num_cpus: float = Field(1.0, ge=0, description="CPUs each worker reserves")
    num_gpus: float = Field(0.0, ge=0, description="GPUs each worker reserves (1 to run the model on a GPU)")
    timeout_seconds: float = Field(300.0, gt=0, description="a photo running longer is given up")


_actor_class = None
_class_lock = threading.Lock()


def _remote_actor_class():
    """The Ray actor class, declared on first use so that importing the engine never imports Ray."""
    global _actor_class
    with _class_lock:
        if _actor_class is None:
            import ray

            class CompressActor:
                def __init__(self, saliency: str) -> None:
                    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
                    from focuspress.engine.api import Engine

                    self.engine = Engine(saliency=saliency)
                    self.engine.warm_up()

                def device(self) -> str:
                    return self.engine.device

                def pid(self) -> int:
                    return os.getpid()

                def compress(self, items: list[Work]) -> list[Outcome]:
                    return self.engine.run([replace(item, keep_image=False) for item in items])

            _actor_class = ray.remote(CompressActor)
    return _actor_class


class RayExecutor:
    """``actors`` model-holding workers on the cluster at ``address`` (None: start a local Ray)."""

    def __init__(self, saliency: str, options: RayOptions | None = None) -> None:
        import ray

        options = options or RayOptions()
        address, actors = options.address, options.actors
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            _check_reachable(address)
            try:
                ray.init(
                    address=address,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                    namespace="focuspress",
                    runtime_env={"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}},
                )
            except Exception as exc:  # ConnectionError, RuntimeError, ValueError... all mean "no cluster"
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise WorkerLost(f"cannot start or reach {where} ({_first_line(exc)})") from exc
        self._ray = ray
        self.saliency = saliency
        self.timeout_seconds = options.timeout_seconds
        actor_class = _remote_actor_class().options(
            num_cpus=options.num_cpus, num_gpus=options.num_gpus, max_restarts=-1
        )
        self.actors = [actor_class.remote(saliency) for _ in range(actors)]
        self.slots = actors
        self._device: str | None = None
        self._suspect: set[int] = set()  # actors that lost a photo: wait for their restart first
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = self._ray.get(self.actors[0].device.remote())
        return self._device

    def warm_up(self) -> None:
        """Wait until every actor has loaded its model (raises WorkerLost if one cannot start)."""
        try:
            self._ray.get([actor.device.remote() for actor in self.actors])
        except self._ray.exceptions.RayError as exc:
            raise WorkerLost(f"a Ray worker failed to start: {_first_line(exc)}") from exc

    def worker_pids(self) -> list[int]:
        return self._ray.get([actor.pid.remote() for actor in self.actors])

    def run_batch(self, items: list[Work], slot: int = 0) -> list[Outcome]:
        """The photos go to one actor (chosen by ``slot``), which maps them in one model call."""
        index = slot % len(self.actors)
        actor = self.actors[index]
        self._wait_restarted(index)
        return self._get(actor, actor.compress.remote(items), items, index)

    def _wait_restarted(self, index: int) -> None:
        """After a loss, wait for the actor's restart so the next photo is not blamed for it."""
        with self._lock:
            if index not in self._suspect:
                return
        deadline = time.monotonic() + RESTART_TIMEOUT_SECONDS
        while True:
            try:
                self._ray.get(self.actors[index].pid.remote(), timeout=RESTART_TIMEOUT_SECONDS)
                break
            except self._ray.exceptions.RayError as exc:
                if time.monotonic() > deadline:
                    raise WorkerLost(f"Ray worker did not come back ({type(exc).__name__})") from exc
                time.sleep(0.5)
        with self._lock:
            self._suspect.discard(index)

    def _get(self, actor: Any, ref: Any, items: list[Work], index: int) -> list[Outcome]:
        exceptions = self._ray.exceptions
        try:
            return self._ray.get(ref, timeout=self.timeout_seconds)
        except exceptions.GetTimeoutError:
            self._ray.kill(actor, no_restart=False)  # the stuck worker restarts; the photos are given up
            message = f"gave up after {self.timeout_seconds:.0f} s on a worker"
            return [refused(item.name, f"{item.name}: {message}", Reason.TIMEOUT) for item in items]
        except exceptions.RayTaskError as exc:  # a bug inside the engine, reported, not fatal
            return [refused(i.name, f"{i.name}: internal error ({_first_line(exc)})", Reason.INTERNAL) for i in items]
        except exceptions.RayError as exc:  # actor died, node lost, cluster restarted
            with self._lock:
                self._suspect.add(index)
            names = ", ".join(item.name for item in items)
            raise WorkerLost(f"{names}: Ray worker lost ({type(exc).__name__})") from exc

    def map(
        self, paths: Iterable[Path], options: CompressOptions, *, keep_image: bool = False
    ) -> Iterator[tuple[Path, Outcome]]:
        """Outcomes as they complete; at most IN_FLIGHT_PER_WORKER photos per actor (bounded memory)."""
        pending: dict[Any, tuple[Path, int, Work, float]] = {}
        slots = itertools.cycle(range(len(self.actors)))
        window = IN_FLIGHT_PER_WORKER * len(self.actors)
        for path, item, read_ms in read_each(paths, options):
            if isinstance(item, Outcome):
                yield path, item
                continue
            index = next(slots)
            self._wait_restarted(index)
            pending[self.actors[index].compress.remote([item])] = (path, index, item, read_ms)
            while len(pending) >= window:
                yield self._next_done(pending)
        while pending:
            yield self._next_done(pending)

    def _next_done(self, pending: dict[Any, tuple[Path, int, Work, float]]) -> tuple[Path, Outcome]:
        done, _ = self._ray.wait(list(pending), num_returns=1)
        ref = done[0]
        path, index, item, read_ms = pending.pop(ref)
        try:
            return path, with_read_time(self._get(self.actors[index], ref, [item], index)[0], read_ms)
        except WorkerLost:
            # One retry on the restarted worker: a crash of the worker is not the photo's fault
            # unless it happens again.
            try:
                return path, with_read_time(self.run_batch([item], index)[0], read_ms)
            except WorkerLost as exc:
                return path, refused(item.name, str(exc), Reason.WORKER_LOST)

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor, no_restart=True)
        self.actors = []
        if self._owns_ray:  # a local Ray we started goes with us; a cluster we joined stays
            self._ray.shutdown()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else type(exc).__name__


def _check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Fail fast on a ``host:port`` (or ``ray://host:port``) nobody answers on.

    Why: ``ray.init`` keeps retrying an unreachable head for minutes; a one-line refusal in
    seconds is what an operator starting the daemon or the CLI needs.
    """
    if not address or address == "auto":
        return
    target = address.removeprefix("ray://").rsplit("/", 1)[0]
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return
    import socket

    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise WorkerLost(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc})") from exc
