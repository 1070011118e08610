"""Mutation fuzzing of the engine's decode-and-compress path (``focuspress bench fuzz``)."""

from bench.fuzz.cases import OUTCOMES, make_case, run_case, seed_images
from bench.fuzz.mutate import mutate

__all__ = ["OUTCOMES", "make_case", "mutate", "run_case", "seed_images"]
