"""The rate-control modes other than the contract: a fixed quality, a size, a whole-photo score.

Each is an entry of the registry in ``__init__.py`` (the contract's is
:func:`focuspress.engine.fidelity.contract.meet_contract`): the photo prepared once by its
compositor, then encoded as the mode asks.
"""

from __future__ import annotations

import numpy as np

from focuspress.engine.compositor import get_compositor
from focuspress.engine.io.load import LoadedImage, decode_upright
from focuspress.engine.options import CompressOptions
from focuspress.engine.ratecontrol import Encoding, encode_quality, search_target_score, search_target_size


def fixed_quality(image: LoadedImage, importance: np.ndarray, options: CompressOptions) -> Encoding:
    """``-q``: one encode at the quality asked for."""
    prepared = get_compositor(options.compositor).prepare(image, importance, options)
    assert options.quality is not None
    return encode_quality(prepared.encode, options.quality), prepared, None


def target_size(image: LoadedImage, importance: np.ndarray, options: CompressOptions) -> Encoding:
    """``--target-size``: the highest quality whose file fits."""
    compositor = get_compositor(options.compositor)
    prepared = compositor.prepare(image, importance, options)
    assert options.target_size is not None
    return search_target_size(prepared.encode, options.target_size, continuous=compositor.continuous), prepared, None


def target_score(image: LoadedImage, importance: np.ndarray, options: CompressOptions) -> Encoding:
    """``--target-ssimulacra2``: the lowest quality whose whole photo scores the target, measured on
    the file as a viewer shows it (decoded, turned by its orientation)."""
    from focuspress.engine.io.metadata import with_metadata
    from focuspress.engine.jpeg_input import output_metadata
    from focuspress.engine.metrics import ssimulacra2

    compositor = get_compositor(options.compositor)
    prepared = compositor.prepare(image, importance, options)
    assert options.target_ssimulacra2 is not None

    def score(data: bytes) -> float:
        return ssimulacra2(image.rgb, decode_upright(with_metadata(data, output_metadata(image, options))))

    rate = search_target_score(prepared.encode, score, options.target_ssimulacra2, continuous=compositor.continuous)
    return rate, prepared, None
