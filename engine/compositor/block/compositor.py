"""The ``block`` compositor as the registry sees it: options in, a re-encodable image out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from focuspress.engine.compositor.block.encoder import BlockSettings, PreparedImage, encode_prepared, prepare


@dataclass(frozen=True)
class PreparedBlock:
    prepared: PreparedImage
    settings: BlockSettings

    def encode(self, quality: float) -> bytes:
        return encode_prepared(self.prepared, quality, self.settings)


class BlockCompositor:
    name = "block"
    continuous = True

    def prepare(self, image, importance: np.ndarray, options, settings: BlockSettings) -> PreparedBlock:
        settings = replace(settings, subsampling=options.subsampling, progressive=options.progressive)
        prepared = prepare(image.rgb, importance, options.roi_strength, settings, image.icc_profile)
        return PreparedBlock(prepared, settings)


BLOCK = BlockCompositor()
