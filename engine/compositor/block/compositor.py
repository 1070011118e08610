"""The ``block`` compositor as the registry sees it: options in, a re-encodable image out.

It owns the block encoder's settings (the tuned defaults of :class:`BlockSettings`). The route
comes from the JPEG-input policy (:mod:`focuspress.engine.jpeg_input`): a JPEG input is
requantized in its own coefficients (``transcode.py``) wherever its pixels need not change;
anything else goes through the pixel encoder (``encoder.py``), which still keeps a JPEG
source's steps as a floor where its grid is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from focuspress.engine.compositor import Encoded, Route
from focuspress.engine.compositor.block.encoder import (
    BlockSettings,
    PreparedImage,
    encode_prepared,
    prepare,
    prepared_tables,
    quantize_plane,
)
from focuspress.engine.compositor.block.probe import Tile, code_windows, cut_tiles, decode_mosaics, margin_for
from focuspress.engine.compositor.block.sampling import choose_sampling
from focuspress.engine.compositor.block.transcode import (
    CoefficientsUnreadable,
    PreparedTranscode,
    is_software_resave,
    prepare_transcode,
    resave_settings,
    transcode_settings,
)
from focuspress.engine.errors import InputError, Reason
from focuspress.engine.io.load import LoadedImage
from focuspress.engine.jpeg_input import keeps_stored_orientation, pixel_route_reason, to_stored_orientation
from focuspress.engine.options import CompressOptions


@dataclass(frozen=True)
class PreparedBlock:
    prepared: PreparedImage
    settings: BlockSettings
    #: the pixels encoded (the probe's reference), in the encoder's orientation
    rgb: np.ndarray

    @property
    def route(self) -> Route:
        return "pixel"

    @property
    def tiles(self) -> PreparedBlock:
        return self

    @property
    def alternative(self) -> None:
        return None

    def encode(self, quality: float, background: float = 1.0) -> Encoded:
        """At ``quality``; ``background`` > 1 multiplies lambda where importance is low."""
        return Encoded(encode_prepared(self.prepared, quality, self.settings, background))

    @property
    def grid(self) -> tuple[int, int]:
        return self.prepared.height // 8, self.prepared.width // 8

    def probe(self, quality: float, background: float, tiles: list[Tile]) -> list[np.ndarray]:
        """The tiles as the encode at (``quality``, ``background``) would show them (see ``probe.py``)."""
        prepared = self.prepared
        tables = prepared_tables(prepared, quality, self.settings)
        margin = margin_for(prepared.factors)
        windows = [tile.window(self.grid, margin)[0] for tile in tiles]
        planes = [
            [quantize_plane(prepared, index, tables, self.settings, background, window) for window in windows]
            for index in range(len(prepared.coefficients))
        ]
        coded = code_windows(planes, tables[0], prepared.factors, tiles, self.grid, margin)
        return decode_mosaics(coded, tiles, self.grid, margin)

    def reference(self, tiles: list[Tile]) -> list[np.ndarray]:
        """The same tiles of the pixels encoded."""
        return cut_tiles(self.rgb, tiles)

    def show(self, quality: float, background: float) -> np.ndarray:
        """The whole photo as the encode at (``quality``, ``background``) shows it (the file decoded)."""
        from focuspress.engine.compositor.block.probe import decode_rgb

        return decode_rgb(self.encode(quality, background).data)


def reference_quality(options: CompressOptions) -> float:
    """The quality a per-photo choice is judged at: the fixed one, else where the contract settles."""
    return options.quality if options.quality is not None else 92.5


def resolve_subsampling(image: LoadedImage, asked: str) -> str:
    """``auto`` on the pixel route: a JPEG source sampled 4:2:0 or coarser stays 4:2:0; anything
    else is encoded 4:4:4 (the tuned default for lossless sources)."""
    if asked != "auto":
        return asked
    return "420" if image.jpeg is not None and image.jpeg.subsampling in ("420", "422") else "444"


def source_floor(image: LoadedImage, subsampling: str) -> np.ndarray | None:
    """A JPEG source's steps as the new tables' floor, where the 8x8 grid is the source's own
    (the pixels are encoded as stored): luma always, chroma too when its subsampling is kept."""
    info = image.jpeg
    if info is None or not info.is_ycbcr:
        return None
    tables = info.tables.astype(np.float64)
    floor = np.ones((3, 8, 8))
    floor[0] = tables[0]
    if len(tables) == 3 and info.subsampling == subsampling:
        floor[1:] = tables[1:]
    return floor


@dataclass(frozen=True)
class BlockCompositor:
    """The block encoder with its three tunings: ``settings`` for lossless sources (fitted on the
    training pool), ``transcode`` for JPEG sources (fitted on camera files), ``resave`` for
    software re-saves (libjpeg's q <= 92 4:2:0; see ``transcode.py``)."""

    name: str = "block"
    continuous: bool = True
    settings: BlockSettings = field(default_factory=BlockSettings)
    transcode: BlockSettings = field(default_factory=lambda: transcode_settings(BlockSettings()))
    resave: BlockSettings = field(default_factory=lambda: resave_settings(BlockSettings()))

    def prepare(
        self, image: LoadedImage, importance: np.ndarray, options: CompressOptions
    ) -> PreparedTranscode | PreparedBlock:
        settings = replace(self.settings, progressive=options.progressive)
        tuned = self.resave if is_software_resave(image.jpeg) else self.transcode
        jpeg_settings = replace(tuned, progressive=options.progressive)
        if pixel_route_reason(image, options) is None:
            try:
                prepared = prepare_transcode(
                    image,
                    importance,
                    options.roi_for(jpeg_source=True),
                    jpeg_settings,
                    to_420=options.subsampling in ("auto", "420"),
                )
                if options.subsampling == "auto" and options.mode != "contract":
                    # (the contract makes this choice itself, on its estimator's tiles: see
                    # focuspress.engine.fidelity.contract.meet_contract)
                    prepared = choose_sampling(prepared, reference_quality(options))
                return prepared
            except CoefficientsUnreadable as exc:
                if options.route == "dct":
                    raise InputError(
                        f"its DCT coefficients cannot be read ({exc}); --route auto takes the pixel route",
                        reason=Reason.UNDECODABLE,
                    ) from None
        # (a damaged JPEG whose coefficients libjpeg refuses still has pixels: they take this route)
        subsampling = resolve_subsampling(image, "auto" if options.subsampling == "keep" else options.subsampling)
        if image.jpeg is not None and subsampling == "420":
            settings = jpeg_settings  # re-encoding a JPEG source: the tuning fitted on such sources
        settings = replace(settings, subsampling=subsampling)
        rgb = image.rgb
        if keeps_stored_orientation(image) and image.orientation != 1:
            rgb = to_stored_orientation(rgb, image.orientation)
            importance = to_stored_orientation(importance, image.orientation)
        encoder = prepare(
            rgb,
            importance,
            options.roi_for(image.jpeg is not None),
            settings,
            table_floor=source_floor(image, subsampling),
        )
        return PreparedBlock(encoder, settings, rgb)


BLOCK = BlockCompositor()
