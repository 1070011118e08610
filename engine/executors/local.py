"""In-process execution: the model is loaded once here and shared by the caller's threads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from focuspress.engine.api import Engine
from focuspress.engine.executors.base import read_each, with_read_time
from focuspress.engine.options import CompressOptions
from focuspress.engine.pipeline import Outcome, Work


class LocalExecutor:
    slots = 1

    def __init__(self, saliency: str, engine: Engine | None = None) -> None:
        self.engine = engine or Engine(saliency=saliency)

    @property
    def device(self) -> str:
        return self.engine.device

    def warm_up(self) -> None:
        self.engine.warm_up()

    def run_batch(self, items: list[Work], slot: int = 0) -> list[Outcome]:
        return self.engine.run(items)

    def map(
        self, paths: Iterable[Path], options: CompressOptions, *, keep_image: bool = False
    ) -> Iterator[tuple[Path, Outcome]]:
        for path, work, read_ms in read_each(paths, options):
            if isinstance(work, Outcome):
                yield path, work
            else:
                yield path, with_read_time(self.run_batch([replace(work, keep_image=keep_image)])[0], read_ms)

    def close(self) -> None:
        pass
