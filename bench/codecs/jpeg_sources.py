"""Anchors for JPEG inputs: what a user would do with a camera's JPEG instead of focuspress.

* ``mozjpeg-recompress``: jpeg-recompress's method (mozjpeg at the lowest quality whose output
  keeps a perceptual score above a target); here the score is SSIMULACRA2 against the decoded
  source and the knob is the target.
* ``mozjpeg-lossless``: mozjpeg's lossless re-scan of the source (jpegtran): smaller, identical.
* ``jxl-jpeg``: JPEG XL's lossless JPEG transcode (imagecodecs/libjxl): the archive-format
  yardstick, not a JPEG; the original JPEG can be rebuilt bit for bit.

The two lossless ones are size-only: one row each, at the source's quality.
"""

from __future__ import annotations

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec
from focuspress.bench.codecs.mozjpeg import MozJpeg


class MozjpegRecompress(Codec):
    name = "mozjpeg-recompress"
    knobs = (50, 55, 60, 65, 70, 75, 80, 85, 90, 95)
    description = "mozjpeg at the lowest quality keeping SSIMULACRA2 >= target (jpeg-recompress style)"

    def encode(self, rgb, knob, state):
        from focuspress.engine.metrics import ssimulacra2

        encoder = MozJpeg()
        lo, hi, best = 5, 100, None
        while lo <= hi:  # the lowest quality that reaches the target; quality 100 if none does
            mid = (lo + hi) // 2
            data = encoder.encode(rgb, mid, None)
            if ssimulacra2(rgb, self.decode(data)) >= knob:
                best, hi = data, mid - 1
            else:
                lo = mid + 1
        return best if best is not None else encoder.encode(rgb, 100, None)


class _SourceTranscode(Codec):
    """A lossless transcode of the JPEG source: size only, one row at the source's quality."""

    knobs = (100,)
    size_only = True

    def prepare(self, rgb, context):
        return context.source


class MozjpegLossless(_SourceTranscode):
    name = "mozjpeg-lossless"
    description = "mozjpeg lossless re-scan of the source (jpegtran -optimize -progressive)"

    def encode(self, rgb, knob, state):
        import mozjpeg_lossless_optimization as mozjpeg

        return mozjpeg.optimize(state, copy=mozjpeg.COPY_MARKERS.ALL)


class JxlJpeg(_SourceTranscode):
    name = "jxl-jpeg"
    description = "JPEG XL lossless JPEG transcode (libjxl via imagecodecs): not a JPEG"

    def encode(self, rgb, knob, state):
        import imagecodecs

        return imagecodecs.jpegxl_encode_jpeg(state)

    def decode(self, data):
        import imagecodecs

        # numthreads spelled out: imagecodecs' stub marks it required; one thread, as the bench times codecs
        return super().decode(bytes(imagecodecs.jpegxl_decode_jpeg(data, numthreads=1)))


register(MozjpegRecompress())
register(MozjpegLossless())
register(JxlJpeg())
