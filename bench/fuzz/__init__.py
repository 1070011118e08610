"""Mutation fuzzing of the engine's decode-and-compress path (``focuspress bench fuzz``)."""

from focuspress.bench.fuzz.cases import OUTCOMES, make_case, run_case, seed_images
from focuspress.bench.fuzz.mutate import mutate

__all__ = ["OUTCOMES", "make_case", "mutate", "run_case", "seed_images"]
