"""focuspress engine: importance-steered JPEG compression.

>>> from engine import Engine, CompressOptions, load_image
>>> result = Engine().compress(load_image("photo.png"), CompressOptions(quality=75))
"""

from focuspress.engine.api import COMPOSITORS, CompressOptions, CompressResult, Engine, save_map_images, write_result
from focuspress.engine.errors import FocuspressError, InputError, OptionsError, OutputError
from focuspress.engine.io import load_image

__all__ = [
    "COMPOSITORS",
    "CompressOptions",
    "CompressResult",
    "Engine",
    "FocuspressError",
    "InputError",
    "OptionsError",
    "OutputError",
    "load_image",
    "save_map_images",
    "write_result",
]
