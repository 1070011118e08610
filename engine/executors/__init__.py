"""Where the per-photo work runs: in this process (``local``) or on a Ray cluster (``ray``).

Both take a photo's *bytes* and give back an :class:`Outcome` (the result, or the one-line
reason the photo cannot be used), so the caller (the CLI or the daemon) keeps reading inputs,
writing outputs and its journal on its own machine: a lost remote worker loses no file.
Names load on first use (``EXECUTORS`` does not import the engine).
"""

from __future__ import annotations

import importlib
from typing import Any

EXECUTORS = ("local", "ray")

_EXPORTS = {
    "IN_FLIGHT_PER_WORKER": "focuspress.engine.executors.base",
    "Executor": "focuspress.engine.executors.base",
    "Outcome": "focuspress.engine.executors.base",
    "Work": "focuspress.engine.executors.base",
    "WorkerLost": "focuspress.engine.executors.base",
    "compress_batch": "focuspress.engine.executors.base",
    "LocalExecutor": "focuspress.engine.executors.local",
}
__all__ = ["EXECUTORS", "make_executor", *_EXPORTS]


def make_executor(kind: str, saliency: str, **ray_options: Any):
    """``local`` or ``ray`` (``ray_options``: address, actors, num_cpus, num_gpus; unused by ``local``)."""
    if kind == "local":
        from focuspress.engine.executors.local import LocalExecutor

        return LocalExecutor(saliency)
    if kind == "ray":
        from focuspress.engine.executors.ray_cluster import RayExecutor

        return RayExecutor(saliency, **ray_options)
    raise ValueError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'focuspress.engine.executors' has no attribute {name!r}")
