"""Compressed results kept in memory for the page to show, save or download (bounded)."""

from __future__ import annotations

import io
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from PIL import Image


@dataclass
class StoredResult:
    id: str
    name: str  # the upload's file name (as given by the browser; never used as a path unsanitised)
    jpeg: bytes
    original_png: bytes  # the decoded original, as PNG: every browser shows it (TIFF inputs too)
    map_png: bytes  # the importance map as a heat overlay (RGBA: transparent where unimportant)
    stats: dict = field(default_factory=dict)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def heat_overlay(importance: np.ndarray) -> bytes:
    """Importance as a red-to-yellow heat layer whose alpha is the importance (nothing where 0)."""
    value = np.clip(importance, 0.0, 1.0)
    rgba = np.zeros(value.shape + (4,), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = np.round(255 * value).astype(np.uint8)
    rgba[..., 3] = np.round(230 * np.sqrt(value)).astype(np.uint8)
    return png_bytes(rgba)


class ResultStore:
    """The most recent results within ``capacity`` items and ``max_bytes``; older ones are dropped
    (the page then says to compress again), so a long session cannot grow without bound."""

    def __init__(self, capacity: int = 64, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, StoredResult] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _size(result: StoredResult) -> int:
        return len(result.jpeg) + len(result.original_png) + len(result.map_png)

    def add(self, **fields) -> StoredResult:
        result = StoredResult(id=uuid.uuid4().hex, **fields)
        with self._lock:
            self._items[result.id] = result
            self._bytes += self._size(result)
            while len(self._items) > 1 and (len(self._items) > self.capacity or self._bytes > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= self._size(dropped)
        return result

    def get(self, result_id: str) -> StoredResult | None:
        with self._lock:
            return self._items.get(result_id)
