"""The ``block`` compositor as the registry sees it: options in, a re-encodable image out.

It picks the route: a JPEG input is requantized in its own coefficients (``transcode.py``)
unless its pixels must change (CMYK, another subsampling asked for, an orientation that
must be applied); anything else goes through the pixel encoder (``encoder.py``), which still
keeps a JPEG source's steps as a floor where its grid is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from focuspress.engine.compositor.block.encoder import BlockSettings, PreparedImage, encode_prepared, prepare
from focuspress.engine.compositor.block.transcode import (
    CoefficientsUnreadable,
    prepare_transcode,
    transcode_settings,
    why_not_transcode,
)
from focuspress.engine.errors import InputError


@dataclass(frozen=True)
class PreparedBlock:
    prepared: PreparedImage
    settings: BlockSettings
    route: str = "pixel"

    def encode(self, quality: float) -> bytes:
        return encode_prepared(self.prepared, quality, self.settings)


def resolve_subsampling(image, asked: str) -> str:
    """``auto``: a 4:2:0 JPEG stays 4:2:0; everything else is encoded 4:4:4 (the tuned default)."""
    if asked != "auto":
        return asked
    return "420" if image.jpeg is not None and image.jpeg.subsampling == "420" else "444"


def source_floor(image, subsampling: str) -> np.ndarray | None:
    """A JPEG source's steps as the new tables' floor, where the 8x8 grid is the source's own:
    luma when the photo is stored upright, chroma too when its subsampling is kept."""
    info = image.jpeg
    if info is None or not info.is_ycbcr or image.orientation != 1:
        return None
    tables = info.tables.astype(np.float64)
    floor = np.ones((3, 8, 8))
    floor[0] = tables[0]
    if len(tables) == 3 and info.subsampling == subsampling:
        floor[1:] = tables[1:]
    return floor


class BlockCompositor:
    name = "block"
    continuous = True

    def prepare(self, image, importance: np.ndarray, options, settings: BlockSettings):
        settings = replace(settings, progressive=options.progressive)
        if why_not_transcode(image, options) is None:
            try:
                return prepare_transcode(image, importance, options.roi_strength, transcode_settings(settings))
            except CoefficientsUnreadable as exc:
                if options.route == "dct":
                    raise InputError(
                        f"its DCT coefficients cannot be read ({exc}); --route auto takes the pixel route"
                    ) from None
        # (a damaged JPEG whose coefficients libjpeg refuses still has pixels: they take this route)
        subsampling = resolve_subsampling(image, options.subsampling)
        if image.jpeg is not None and subsampling == "420":
            # re-encoding a 4:2:0 JPEG source: the tuning fitted on such sources (transcode.py)
            settings = transcode_settings(settings)
        settings = replace(settings, subsampling=subsampling)
        floor = source_floor(image, subsampling)
        prepared = prepare(image.rgb, importance, options.roi_strength, settings, table_floor=floor)
        return PreparedBlock(prepared, settings)


BLOCK = BlockCompositor()
