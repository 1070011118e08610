"""Where the per-photo work runs: in worker processes on this machine (``processes``: the daemon's
default, one model per process), in this process (``local``: one model shared by threads, the
choice on a GPU), on a Ray cluster (``ray``), or one photo per child process (``isolated.py``: the
daemon's suspects after an unclean stop).

All carry :class:`~focuspress.engine.pipeline.Work` (a photo's bytes, its name, the options) to
an engine and bring back an :class:`~focuspress.engine.pipeline.Outcome` (the result, or the
refusal with its reason code) behind one interface (:class:`Executor`), each keeping only what its
caller asked for (the decoded photo only where a work says ``keep_image``), so the caller (the CLI
or the daemon) keeps reading inputs, writing outputs and its journal on its own machine: a lost
remote worker loses no file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspress.engine.executors.base import IN_FLIGHT_PER_WORKER, Executor, WorkerLost, read_input

if TYPE_CHECKING:
    from focuspress.engine.executors.ray_cluster import RayOptions

EXECUTORS = ("local", "processes", "ray")

__all__ = ["EXECUTORS", "IN_FLIGHT_PER_WORKER", "Executor", "WorkerLost", "make_executor", "read_input"]


def make_executor(kind: str, saliency: str, ray: RayOptions | None = None, *, workers: int | None = None) -> Executor:
    """``local``, ``processes`` (``workers`` of them; default: one per core) or ``ray`` (``ray``: where
    and how many workers; the defaults of :class:`RayOptions`)."""
    if kind == "local":
        from focuspress.engine.executors.local import LocalExecutor

        return LocalExecutor(saliency)
    if kind == "processes":
        from focuspress.engine.executors.processes import ProcessesExecutor

        return ProcessesExecutor(saliency, workers)
    if kind == "ray":
        from focuspress.engine.executors.ray_cluster import RayExecutor, RayOptions

        return RayExecutor(saliency, ray or RayOptions())
    raise ValueError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
