"""Mutation fuzzing of the engine's decode-and-compress path (``focuspress bench fuzz``)."""

from focuspress.bench.fuzz.cases import VERDICTS, make_case, run_case, seed_images
from focuspress.bench.fuzz.mutate import mutate

__all__ = ["VERDICTS", "make_case", "mutate", "run_case", "seed_images"]
