"""Where the per-photo work runs: in this process (``local``) or on a Ray cluster (``ray``).

Both take a photo's *bytes* and give back an :class:`Outcome` (the result, or the one-line
reason the photo cannot be used), so the caller (the CLI or the daemon) keeps reading inputs,
writing outputs and its journal on its own machine: a lost remote worker loses no file.
"""

from __future__ import annotations

from focuspress.engine.executors.base import Executor, Outcome, WorkerLost, compress_bytes
from focuspress.engine.executors.local import LocalExecutor

EXECUTORS = ("local", "ray")


def make_executor(kind: str, saliency: str, **ray_options) -> Executor:
    """``local`` or ``ray`` (``ray_options``: address, actors, num_cpus, num_gpus; unused by ``local``)."""
    if kind == "local":
        return LocalExecutor(saliency)
    if kind == "ray":
        from focuspress.engine.executors.ray_cluster import RayExecutor

        return RayExecutor(saliency, **ray_options)
    raise ValueError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "Outcome", "WorkerLost", "compress_bytes", "make_executor"]
