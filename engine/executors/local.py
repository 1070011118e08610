"""In-process execution: the model is loaded once here and shared by the caller's threads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from focuspress.engine.api import Engine
from focuspress.engine.executors.base import Outcome, Work, compress_batch, read_input
from focuspress.engine.io.names import display_name
from focuspress.engine.options import CompressOptions


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
        return compress_batch(self.engine, items, keep_image=True)

    def map(self, paths: Iterable[Path], options: CompressOptions) -> Iterator[tuple[Path, Outcome]]:
        for path in paths:
            data = read_input(path)
            if isinstance(data, str):
                yield path, Outcome(name=display_name(path), error=data)
            else:
                yield path, self.run_batch([Work(data, display_name(path), options)])[0]

    def close(self) -> None:
        pass
