"""The importance map as pictures: ``<stem>.map.png`` (grey) and ``<stem>.overlay.png`` (heat over the photo).

This is the original tool's ``Importance_map.png``: white is where bits are spent.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from focuspress.engine.io.write import atomic_write


def save_map_images(rgb: np.ndarray, importance: np.ndarray, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write the grey map and the heat overlay beside each other, atomically; returns both paths."""
    import cv2

    grey = np.clip(np.round(importance * 255), 0, 255).astype(np.uint8)
    heat = cv2.applyColorMap(grey, cv2.COLORMAP_JET)[..., ::-1]
    overlay = np.clip(0.55 * rgb.astype(np.float32) + 0.45 * heat.astype(np.float32), 0, 255).astype(np.uint8)
    map_path = directory / f"{stem}.map.png"
    overlay_path = directory / f"{stem}.overlay.png"
    for path, array in ((map_path, grey), (overlay_path, overlay)):
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, "PNG")
        atomic_write(path, buffer.getvalue())
    return map_path, overlay_path
