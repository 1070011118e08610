"""What compressing one photo gives back, in one place: the result, its kinds and routes, its log fields.

:class:`CompressResult` is what every face receives from the pipeline; :data:`ResultKind` says
what a photo became (the ``outcome`` label of the daemon's metrics and log line, the CLI's
outcome column) and :data:`ResultRoute` how its pixels were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from focuspress.engine.io import atomic_write
from focuspress.engine.io.load import decode_upright

if TYPE_CHECKING:
    from focuspress.engine.fidelity.contract import Settlement
    from focuspress.engine.fidelity.estimate import Scores

#: What a photo became: the steered encode, a JPEG input's own coefficients made smaller, or its own bytes.
ResultKind = Literal["recompressed", "lossless", "kept"]
RESULT_KINDS: tuple[str, ...] = ("recompressed", "lossless", "kept")
#: How the output's pixels were made: a JPEG's coefficients requantized (``dct``), pixels encoded
#: (``pixel``), or the source's own (``source``: lossless and kept).
ResultRoute = Literal["dct", "pixel", "source"]


@dataclass
class CompressResult:
    """One compressed photo and what it took: ``data`` is the JPEG file.

    ``outcome``: ``recompressed`` (the steered encode), ``lossless`` (a JPEG input's own
    coefficients, re-scanned smaller) or ``kept`` (a JPEG input's own bytes): the last two when
    recompressing would not have saved ``min_saving``. ``route``: ``dct`` (a JPEG's coefficients
    requantized), ``pixel`` (decoded and encoded), or ``source`` (lossless and kept).
    ``importance`` is the map as computed (on a preview for big photos; see :meth:`importance_at`).
    ``timings_ms``: the pipeline's stages (:data:`focuspress.engine.pipeline.STAGES`).
    """

    data: bytes
    importance: np.ndarray
    quality: float
    width: int
    height: int
    input_bytes: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    outcome: ResultKind = "recompressed"
    route: ResultRoute = "pixel"
    #: the fidelity contract's scores of this output against the source (photo and subject; estimated
    #: from tiles on camera-sized photos, exact on small ones): None outside the contract, or when
    #: the output is the source's own coefficients (``lossless``/``kept``: identical pixels)
    scores: Scores | None = None
    #: how the contract settled: "estimated" or "exact" scores, the background multiplier, trials
    contract: Settlement | None = None

    @property
    def bytes(self) -> int:
        return len(self.data)

    @property
    def bpp(self) -> float:
        return 8.0 * len(self.data) / (self.width * self.height)

    @property
    def ratio(self) -> float:
        """Output size over input size (0.25 = four times smaller)."""
        return len(self.data) / self.input_bytes if self.input_bytes else float("nan")

    def decoded(self) -> np.ndarray:
        """The output as any viewer (libjpeg-turbo, via Pillow) shows it: upright."""
        return decode_upright(self.data)

    def importance_at(self, height: int | None = None, width: int | None = None) -> np.ndarray:
        """The importance map resized to the photo (or to ``height`` x ``width``)."""
        return resize_map(self.importance, height or self.height, width or self.width)

    def save(self, path: str | Path) -> Path:
        """Write the JPEG atomically (temp file, fsync, rename); returns the path."""
        path = Path(path)
        atomic_write(path, self.data)
        return path


def resize_map(importance: np.ndarray, height: int, width: int) -> np.ndarray:
    """A map brought to ``height`` x ``width`` (bilinear, clipped to [0, 1])."""
    if importance.shape == (height, width):
        return importance
    import cv2

    resized = cv2.resize(importance.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(resized, 0.0, 1.0)


def score_fields(result: CompressResult) -> dict[str, object]:
    """The achieved scores as log and /status.json fields (absent outside the contract)."""
    if result.scores is None:
        return {}
    fields: dict[str, object] = {"photo_ssimulacra2": round(result.scores.photo, 1)}
    if result.scores.subject is not None:
        fields["subject_ssimulacra2"] = round(result.scores.subject, 1)
    if result.contract is not None:
        fields["scores"] = "exact" if result.contract.exact else "estimated"
    return fields
