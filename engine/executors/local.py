"""In-process execution: the model is loaded once here and photos run one after another."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from focuspress.engine.api import CompressOptions, Engine
from focuspress.engine.executors.base import Outcome, compress_bytes, read_input


class LocalExecutor:
    slots = 1

    def __init__(self, saliency: str, engine: Engine | None = None) -> None:
        self.engine = engine or Engine(saliency=saliency)

    @property
    def device(self) -> str:
        return self.engine.device

    def warm_up(self) -> None:
        self.engine.warm_up()

    def run(self, data: bytes, name: str, options: CompressOptions, slot: int = 0) -> Outcome:
        return compress_bytes(self.engine, data, name, options, keep_image=True)

    def map(self, paths: Iterable[Path], options: CompressOptions) -> Iterator[tuple[Path, Outcome]]:
        for path in paths:
            data = read_input(path)
            if isinstance(data, str):
                yield path, Outcome(name=str(path), error=data)
            else:
                yield path, self.run(data, str(path), options)

    def close(self) -> None:
        pass
